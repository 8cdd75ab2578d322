/**
 * Debian's Chromium driven by playwright-core. No browser is downloaded; when Chromium is
 * missing the suites skip (loudly, from the global setup) or fail under SECURECHAT_REQUIRE_ALL.
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { startServer, type RunningServer } from './server.js';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const chromiumPath = (): string | null => inject('services').chromium;

export async function launch(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('Chromium is not installed');
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

export async function newPage(
  browser: Browser,
  options: { width?: number; height?: number } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page };
}

/** A server and a browser shared by one test file, and the pages its tests open. */
export interface BrowserSuite {
  readonly server: RunningServer;
  readonly browser: Browser;
  /** A new context and page, closed after the test (and screenshotted if the test failed). */
  open(options?: { width?: number; height?: number }): Promise<{
    context: BrowserContext;
    page: Page;
  }>;
}

/**
 * Start a server (with `env`) and Chromium for the test file, stop them after it, and close
 * every page a test opened after that test, keeping a screenshot of each when it failed.
 */
export function browserSuite(env: Record<string, string> = {}): BrowserSuite {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  const opened: { context: BrowserContext; page: Page }[] = [];
  beforeAll(async () => {
    server = await startServer(env);
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  afterEach(async ({ task }) => {
    for (const [index, { context, page }] of opened.entries()) {
      if (task.result?.state === 'fail')
        await screenshotOnFailure(page, { ...task, name: `${task.name} (browser ${index + 1})` });
      await context.close();
    }
    opened.length = 0;
  });
  return {
    get server() {
      if (!server) throw new Error('the server is not started yet');
      return server;
    },
    get browser() {
      if (!browser) throw new Error('the browser is not launched yet');
      return browser;
    },
    async open(options) {
      if (!browser) throw new Error('the browser is not launched yet');
      const opening = await newPage(browser, options);
      opened.push(opening);
      return opening;
    },
  };
}

/** Keep a screenshot of a page when a test fails, under test-results/e2e-<file>-<test>.png. */
export async function screenshotOnFailure(
  page: Page | undefined,
  task: { name: string; file?: { name: string } },
): Promise<void> {
  if (!page || page.isClosed()) return;
  const file = basename(task.file?.name ?? '').replace(/\.test\.ts$/, '');
  const name = `e2e-${file}-${task.name}`.replace(/[^a-z0-9-]+/gi, '_').slice(0, 150);
  mkdirSync('test-results', { recursive: true });
  await page.screenshot({ path: `test-results/${name}.png`, fullPage: true }).catch(() => {
    // a crashed page has nothing to show
  });
}

/** Keep a screenshot to look at, as test-results/<name>.png (after a moment to settle). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync('test-results', { recursive: true });
  await page.waitForTimeout(300);
  await page.screenshot({ path: `test-results/${name}.png` });
}

export const STRONG_PASSWORD = 'violet tractor sings under 7 moons';

let counter = 0;
/** A username no other test uses. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36).slice(-4)}${counter}`;
}

export async function register(
  page: Page,
  origin: string,
  username: string,
  password = STRONG_PASSWORD,
): Promise<void> {
  await page.goto(`${origin}/register`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Confirm password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
}

export async function signIn(
  page: Page,
  origin: string,
  username: string,
  password = STRONG_PASSWORD,
): Promise<void> {
  await page.goto(`${origin}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Sign out the way a user does: the Account menu, then "Sign out". */
export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Account menu' }).click();
  await page.getByRole('menuitem', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

/** The text of the page's alert, polled by `expect.poll`. */
export function alertText(page: Page): () => Promise<string | null> {
  return () =>
    page
      .getByRole('alert')
      .textContent({ timeout: 1_000 })
      .catch(() => null);
}

/** One accessibility problem axe-core found on a page. */
export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

const require = createRequire(import.meta.url);
let axeSource: Promise<string> | null = null;

/**
 * Run axe-core (WCAG 2.x A/AA rules and best practices) on the page as it is now and answer
 * its serious and critical findings. axe is evaluated through the DevTools protocol, which the
 * page's CSP does not govern, so the app's CSP stays as it ships.
 */
export async function axeSerious(page: Page): Promise<AxeFinding[]> {
  axeSource ??= readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  // A string is evaluated as a script through the DevTools protocol (no eval in the page).
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(await axeSource);
  return page.evaluate(async () => {
    interface Violation {
      id: string;
      impact: string | null;
      help: string;
      nodes: { target: string[] }[];
    }
    const { axe } = window as unknown as {
      axe: { run: (context: Document) => Promise<{ violations: Violation[] }> };
    };
    const result = await axe.run(document);
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.map((n) => n.target.join(' ')),
      }));
  });
}
