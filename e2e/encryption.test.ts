/**
 * End-to-end encryption as people see it: two people in two browsers chat in #general and a
 * direct message, the header says "End-to-end encrypted", and nothing they wrote is anywhere
 * on the server — not in its database (nor its write-ahead log), not in its uploads, not in
 * its log. What they see survives a reload. They compare safety numbers and mark each other
 * verified; when the server hands out another key for Bob, Alice's conversation with him
 * warns her in plain words. Screenshots of each step are kept under test-results/.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { browserSuite, chromiumPath, register, uniqueName } from './support/browser.js';
import { conversation, encrypted, rooms, sees, send } from './support/chat.js';

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync('test-results', { recursive: true });
  // Past the sidebar's slide when the width just changed.
  await page.waitForTimeout(400);
  await page.screenshot({ path: `test-results/encryption-${name}.png` });
}

describe.skipIf(!chromiumPath())('end-to-end encryption in the browser', () => {
  const suite = browserSuite({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
  const consoleErrors: string[] = [];
  afterEach(({ task }) => {
    if (task.result?.state === 'fail' && consoleErrors.length > 0)
      console.error(`Browser console errors:\n${consoleErrors.join('\n')}`);
  });

  it('keeps every message off the server, survives a reload, and warns when a key changes', async () => {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const a = await suite.open();
    const b = await suite.open();
    for (const [who, { page }] of [
      ['alice', a],
      ['bob', b],
    ] as const)
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(`${who}: ${message.text()}`);
      });
    const marker = () => `zq${randomBytes(9).toString('hex')}`;
    const said = { general: [marker(), marker()], direct: [marker(), marker()] };

    await Promise.all([
      register(a.page, suite.server.origin, alice),
      register(b.page, suite.server.origin, bob),
    ]);
    for (const { page } of [a, b]) {
      await conversation(page).getByRole('heading', { name: 'general' }).waitFor();
      await encrypted(page);
    }

    // #general, both ways.
    await send(a.page, `from alice ${said.general[0]}`);
    await sees(b.page, said.general[0] ?? '');
    await send(b.page, `from bob ${said.general[1]}`);
    await sees(a.page, said.general[1] ?? '');
    await shot(a.page, 'general-desktop');

    // A direct message, both ways.
    await rooms(a.page).getByRole('button', { name: 'New direct message' }).click();
    const picker = a.page.getByRole('dialog', { name: 'New direct message' });
    await picker.getByRole('textbox', { name: 'Username' }).fill(bob.slice(0, 5));
    await picker.getByRole('button', { name: bob, exact: true }).click();
    await conversation(a.page).getByRole('heading', { name: bob }).waitFor();
    await send(a.page, `just us ${said.direct[0]}`);
    await rooms(b.page).getByRole('link', { name: alice, exact: true }).click();
    await conversation(b.page).getByRole('heading', { name: alice }).waitFor();
    await sees(b.page, said.direct[0] ?? '');
    await send(b.page, `agreed ${said.direct[1]}`);
    await sees(a.page, said.direct[1] ?? '');
    await encrypted(a.page);
    await encrypted(b.page);
    await b.page.setViewportSize({ width: 390, height: 780 });
    await shot(b.page, 'direct-phone');

    // Nothing either of them wrote is on the server: not in its data folder, not in its log.
    const everything = [...said.general, ...said.direct];
    const files = filesUnder(suite.server.dataDir);
    expect(files.some((file) => file.endsWith('securechat.db'))).toBe(true);
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const text of everything) expect(bytes.includes(text), `${text} in ${file}`).toBe(false);
    }
    const serverLog = `${suite.server.stdout.join('\n')}\n${suite.server.stderr()}`;
    for (const text of everything) expect(serverLog).not.toContain(text);

    // The safety number: the same 12 groups of 5 digits on both sides, and a QR code.
    const numberOf = async (page: Page, name: string) => {
      await conversation(page)
        .getByRole('button', { name: `Safety number with ${name}` })
        .click();
      const dialog = page.getByRole('dialog', { name: `Safety number with ${name}` });
      const digits = dialog.getByRole('group', { name: 'Safety number' });
      await digits.waitFor();
      await dialog.getByRole('img', { name: /QR code of your safety number/ }).waitFor();
      return { dialog, groups: (await digits.locator('span').allTextContents()).map((s) => s) };
    };
    const fromAlice = await numberOf(a.page, bob);
    const fromBob = await numberOf(b.page, alice);
    expect(fromAlice.groups).toHaveLength(12);
    for (const group of fromAlice.groups) expect(group).toMatch(/^\d{5}$/);
    expect(fromBob.groups).toEqual(fromAlice.groups);
    await shot(a.page, 'safety-number-desktop');
    await shot(b.page, 'safety-number-phone');
    await fromAlice.dialog.getByRole('button', { name: 'Mark as verified' }).click();
    await fromAlice.dialog.getByRole('button', { name: 'Remove verification' }).waitFor();
    await fromAlice.dialog.getByRole('button', { name: 'Close' }).first().click();
    await fromBob.dialog.getByRole('button', { name: 'Close' }).first().click();
    await b.page.setViewportSize({ width: 1280, height: 800 });
    await encrypted(a.page, 'Verified');
    await conversation(a.page).getByRole('button', { name: 'Members' }).click();
    await a.page
      .getByRole('complementary', { name: 'Members' })
      .getByRole('listitem')
      .filter({ hasText: bob })
      .filter({ hasText: 'verified' })
      .waitFor();
    await shot(a.page, 'direct-verified-desktop');

    // After a reload, both rooms still show what was said (from this device's store).
    await a.page.reload();
    await conversation(a.page).getByRole('heading', { name: bob }).waitFor();
    for (const text of said.direct) await sees(a.page, text);
    await rooms(a.page).getByRole('link', { name: 'general', exact: true }).click();
    await conversation(a.page).getByRole('heading', { name: 'general' }).waitFor();
    for (const text of said.general) await sees(a.page, text);
    // Bob, the only other member here, is verified: so is the room.
    await encrypted(a.page, 'Verified');

    // The server hands out another identity key for Bob (as a malicious operator could):
    // Alice's direct room with him warns her once her device looks his key up again.
    // (Usernames are sealed at rest: Bob is found by his id, which his session tells.)
    const session = await b.page.request.get(`${suite.server.origin}/api/auth/session`);
    const bobId = ((await session.json()) as { user: { id: string } }).user.id;
    const db = new Database(join(suite.server.dataDir, 'securechat.db'));
    try {
      const changed = db
        .prepare('UPDATE users SET identity_key = ? WHERE id = ?')
        .run(randomBytes(32), bobId);
      expect(changed.changes).toBe(1);
    } finally {
      db.close();
    }
    await a.page.reload();
    await rooms(a.page).getByRole('link', { name: bob, exact: true }).click();
    await conversation(a.page).getByRole('heading', { name: bob }).waitFor();
    const check = await numberOf(a.page, bob);
    await check.dialog.getByText(`${bob}’s safety number changed since you last saw it`).waitFor();
    await check.dialog.getByRole('button', { name: 'Close' }).first().click();
    const banner = conversation(a.page).getByRole('region', { name: 'Security warning' });
    await banner
      .getByText(
        `${bob}’s safety number changed. Check it with them before sending anything sensitive.`,
      )
      .waitFor();
    await encrypted(a.page, 'Warning');
    await shot(a.page, 'warning-desktop');
    await a.page.setViewportSize({ width: 390, height: 780 });
    await shot(a.page, 'warning-phone');
    await banner.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => banner.count()).toBe(0);
    await encrypted(a.page);
  });
});
