/**
 * Notifications in a real browser: once allowed in Settings, a message arriving while the tab
 * is hidden raises a desktop notification naming the room and the sender (not the text), and
 * the tab's title counts the unread messages; a muted room does neither.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSuite, chromiumPath, register, uniqueName } from './support/browser.js';
import { conversation, encrypted } from './support/chat.js';

async function send(page: Page, text: string): Promise<void> {
  await conversation(page).getByRole('textbox', { name: 'Message' }).fill(text);
  await conversation(page).getByRole('button', { name: 'Send' }).click();
  await conversation(page).getByRole('log').getByText(text).first().waitFor();
}

describe.skipIf(!chromiumPath())('notifications', () => {
  const suite = browserSuite({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });

  it('notifies of a message while the tab is hidden, counts it in the title, and not when muted', async () => {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const a = await suite.open();
    const b = await suite.open();
    await b.context.grantPermissions(['notifications'], { origin: suite.server.origin });
    // Record each notification the page shows (through the real API), and let the test say
    // when the tab is hidden.
    await b.context.addInitScript(() => {
      const w = window as unknown as { notes: { title: string; body?: string }[]; hide: boolean };
      w.notes = [];
      w.hide = false;
      const Real = window.Notification;
      window.Notification = class extends Real {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options);
          w.notes.push({ title, ...(options?.body ? { body: options.body } : {}) });
        }
      };
      Object.defineProperty(document, 'hidden', { get: () => w.hide });
    });
    const notes = () =>
      b.page.evaluate(
        () => (window as unknown as { notes: { title: string; body?: string }[] }).notes,
      );
    const hide = (on: boolean) =>
      b.page.evaluate((value) => {
        (window as unknown as { hide: boolean }).hide = value;
      }, on);

    await Promise.all([
      register(a.page, suite.server.origin, alice),
      register(b.page, suite.server.origin, bob),
    ]);
    await Promise.all([encrypted(a.page), encrypted(b.page)]);

    // Bob allows notifications in Settings, then looks at another page of the app.
    await b.page.getByRole('button', { name: 'Account menu' }).click();
    await b.page.getByRole('menuitem', { name: 'Settings' }).click();
    const allow = b.page.getByRole('checkbox', { name: 'Show desktop notifications' });
    await allow.check();
    expect(await allow.isChecked()).toBe(true);
    await b.page.getByRole('checkbox', { name: 'Play a sound' }).check();
    await hide(true);

    await send(a.page, `ping from ${alice}`);
    await expect.poll(notes).toEqual([{ title: '#general', body: `New message from ${alice}` }]);
    await expect.poll(() => b.page.title()).toMatch(/^\(1\) Settings · SecureChat$/);

    // Muted: no notification, and the title does not count it.
    await hide(false);
    await b.page.getByRole('link', { name: 'general', exact: true }).click();
    await conversation(b.page)
      .getByRole('button', { name: 'More actions for this conversation' })
      .click();
    await b.page.getByRole('menuitem', { name: 'Mute notifications' }).click();
    await conversation(b.page).getByText('Muted', { exact: true }).waitFor();
    await b.page.getByRole('button', { name: 'Account menu' }).click();
    await b.page.getByRole('menuitem', { name: 'Settings' }).click();
    await hide(true);
    await send(a.page, `second ping from ${alice}`);
    await send(a.page, `and a third from ${alice}`);
    await b.page.waitForTimeout(1_500);
    expect(await notes()).toHaveLength(1);
    expect(await b.page.title()).toBe('Settings · SecureChat');
  });
});
