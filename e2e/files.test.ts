/**
 * Files in the browser: Alice drops and pastes files (chips appear), then attaches an image
 * and a PDF to a direct message (with the picker), sees their chips, and sees a disallowed and an oversized file refused with a
 * message before anything is sent; Bob sees the image inline (decrypted in his browser) and
 * downloads the PDF with its exact bytes. The server holds only ciphertext. Screenshots of
 * the composer with chips and of the image preview, on a desktop and at 360 px, are kept
 * under test-results/.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSuite, chromiumPath, register, uniqueName } from './support/browser.js';
import { conversation, log, rooms } from './support/chat.js';

const chips = (page: Page) => conversation(page).getByRole('list', { name: 'Files to send' });
const chip = (page: Page, name: string) =>
  chips(page).getByRole('listitem').filter({ hasText: name });

/** A real PNG: a `width`×`height` RGB gradient. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3);
    for (let x = 0; x < width; x++) {
      rows.set(
        [37 + (x * 180) / width, 99 + (y * 120) / height, 235 - (x * 100) / width],
        row + 1 + x * 3,
      );
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync('test-results', { recursive: true });
  await page.waitForTimeout(400);
  await page.screenshot({ path: `test-results/files-${name}.png` });
}

describe.skipIf(!chromiumPath())('files in the browser', () => {
  const suite = browserSuite({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });

  it('sends an image and a PDF encrypted; the other side previews one and downloads the other', async () => {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const a = await suite.open();
    const b = await suite.open();
    // The previews are object URLs under the page's strict CSP: nothing may be blocked.
    const blocked: string[] = [];
    for (const { page } of [a, b])
      page.on('console', (message) => {
        if (message.text().includes('Content Security Policy')) blocked.push(message.text());
      });
    await Promise.all([
      register(a.page, suite.server.origin, alice),
      register(b.page, suite.server.origin, bob),
    ]);
    await conversation(a.page).getByRole('heading', { name: 'general' }).waitFor();
    await conversation(b.page).getByRole('heading', { name: 'general' }).waitFor();

    // A direct message between them (end-to-end encrypted).
    await rooms(a.page).getByRole('button', { name: 'New direct message' }).click();
    const dialog = a.page.getByRole('dialog', { name: 'New direct message' });
    await dialog.getByRole('textbox', { name: 'Username' }).fill(bob.slice(0, 5));
    await dialog.getByRole('button', { name: bob, exact: true }).click();
    await conversation(a.page).getByRole('heading', { name: bob }).waitFor();
    await rooms(b.page).getByRole('link', { name: alice, exact: true }).click();
    await conversation(b.page).getByRole('heading', { name: alice }).waitFor();

    const marker = `zq${randomBytes(9).toString('hex')}`;
    const image = png(240, 150);
    const pdf = Buffer.from(`%PDF-1.4\n% ${marker}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n`);
    // Dropped on the conversation, or pasted into the message box: a chip each.
    const dropped = await a.page.evaluateHandle(() => {
      const data = new DataTransfer();
      data.items.add(new File(['meeting notes\n'], 'notes.txt', { type: 'text/plain' }));
      return data;
    });
    await conversation(a.page).locator('.conversation').dispatchEvent('dragover', {
      dataTransfer: dropped,
    });
    await conversation(a.page).getByText('Drop files here to attach them').waitFor();
    await conversation(a.page).locator('.conversation').dispatchEvent('drop', {
      dataTransfer: dropped,
    });
    await chip(a.page, 'notes.txt').waitFor();
    await conversation(a.page)
      .getByRole('textbox', { name: 'Message' })
      .evaluate((box) => {
        const data = new DataTransfer();
        data.items.add(new File(['GIF89a'], 'pasted.gif', { type: 'image/gif' }));
        box.dispatchEvent(
          new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
        );
      });
    await chip(a.page, 'pasted.gif').waitFor();
    await conversation(a.page).getByRole('button', { name: 'Remove notes.txt' }).click();
    await conversation(a.page).getByRole('button', { name: 'Remove pasted.gif' }).click();
    await expect.poll(() => chips(a.page).count()).toBe(0);

    const picker = conversation(a.page).getByTestId('file-picker');
    await picker.setInputFiles([
      { name: 'sunset.png', mimeType: 'image/png', buffer: image },
      { name: 'plan.pdf', mimeType: 'application/pdf', buffer: pdf },
      { name: 'setup.exe', mimeType: 'application/octet-stream', buffer: randomBytes(2000) },
      { name: 'huge.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(6 * 1024 * 1024, 1) },
    ]);
    // Each chip has its name and size; the disallowed and the oversized say why.
    await chip(a.page, 'sunset.png')
      .filter({ hasText: /KB|bytes/ })
      .waitFor();
    await chip(a.page, 'plan.pdf').waitFor();
    await chip(a.page, 'setup.exe')
      .getByRole('alert')
      .filter({
        hasText:
          'setup.exe cannot be sent: files of type .exe are not allowed here. Allowed: png, jpg, jpeg, gif, pdf, txt, doc, docx, zip.',
      })
      .waitFor();
    await chip(a.page, 'huge.pdf')
      .getByRole('alert')
      .filter({ hasText: 'huge.pdf is too large to send: files may be at most 5 MB.' })
      .waitFor();
    await conversation(a.page)
      .getByRole('textbox', { name: 'Message' })
      .fill('The plan, and the view');
    await shot(a.page, 'composer-chips-desktop');
    await a.page.setViewportSize({ width: 360, height: 740 });
    await shot(a.page, 'composer-chips-360');
    await a.page.setViewportSize({ width: 1280, height: 800 });

    // Refused files are removed before sending (with the keyboard, for one of them).
    await conversation(a.page).getByRole('button', { name: 'Remove setup.exe' }).click();
    await conversation(a.page).getByRole('button', { name: 'Remove huge.pdf' }).focus();
    await a.page.keyboard.press('Enter');
    await expect.poll(() => chips(a.page).getByRole('listitem').count()).toBe(2);
    // Hold the uploads back a moment, to see the chips' progress while they are sent.
    const pattern = '**/api/rooms/*/files?type=*';
    await a.page.route(pattern, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await route.continue();
    });
    await conversation(a.page).getByRole('button', { name: 'Send' }).click();
    await chip(a.page, 'sunset.png')
      .getByRole('progressbar', { name: 'sunset.png: encrypted upload' })
      .waitFor();
    await shot(a.page, 'composer-progress-desktop');
    await expect.poll(() => chips(a.page).count(), { timeout: 30_000 }).toBe(0);
    await a.page.unroute(pattern);

    // Bob sees the image, decrypted in his browser, and the PDF's row.
    const preview = log(b.page).getByRole('img', { name: 'Image sunset.png' });
    await preview.waitFor({ timeout: 30_000 });
    await expect
      .poll(() => preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
      .toBe(240);
    expect(await preview.getAttribute('src')).toMatch(/^blob:/);
    await log(b.page).getByText('The plan, and the view').waitFor();
    const download = log(b.page).getByRole('button', { name: 'Download plan.pdf' });
    await download.waitFor();
    await shot(b.page, 'preview-desktop');
    await b.page.setViewportSize({ width: 360, height: 740 });
    await preview.scrollIntoViewIfNeeded();
    await shot(b.page, 'preview-360');
    await b.page.setViewportSize({ width: 1280, height: 800 });

    expect(blocked).toEqual([]);

    const [saved] = await Promise.all([b.page.waitForEvent('download'), download.click()]);
    expect(saved.suggestedFilename()).toBe('plan.pdf');
    const path = await saved.path();
    expect(Buffer.compare(readFileSync(path), pdf)).toBe(0);

    // The server has two objects, neither readable: only ciphertext.
    const folder = join(suite.server.dataDir, 'files');
    const objects = readdirSync(folder);
    expect(objects).toHaveLength(2);
    for (const name of objects) {
      const bytes = readFileSync(join(folder, name));
      expect(bytes.includes(marker)).toBe(false);
      expect(bytes.includes(Buffer.from('IHDR'))).toBe(false);
    }
  }, 120_000);
});
