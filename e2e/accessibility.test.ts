/**
 * axe-core on every page and the main dialogs, at desktop and phone widths, signed out and
 * signed in (as the server's first administrator, so the admin page is included), light and
 * dark: no serious or critical finding. A screenshot of each is kept under test-results/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  axeSerious,
  chromiumPath,
  launch,
  newPage,
  screenshotOnFailure,
  STRONG_PASSWORD,
} from './support/browser.js';
import { startServer, type RunningServer } from './support/server.js';

/** Desktop in the light theme, phone in the dark one (the app follows the system's). */
const WIDTHS = [
  { name: 'desktop', width: 1280, height: 800, scheme: 'light' },
  { name: 'phone', width: 360, height: 740, scheme: 'dark' },
] as const;

describe.skipIf(!chromiumPath())('accessibility (axe-core)', () => {
  let server: RunningServer;
  let browser: Browser;
  let setupLink = '';

  beforeAll(async () => {
    server = await startServer({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
    browser = await launch();
    const line = await server.waitForLog('/setup#token=');
    setupLink =
      /(http:\/\/localhost:\d+\/setup#token=[A-Za-z0-9_-]+)/.exec(line.msg ?? '')?.[1] ?? '';
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Every page's findings, reported together at the end of a run. */
  const findings: string[] = [];

  /** axe on the page as it is now; the screenshot is kept either way. */
  async function check(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: `test-results/a11y-${name}.png` });
    for (const found of await axeSerious(page))
      findings.push(
        `${name}: ${found.id} (${found.impact}) ${found.help} — ${found.targets.join(', ')}`,
      );
  }

  for (const size of WIDTHS) {
    it(`finds nothing serious on any page at ${size.name} width`, async ({ task }) => {
      let opened: { context: BrowserContext; page: Page } | undefined;
      findings.length = 0;
      try {
        opened = await newPage(browser, { width: size.width, height: size.height });
        const { page } = opened;
        await page.emulateMedia({ colorScheme: size.scheme });
        const at = (what: string) => `${what}-${size.name}`;

        await page.goto(`${server.origin}/login`);
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await check(page, at('login'));
        await page.goto(`${server.origin}/register`);
        await page.getByRole('heading', { name: 'Create your account' }).waitFor();
        await check(page, at('register'));
        await page.goto(`${server.origin}/about`);
        await page.getByRole('heading', { level: 1 }).first().waitFor();
        await check(page, at('about-signed-out'));

        // The first account is the administrator (one setup link per server: the desktop run
        // uses it, the phone run signs in as the same person).
        if (size.name === 'desktop') {
          await page.goto(setupLink);
          await page.getByLabel('Username').fill('chief');
          await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
          await page.getByLabel('Confirm password').fill(STRONG_PASSWORD);
          await page.getByRole('button', { name: 'Create account' }).click();
        } else {
          await page.goto(`${server.origin}/login`);
          await page.getByLabel('Username').fill('chief');
          await page.getByLabel('Password').fill(STRONG_PASSWORD);
          await page.getByRole('button', { name: 'Sign in' }).click();
        }
        const conversation = page.getByRole('main', { name: 'Conversation' });
        await conversation.waitFor();
        await expect
          .poll(() =>
            conversation
              .getByRole('status', { name: /^Encryption: / })
              .textContent({ timeout: 1_000 })
              .catch(() => null),
          )
          .toMatch(/End-to-end encrypted|Verified/);
        await conversation.getByRole('textbox', { name: 'Message' }).fill('hello, axe');
        await conversation.getByRole('button', { name: 'Send' }).click();
        await conversation.getByRole('log').getByText('hello, axe').first().waitFor();
        await check(page, at('conversation'));

        // Search, with a result.
        await page.keyboard.press('Control+k');
        const search = page.getByRole('complementary', { name: 'Search messages' });
        await search.getByRole('combobox', { name: 'Search messages' }).fill('axe');
        await search.getByText(/^1 message found/).waitFor();
        await check(page, at('search'));
        await page.keyboard.press('Escape');
        await expect.poll(() => search.count()).toBe(0);

        // The encryption badge (only an icon on a phone) says what it means when tapped.
        const badge = conversation.getByRole('button', { name: /^Encryption: / });
        await badge.click();
        await conversation
          .getByText(/^Only the devices of the people in this conversation/)
          .waitFor();
        expect(await badge.getAttribute('aria-expanded')).toBe('true');
        await check(page, at('security-info'));
        await badge.click();

        await conversation.getByRole('button', { name: /^Members/ }).click();
        await check(page, at('members'));
        await conversation.getByRole('button', { name: /^Members/ }).click();

        await conversation
          .getByRole('button', { name: 'More actions for this conversation' })
          .click();
        await page.getByRole('menuitem', { name: 'Export conversation…' }).click();
        await page.getByRole('dialog', { name: 'Export conversation' }).waitFor();
        await check(page, at('export-dialog'));
        await page.keyboard.press('Escape');

        for (const [path, heading] of [
          ['/devices', 'Devices'],
          ['/activity', 'Account activity'],
          ['/settings', 'Settings'],
          ['/admin', 'Administration'],
          ['/about', null],
          ['/no-such-page', null],
        ] as const) {
          await page.goto(`${server.origin}${path}`);
          if (heading) await page.getByRole('heading', { name: heading }).waitFor();
          else await page.getByRole('heading', { level: 1 }).first().waitFor();
          await check(page, at(path.slice(1)));
        }
        expect(findings).toEqual([]);
      } catch (error) {
        await screenshotOnFailure(opened?.page, task);
        throw error;
      } finally {
        await opened?.context.close();
      }
    });
  }
});
