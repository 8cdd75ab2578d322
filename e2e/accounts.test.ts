import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  alertText,
  chromiumPath,
  launch,
  newPage,
  register,
  screenshotOnFailure,
  signIn,
  signOut,
  STRONG_PASSWORD,
  uniqueName,
} from './support/browser.js';
import { startServer, type RunningServer } from './support/server.js';

describe.skipIf(!chromiumPath())('accounts in the browser', () => {
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** A page of a second browser context, when a test opens one: screenshotted on failure too. */
  let other: Page | undefined;

  beforeAll(async () => {
    // Many sign-ins from one address: the login limit has its own test in security.test.ts.
    server = await startServer({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  beforeEach(async () => {
    ({ context, page } = await newPage(browser));
    other = undefined;
  });
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') {
      await screenshotOnFailure(page, task);
      await screenshotOnFailure(other, { ...task, name: `${task.name} (second browser)` });
    }
    await context.close();
  });

  const path = (p: Page) => new URL(p.url()).pathname;
  const accountMenu = (p: Page) => p.getByRole('button', { name: 'Account menu' });

  it('registers, signs out from the Account menu, signs in again and reaches the app shell', async () => {
    const username = uniqueName('alice');
    await register(page, server.origin, username);
    await expect.poll(() => page.url()).toBe(`${server.origin}/`);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    expect(await accountMenu(page).textContent()).toContain(username);
    // The same session cookie, copied into another browser, works there too...
    const replay = await newPage(browser);
    other = replay.page;
    await replay.context.addCookies(await context.cookies());
    await replay.page.goto(`${server.origin}/`);
    await replay.page.getByRole('main', { name: 'Conversation' }).waitFor();

    await signOut(page);
    expect(path(page)).toBe('/login');
    // ...until signing out ends the session on the server, not just in this browser.
    try {
      await replay.page.reload();
      await replay.page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(path(replay.page)).toBe('/login');
    } finally {
      await replay.context.close();
    }
    // Signed out for real: the app itself now sends / to the sign-in page.
    await page.goto(`${server.origin}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    await signIn(page, server.origin, username);
    await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    expect(path(page)).toBe('/');
    expect(await accountMenu(page).textContent()).toContain(username);

    // A member's menu: no "Admin".
    await accountMenu(page).click();
    const items = await page.getByRole('menu').getByRole('menuitem').allTextContents();
    expect(items.map((s) => s.trim())).toEqual([
      'Devices',
      'Account activity',
      'Settings',
      'About',
      'Sign out',
      'Sign out and remove this device',
    ]);
    await page.keyboard.press('Escape');
    expect(await page.getByRole('menu').count()).toBe(0);
    // Keyboard: ArrowDown opens it with the first item focused.
    await accountMenu(page).press('ArrowDown');
    expect(
      await page
        .getByRole('menuitem', { name: 'Devices' })
        .evaluate((el) => el === document.activeElement),
    ).toBe(true);
    await page.keyboard.press('Escape');
    expect(await page.getByRole('menu').count()).toBe(0);
  });

  it('keeps a member out of the admin page and the admin API', async () => {
    await register(page, server.origin, uniqueName('mallory'));
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    await page.goto(`${server.origin}/admin`);
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    expect(await page.getByRole('heading', { name: 'Administration' }).count()).toBe(0);
    // With this browser's own session cookie:
    const users = await page.request.get(`${server.origin}/api/admin/users`);
    expect(users.status()).toBe(403);
    expect(await users.json()).toMatchObject({ code: 'CHAT_ERR_FORBIDDEN' });
  });

  it('shows the same error for a wrong password and for an unknown user', async () => {
    const username = uniqueName('bob');
    await register(page, server.origin, username);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    await signOut(page);

    await signIn(page, server.origin, username, 'definitely not the password');
    await expect.poll(alertText(page)).toBe('Wrong username or password.');
    expect(path(page)).toBe('/login');
    expect(await page.getByRole('main', { name: 'Conversation' }).count()).toBe(0);

    // This time from the keyboard: Enter in the password field submits.
    await page.goto(`${server.origin}/login`);
    await page.getByLabel('Username').fill(uniqueName('ghost'));
    await page.getByLabel('Password').fill('definitely not the password');
    await page.getByLabel('Password').press('Enter');
    await expect.poll(alertText(page)).toBe('Wrong username or password.');
    expect(path(page)).toBe('/login');
  });

  it('says when a username is already taken, also in other letter case', async () => {
    const username = uniqueName('carol');
    const first = await newPage(browser);
    other = first.page;
    try {
      await register(first.page, server.origin, username);
      await first.page.getByRole('main', { name: 'Conversation' }).waitFor();
    } finally {
      await first.context.close();
    }

    await register(page, server.origin, username);
    await expect.poll(alertText(page)).toContain('already taken');
    expect(path(page)).toBe('/register');

    await register(page, server.origin, username.toUpperCase());
    await expect.poll(alertText(page)).toContain('already taken');
    expect(path(page)).toBe('/register');
    expect(await page.getByRole('main', { name: 'Conversation' }).count()).toBe(0);
  });

  it('refuses a weak password in the form and creates no account', async () => {
    const username = uniqueName('dave');
    const registrations: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/auth/register/')) registrations.push(request.url());
    });
    await page.goto(`${server.origin}/register`);
    await page.getByLabel('Username').fill(username);
    // The meter and its caption follow what is typed.
    const meter = page.getByRole('meter', { name: 'Password strength' });
    const strength = async () => Number(await meter.getAttribute('value'));
    await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
    await expect.poll(strength).toBeGreaterThanOrEqual(3);
    await page.getByLabel('Password', { exact: true }).fill('password123');
    await page.getByText(/very weak/i).waitFor();
    expect(await strength()).toBeLessThanOrEqual(1);
    await page.getByLabel('Confirm password').fill('password123');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(alertText(page)).toMatch(/password/i);
    expect(path(page)).toBe('/register');
    expect(registrations).toEqual([]);

    await signIn(page, server.origin, username, 'password123');
    await expect.poll(alertText(page)).toBe('Wrong username or password.');
  });

  it('refuses a password confirmation that does not match', async () => {
    await page.goto(`${server.origin}/register`);
    await page.getByLabel('Username').fill(uniqueName('dora'));
    await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
    await page.getByLabel('Confirm password').fill(`${STRONG_PASSWORD}!`);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('The passwords do not match.').first().waitFor();
    expect(path(page)).toBe('/register');
    // Assistive technology hears it too: the field is marked invalid and described by it.
    const confirm = page.getByLabel('Confirm password');
    expect(await confirm.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await confirm.getAttribute('aria-describedby')) ?? '';
    const description = await page.evaluate(
      (ids) =>
        ids
          .split(/\s+/)
          .map((id) => document.getElementById(id)?.textContent ?? '')
          .join(' '),
      describedBy,
    );
    expect(description).toContain('The passwords do not match.');
  });

  it('lists devices, and revoking one signs that browser out', async () => {
    const username = uniqueName('erin');
    await register(page, server.origin, username);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    await page.goto(`${server.origin}/devices`);
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    await expect.poll(() => page.getByRole('button', { name: /^Revoke / }).count()).toBe(1);

    const second = await newPage(browser);
    other = second.page;
    try {
      await signIn(second.page, server.origin, username);
      await second.page.getByRole('main', { name: 'Conversation' }).waitFor();

      await page.reload();
      await page.getByRole('heading', { name: 'Devices' }).waitFor();
      const revoke = page.getByRole('button', { name: /^Revoke / });
      await expect.poll(() => revoke.count()).toBe(2);
      expect(await page.getByText('This device').count()).toBe(1);
      // Two browsers of one kind are told apart: numbered in the order they were added.
      const devices = page.getByRole('list', { name: 'Devices' });
      const titles = await devices.locator('.list-title').allTextContents();
      expect(titles.map((title) => title.replace('This device', '')).sort()).toEqual([
        'Chrome on Linux (1)',
        'Chrome on Linux (2)',
      ]);
      // Revoke the device that is not this one: a dialog asks first, and Cancel keeps it.
      const other = page
        .getByRole('listitem')
        .filter({ hasNotText: 'This device' })
        .getByRole('button', { name: /^Revoke / });
      await other.click();
      const confirm = page.getByRole('dialog', { name: /^Revoke “Chrome on Linux \(2\)”\?$/ });
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await expect.poll(() => confirm.count()).toBe(0);
      expect(await revoke.count()).toBe(2);
      await other.click();
      await confirm.getByRole('button', { name: 'Revoke' }).click();
      await expect.poll(() => revoke.count()).toBe(1);

      // The revoked browser's next navigation lands on the sign-in page.
      await second.page.goto(`${server.origin}/devices`);
      await second.page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(path(second.page)).toBe('/login');
      // ...and this one is still signed in.
      await page.reload();
      await page.getByRole('heading', { name: 'Devices' }).waitFor();
    } finally {
      await second.context.close();
    }
  });

  it('changes the password from Settings', async () => {
    const username = uniqueName('fay');
    const next = 'quiet river under amber lanterns 5';
    await register(page, server.origin, username);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    const second = await newPage(browser);
    other = second.page;
    await signIn(second.page, server.origin, username);
    await second.page.getByRole('main', { name: 'Conversation' }).waitFor();

    await page.goto(`${server.origin}/settings`);
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByLabel('Current password').fill(STRONG_PASSWORD);
    await page.getByLabel('New password', { exact: true }).fill(next);
    await page.getByLabel('Confirm new password').fill(next);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toContain('password was changed');
    // This browser stays signed in; the other device is signed out.
    await page.reload();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    try {
      await second.page.goto(`${server.origin}/`);
      await second.page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(path(second.page)).toBe('/login');
    } finally {
      await second.context.close();
    }

    await signOut(page);
    await signIn(page, server.origin, username, STRONG_PASSWORD);
    await expect.poll(alertText(page)).toBe('Wrong username or password.');
    await signIn(page, server.origin, username, next);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
  });

  it('reaches Devices, Settings and About from the Account menu, keeps the theme, and has a 404 page', async () => {
    await register(page, server.origin, uniqueName('hugo'));
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    for (const [item, heading, at] of [
      ['Devices', 'Devices', '/devices'],
      ['Account activity', 'Account activity', '/activity'],
      ['Settings', 'Settings', '/settings'],
      ['About', 'About SecureChat', '/about'],
    ] as const) {
      await accountMenu(page).click();
      await page.getByRole('menuitem', { name: item }).click();
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      expect(path(page), item).toBe(at);
    }

    // The theme is a choice the user sees, and it survives a reload.
    await page.goto(`${server.origin}/settings`);
    const theme = page.getByLabel('Theme');
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await theme.selectOption({ label: 'Light' });
    const light = await background();
    await theme.selectOption({ label: 'Dark' });
    await expect.poll(background).not.toBe(light);
    const dark = await background();
    await page.reload();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    expect(await background()).toBe(dark);
    expect(await page.getByLabel('Theme').inputValue()).toBe('dark');

    await page.goto(`${server.origin}/no/such/page`);
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
  });

  it('fits a 360 px wide screen without sideways scrolling', async () => {
    const narrow = await newPage(browser, { width: 360, height: 740 });
    other = narrow.page;
    const scrollWidth = () => narrow.page.evaluate(() => document.documentElement.scrollWidth);
    try {
      for (const [at, heading] of [
        ['/login', 'Sign in'],
        ['/register', 'Create your account'],
      ] as const) {
        await narrow.page.goto(`${server.origin}${at}`);
        await narrow.page.getByRole('heading', { name: heading }).waitFor();
        expect(await scrollWidth(), at).toBeLessThanOrEqual(360);
      }
      // With an error shown and a long username typed, too.
      await register(narrow.page, server.origin, uniqueName('gus'), 'password123');
      await expect.poll(alertText(narrow.page)).not.toBeNull();
      expect(await scrollWidth(), '/register with an error').toBeLessThanOrEqual(360);

      await register(narrow.page, server.origin, uniqueName('gus'));
      await narrow.page.getByRole('main', { name: 'Conversation' }).waitFor();
      expect(await scrollWidth(), 'the shell').toBeLessThanOrEqual(360);
      // The room list sits behind a toggle on a phone.
      await narrow.page.getByRole('button', { name: 'Rooms' }).click();
      await narrow.page.getByRole('navigation', { name: 'Rooms' }).waitFor();
      expect(await scrollWidth(), 'the shell with the rooms open').toBeLessThanOrEqual(360);
      for (const at of ['/devices', '/settings', '/about']) {
        await narrow.page.goto(`${server.origin}${at}`);
        await narrow.page.getByRole('heading', { level: 1 }).first().waitFor();
        expect(await scrollWidth(), at).toBeLessThanOrEqual(360);
      }
    } finally {
      await narrow.context.close();
    }
  });
});
