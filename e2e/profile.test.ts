/**
 * A display name and a picture, set in Settings › Profile: the picture is cropped and
 * re-encoded in the browser, both travel end-to-end encrypted, and another member sees them
 * beside the sender's messages (the username always next to the chosen name), in the members
 * panel and on the profile card. A name with invisible characters is refused.
 */
import { describe, expect, it } from 'vitest';
import {
  axeSerious,
  browserSuite,
  chromiumPath,
  register,
  screenshot,
  uniqueName,
} from './support/browser.js';
import { composer, conversation, messages } from './support/chat.js';

/** A 2×1 PNG (one red, one blue pixel). */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAADUlEQVR4nGP4zwAE/wEHAAH/4iOeWQAAAABJRU5ErkJggg==',
  'base64',
);

describe.skipIf(!chromiumPath())('profiles in the browser', () => {
  const suite = browserSuite({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });

  it('shows the display name and picture to another member, beside the username', async () => {
    const ada = uniqueName('ada');
    const ben = uniqueName('ben');
    const a = await suite.open();
    const b = await suite.open();
    await register(a.page, suite.server.origin, ada);
    await register(b.page, suite.server.origin, ben);
    for (const page of [a.page, b.page])
      await conversation(page).getByRole('heading', { name: 'general' }).waitFor();

    await a.page.getByRole('button', { name: /account menu/ }).click();
    await a.page.getByRole('menuitem', { name: 'Settings' }).click();
    const profile = a.page.getByRole('region', { name: 'Profile' });
    const name = profile.getByRole('textbox', { name: 'Display name' });
    await name.fill('Ada\u200B Lovelace');
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await profile.getByText(/at most 64 characters, and no control or invisible/).waitFor();

    await name.fill('Ada Lovelace');
    const chooser = a.page.waitForEvent('filechooser');
    await profile.getByRole('button', { name: 'Add a picture' }).click();
    await (await chooser).setFiles({ name: 'me.png', mimeType: 'image/png', buffer: PNG });
    await profile.locator('.avatar img').waitFor();
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await profile.getByRole('status').filter({ hasText: 'Saved' }).waitFor({ timeout: 30_000 });
    expect(await axeSerious(a.page)).toEqual([]);
    await screenshot(a.page, 'profile-settings-desktop');

    // Ada speaks in #general; Ben sees her chosen name, her username beside it, her picture.
    await a.page
      .getByRole('navigation', { name: 'Rooms' })
      .getByRole('link', { name: /general/ })
      .click();
    await composer(a.page).fill('hello from my new name');
    await composer(a.page).press('Enter');
    const message = messages(b.page, 'hello from my new name');
    await expect.poll(() => message.count()).toBe(1);
    await expect.poll(() => message.locator('.msg-author').textContent()).toBe('Ada Lovelace');
    expect(await message.locator('.msg-handle').textContent()).toBe(ada);
    await message.locator('.msg-avatar img').waitFor();
    const src = await message.locator('.msg-avatar img').getAttribute('src');
    expect(src).toMatch(/^blob:/);

    // The members panel and the profile card say the same.
    await conversation(b.page)
      .getByRole('button', { name: /Members/ })
      .click();
    const panel = b.page.getByRole('complementary', { name: 'Members' });
    await panel.getByRole('button', { name: new RegExp(`^Ada Lovelace ${ada}`) }).click();
    await b.page.getByRole('dialog', { name: `Ada Lovelace (${ada})` }).waitFor();
    await screenshot(b.page, 'profile-card-desktop');
  });
});
