import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  chromiumPath,
  launch,
  newPage,
  register,
  screenshotOnFailure,
  signIn,
  STRONG_PASSWORD,
  uniqueName,
} from './support/browser.js';
import { startServer, type RunningServer } from './support/server.js';

describe.skipIf(!chromiumPath())('accounts in the browser', () => {
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    // Many sign-ins from one address: the login limit has its own test below.
    server = await startServer({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  beforeEach(async () => {
    ({ context, page } = await newPage(browser));
  });
  afterEach(async (test) => {
    if (test.task.result?.state === 'fail') await screenshotOnFailure(page, test.task.name);
    await context.close();
  });

  it('registers, signs out, signs in again and reaches the app shell', async () => {
    const username = uniqueName('alice');
    await register(page, server.origin, username);
    await expect.poll(() => page.url()).toBe(`${server.origin}/`);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    expect(await page.getByRole('button', { name: 'Account menu' }).textContent()).toContain(
      username,
    );

    await page.getByRole('button', { name: 'Account menu' }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    await signIn(page, server.origin, username);
    await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    expect(await page.getByRole('button', { name: 'Account menu' }).textContent()).toContain(
      username,
    );
    // The menu is keyboard-usable: Escape closes it and focus returns to the button.
    await page.getByRole('button', { name: 'Account menu' }).press('ArrowDown');
    expect(
      await page
        .getByRole('menuitem', { name: 'Devices' })
        .evaluate((el) => el === document.activeElement),
    ).toBe(true);
    await page.keyboard.press('Escape');
    expect(await page.getByRole('menu').count()).toBe(0);
  });

  it('shows the same error for a wrong password and for an unknown user', async () => {
    const username = uniqueName('bob');
    await register(page, server.origin, username);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    await context.clearCookies();

    await signIn(page, server.origin, username, 'definitely not the password');
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('Wrong username or password.');
    expect(new URL(page.url()).pathname).toBe('/login');

    await signIn(page, server.origin, uniqueName('ghost'), 'definitely not the password');
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('Wrong username or password.');
  });

  it('says when a username is already taken', async () => {
    const username = uniqueName('carol');
    await register(page, server.origin, username);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    await context.clearCookies();

    await register(page, server.origin, username.toUpperCase());
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('already taken');
    expect(new URL(page.url()).pathname).toBe('/register');
  });

  it('refuses a weak password in the form and creates no account', async () => {
    const username = uniqueName('dave');
    await page.goto(`${server.origin}/register`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password', { exact: true }).fill('password123');
    await expect.poll(() => page.locator('.strength-text').textContent()).toContain('Very weak');
    expect(await page.getByRole('meter', { name: 'Password strength' }).getAttribute('value')).toBe(
      '0',
    );
    await page.getByLabel('Confirm password').fill('password123');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('commonly used password');

    await signIn(page, server.origin, username, 'password123');
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('Wrong username or password.');
  });

  it('lists devices, and revoking one signs that browser out', async () => {
    const username = uniqueName('erin');
    await register(page, server.origin, username);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();

    const second = await newPage(browser);
    try {
      await signIn(second.page, server.origin, username);
      await second.page.getByRole('main', { name: 'Conversation' }).waitFor();

      await page.goto(`${server.origin}/devices`);
      await page.getByRole('heading', { name: 'Devices' }).waitFor();
      await expect.poll(() => page.getByRole('button', { name: /^Revoke / }).count()).toBe(2);
      // Revoke the device that is not this one (the list is oldest first; this one is first).
      page.once('dialog', (dialog) => void dialog.accept());
      await page
        .getByRole('button', { name: /^Revoke / })
        .nth(1)
        .click();
      await expect.poll(() => page.getByRole('button', { name: /^Revoke / }).count()).toBe(1);

      await second.page.goto(`${server.origin}/devices`);
      await second.page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(new URL(second.page.url()).pathname).toBe('/login');
    } finally {
      await second.context.close();
    }
  });

  it('changes the password from Settings', async () => {
    const username = uniqueName('fay');
    await register(page, server.origin, username);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    await page.goto(`${server.origin}/settings`);
    await page.getByLabel('Current password').fill(STRONG_PASSWORD);
    await page
      .getByLabel('New password', { exact: true })
      .fill('quiet river under amber lanterns 5');
    await page.getByLabel('Confirm new password').fill('quiet river under amber lanterns 5');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toContain('password was changed');

    await context.clearCookies();
    await signIn(page, server.origin, username, 'quiet river under amber lanterns 5');
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
  });

  it('fits a 360 px wide screen without sideways scrolling', async () => {
    const narrow = await newPage(browser, { width: 360, height: 740 });
    try {
      for (const path of ['/login', '/register']) {
        await narrow.page.goto(`${server.origin}${path}`);
        await narrow.page.getByRole('heading').first().waitFor();
        expect(
          await narrow.page.evaluate(() => document.documentElement.scrollWidth),
          path,
        ).toBeLessThanOrEqual(360);
      }
      await register(narrow.page, server.origin, uniqueName('gus'));
      await narrow.page.getByRole('main', { name: 'Conversation' }).waitFor();
      expect(
        await narrow.page.evaluate(() => document.documentElement.scrollWidth),
      ).toBeLessThanOrEqual(360);
      // The room list sits behind a toggle on a phone.
      await narrow.page.getByRole('button', { name: 'Rooms' }).click();
      await narrow.page.getByRole('navigation', { name: 'Rooms' }).waitFor();
    } finally {
      await narrow.context.close();
    }
  });
});
