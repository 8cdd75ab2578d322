/**
 * One tab owns the device: a second tab of the same browser profile, signed in as the same
 * person, shows "SecureChat is open in another tab" instead of the chat (two tabs would each
 * advance this device's encryption state and break it). "Use it here" moves the chat to it,
 * and what it sends arrives. "Sign out and remove this device" removes the device: signing in
 * again makes a new one. Screenshots of the page are kept under test-results/.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumPath,
  launch,
  newPage,
  register,
  screenshotOnFailure,
  signIn,
  uniqueName,
} from './support/browser.js';
import { startServer, type RunningServer } from './support/server.js';

const OTHER_TAB = 'SecureChat is open in another tab';

const conversation = (page: Page) => page.getByRole('main', { name: 'Conversation' });
const composer = (page: Page) => conversation(page).getByRole('textbox', { name: 'Message' });
const otherTab = (page: Page) => page.getByRole('heading', { name: OTHER_TAB });
const messages = (page: Page, text: string) =>
  conversation(page)
    .getByRole('log', { name: 'Messages' })
    .getByRole('listitem')
    .filter({ hasText: text });

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync('test-results', { recursive: true });
  await page.waitForTimeout(300);
  await page.screenshot({ path: `test-results/tabs-${name}.png` });
}

describe.skipIf(!chromiumPath())('one tab owns the device', () => {
  let server: RunningServer;
  let browser: Browser;
  const opened: { context: BrowserContext; page: Page }[] = [];

  beforeAll(async () => {
    server = await startServer({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  afterEach(async ({ task }) => {
    for (const [index, { context, page }] of opened.entries()) {
      if (task.result?.state === 'fail')
        await screenshotOnFailure(page, { ...task, name: `${task.name} (page ${index + 1})` });
      await context.close().catch(() => undefined);
    }
    opened.length = 0;
  });

  it('shows a second tab that the chat is open elsewhere, and moves it there on request', async () => {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const a = await newPage(browser);
    const b = await newPage(browser);
    opened.push(a, b);
    await Promise.all([
      register(a.page, server.origin, alice),
      register(b.page, server.origin, bob),
    ]);
    await composer(a.page).waitFor();
    await composer(b.page).waitFor();

    // A second tab of Alice's browser: the message, and no chat.
    const second = await a.context.newPage();
    second.setDefaultTimeout(15_000);
    opened.push({ context: a.context, page: second });
    await second.goto(server.origin);
    await otherTab(second).waitFor();
    await second
      .getByText('Using it in two tabs at once would break end-to-end encryption on this device.')
      .waitFor();
    expect(await conversation(second).count()).toBe(0);
    expect(await second.title()).toBe(`${OTHER_TAB} · SecureChat`);
    await shot(second, 'other-tab-desktop');
    await second.setViewportSize({ width: 390, height: 780 });
    await shot(second, 'other-tab-phone');
    await second.setViewportSize({ width: 1280, height: 800 });

    // "Use it here": the chat moves to the second tab, and the first one says so.
    await second.getByRole('button', { name: 'Use it here' }).click();
    await composer(second).waitFor();
    await otherTab(a.page).waitFor();
    expect(await conversation(a.page).count()).toBe(0);
    await a.page.getByRole('button', { name: 'Use it here' }).waitFor();

    // The new owner's message reaches Bob.
    const text = `from the second tab ${randomBytes(6).toString('hex')}`;
    await composer(second).fill(text);
    await conversation(second).getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => messages(b.page, text).count(), { timeout: 20_000 }).toBe(1);
  });

  it('removes the device on "Sign out and remove this device"; signing in again makes a new one', async () => {
    const carol = uniqueName('carol');
    const c = await newPage(browser);
    opened.push(c);
    await register(c.page, server.origin, carol);
    await composer(c.page).waitFor();

    await c.page.getByRole('button', { name: 'Account menu' }).click();
    await c.page.getByRole('menuitem', { name: 'Sign out and remove this device' }).click();
    const dialog = c.page.getByRole('dialog', { name: 'Remove this device?' });
    await dialog.getByRole('button', { name: 'Sign out and remove' }).click();
    await c.page.getByRole('heading', { name: 'Sign in' }).waitFor();

    await signIn(c.page, server.origin, carol);
    await c.page.getByText('This is a new device: it reads messages from now on.').waitFor();
    await composer(c.page).waitFor();
    // The removed device is gone from the account: this new one is its only device.
    await c.page.goto(`${server.origin}/devices`);
    const devices = c.page.getByRole('list', { name: 'Devices' }).getByRole('listitem');
    await devices.first().waitFor();
    expect(await devices.count()).toBe(1);
  });
});
