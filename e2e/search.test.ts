/**
 * Search in the browser: Bob writes in the encrypted #general; Alice, after enough of her
 * own messages to push his out of view, opens search with Ctrl+K, finds his message by the
 * start of a word typed in another case, sees the word marked, and Enter takes her to the
 * message (scrolled into view, focused, highlighted). Then all rooms, a word Bob
 * edited away, the panel at a phone's width, and the index rebuilt after a reload.
 * Screenshots under test-results/search-*.png.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSuite, chromiumPath, register, uniqueName } from './support/browser.js';
import { composer, conversation, log, messages, sees, send } from './support/chat.js';

const panel = (page: Page) => page.getByRole('complementary', { name: 'Search messages' });
const field = (page: Page) => panel(page).getByRole('combobox', { name: 'Search messages' });
const results = (page: Page) => panel(page).getByRole('listbox', { name: 'Results' });

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync('test-results', { recursive: true });
  await page.waitForTimeout(300);
  await page.screenshot({ path: `test-results/search-${name}.png` });
}

/** Whether the message is on screen (the list is virtualized: far off, it isn't in the page). */
async function inView(page: Page, text: string): Promise<boolean> {
  if ((await messages(page, text).count()) === 0) return false;
  return messages(page, text)
    .first()
    .evaluate((element) => {
      const box = element.getBoundingClientRect();
      const scroller = element.closest('.conv-scroll')?.getBoundingClientRect();
      return !!scroller && box.top >= scroller.top - 1 && box.bottom <= scroller.bottom + 1;
    });
}

describe.skipIf(!chromiumPath())('search in the browser', () => {
  const suite = browserSuite({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });

  it('finds a message from another user in an encrypted room and takes the user to it', async () => {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const a = await suite.open();
    const b = await suite.open();
    // A word no other test writes, so all-rooms results are only this test's.
    const word = `Zephyr${randomBytes(4).toString('hex')}`;
    const said = `the Blueprint for the ${word} launch is ready`;

    await Promise.all([
      register(a.page, suite.server.origin, alice),
      register(b.page, suite.server.origin, bob),
    ]);
    for (const { page } of [a, b])
      await conversation(page).getByRole('heading', { name: 'general' }).waitFor();
    await expect
      .poll(() =>
        conversation(a.page)
          .getByRole('status', { name: /^Encryption: / })
          .textContent({ timeout: 1_000 })
          .catch(() => null),
      )
      .toBe('End-to-end encrypted');

    await send(b.page, said);
    await sees(a.page, word);
    // Enough of Alice's own to push Bob's message out of view.
    for (let i = 1; i <= 25; i += 1) await send(a.page, `filler line ${i} from alice`);
    await sees(a.page, 'filler line 25 from alice');
    await expect.poll(() => inView(a.page, word)).toBe(false);

    // Ctrl+K opens search; the start of a word, in another case, finds the message.
    await composer(a.page).blur();
    await a.page.keyboard.press('Control+k');
    await expect
      .poll(() => field(a.page).evaluate((el) => el === document.activeElement))
      .toBe(true);
    await panel(a.page).getByText('Search runs on this device only').waitFor();
    await field(a.page).fill(word.slice(0, 9).toUpperCase());
    const hit = results(a.page).getByRole('option').filter({ hasText: word });
    await expect.poll(() => hit.count()).toBe(1);
    expect(await hit.textContent()).toContain(bob);
    expect(await hit.getAttribute('aria-selected')).toBe('true');
    expect(await hit.locator('mark').allTextContents()).toEqual([word]);
    // Two words: both must be there, both marked.
    await field(a.page).fill(`bluep ${word.slice(0, 7).toLowerCase()}`);
    await expect.poll(() => hit.locator('mark').allTextContents()).toEqual(['Blueprint', word]);
    await shot(a.page, 'desktop');

    // Enter: the panel closes and the message is shown, focused and highlighted.
    await field(a.page).press('Enter');
    await panel(a.page).waitFor({ state: 'detached' });
    await expect.poll(() => inView(a.page, word)).toBe(true);
    const target = messages(a.page, word).first().locator('.msg');
    await expect.poll(() => target.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await target.getAttribute('class')).toContain('found');
    await shot(a.page, 'jumped');

    // "/" opens it too; "All rooms" names the room. Bob's edit is reflected at once.
    await a.page.locator('body').press('/');
    await field(a.page).waitFor();
    await panel(a.page).getByRole('radio', { name: 'All rooms' }).check();
    await field(a.page).fill(word.toLowerCase());
    await expect.poll(() => hit.textContent()).toContain('#general');

    const own = messages(b.page, word).first();
    await own.hover();
    await own.getByRole('button', { name: 'Edit' }).click();
    const editor = log(b.page).getByRole('textbox', { name: 'Edit message' });
    await editor.fill('the plan changed');
    await editor.press('Enter');
    await expect.poll(() => hit.count()).toBe(0);
    await expect
      .poll(() => panel(a.page).getByRole('status').textContent())
      .toBe('No messages found.');

    // At a phone's width the panel covers the conversation.
    await a.page.setViewportSize({ width: 360, height: 740 });
    await field(a.page).fill('filler 2');
    await expect.poll(() => results(a.page).getByRole('option').count()).toBeGreaterThan(1);
    await shot(a.page, 'phone');
    const box = await panel(a.page).boundingBox();
    expect(box?.width).toBeGreaterThan(300);
    await a.page.keyboard.press('Escape');
    await panel(a.page).waitFor({ state: 'detached' });

    // After a reload the index is rebuilt from this browser's (sealed) store: Bob's edit too.
    await a.page.setViewportSize({ width: 1280, height: 800 });
    await a.page.reload();
    await conversation(a.page).getByRole('heading', { name: 'general' }).waitFor();
    await conversation(a.page).getByRole('button', { name: 'Search' }).click();
    await field(a.page).fill('PLAN chang');
    const edited = results(a.page).getByRole('option').filter({ hasText: 'the plan changed' });
    await expect.poll(() => edited.count()).toBe(1);
    expect(await edited.locator('mark').allTextContents()).toEqual(['plan', 'changed']);
  });
});
