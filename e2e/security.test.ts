import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launch, newPage, register, signIn, uniqueName } from './support/browser.js';
import { freePort, SERVER_MAIN, startServer, type RunningServer } from './support/server.js';

function expectSecurityHeaders(headers: Record<string, string>, what: string): void {
  const csp = headers['content-security-policy'] ?? '';
  expect(csp, what).toContain("frame-ancestors 'none'");
  expect(csp, what).toContain("default-src 'self'");
  expect(csp, what).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  expect(csp, what).not.toContain('unsafe-inline');
  expect(headers['x-content-type-options'], what).toBe('nosniff');
  expect(headers['x-frame-options'], what).toBe('DENY');
  expect(headers['referrer-policy'], what).toBe('no-referrer');
  expect(headers['permissions-policy'], what).toContain('camera=()');
  expect(headers['cross-origin-opener-policy'], what).toBe('same-origin');
  expect(headers['x-powered-by'], what).toBeUndefined();
  expect(headers.server ?? '', what).not.toMatch(/fastify|node|express/i);
}

describe.skipIf(!chromiumPath())('security in the browser', () => {
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServer({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('sends security headers on pages, assets, API answers and 404s, and sets strict cookies', async () => {
    const { context, page } = await newPage(browser);
    try {
      const seen = new Map<string, Record<string, string>>();
      // The app runs under its strict CSP with nothing refused and no script errors.
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text()))
          problems.push(message.text());
      });
      page.on('response', (response) => {
        const url = new URL(response.url());
        if (response.request().resourceType() === 'document') seen.set('page', response.headers());
        else if (url.pathname.startsWith('/assets/')) seen.set('asset', response.headers());
        else if (url.pathname === '/api/auth/login/finish') seen.set('api', response.headers());
      });
      const username = uniqueName('hal');
      await register(page, server.origin, username);
      await page.getByRole('main', { name: 'Conversation' }).waitFor();
      expect([...seen.keys()].sort()).toEqual(['api', 'asset', 'page']);
      for (const [what, headers] of seen) expectSecurityHeaders(headers, what);
      expect(problems).toEqual([]);

      const missing = await page.request.get(`${server.origin}/api/nothing-here`);
      expect(missing.status()).toBe(404);
      expectSecurityHeaders(missing.headers(), '404');
      expect(await missing.json()).toEqual({ code: 'CHAT_ERR_NOT_FOUND', message: 'Not found.' });

      const cookies = await context.cookies();
      const names = cookies.map((c) => c.name).sort();
      expect(names).toEqual(['__Host-sc_csrf', '__Host-sc_session']);
      for (const cookie of cookies) {
        expect(cookie, cookie.name).toMatchObject({
          httpOnly: true,
          secure: true,
          sameSite: 'Strict',
          path: '/',
        });
        expect(cookie.domain, cookie.name).toBe('localhost');
      }
      // Script on the page cannot read them.
      expect(await page.evaluate(() => document.cookie)).toBe('');
    } finally {
      await context.close();
    }
  });

  it('refuses a cross-origin POST from another site, and the user stays signed in', async () => {
    const { context, page } = await newPage(browser);
    let evil: Server | undefined;
    try {
      await register(page, server.origin, uniqueName('ivy'));
      await page.getByRole('main', { name: 'Conversation' }).waitFor();

      const evilPort = await freePort();
      evil = createServer((_req, res) => {
        res.setHeader('content-type', 'text/html');
        res.end(`<!doctype html><body>
          <form id="f" method="post" action="${server.origin}/api/auth/logout" enctype="text/plain">
            <input name='{"a":"' value='"}'></form>
          <script>
            fetch('${server.origin}/api/auth/logout', { method: 'POST', credentials: 'include',
              headers: { 'content-type': 'application/json' }, body: '{}' })
              .then(r => { document.title = 'fetch:' + r.status; })
              .catch(() => { document.title = 'fetch:blocked'; })
              .finally(() => document.getElementById('f').submit());
          </script></body>`);
      });
      await new Promise<void>((resolve) => evil?.listen(evilPort, '127.0.0.1', resolve));
      const attacks: number[] = [];
      page.on('response', (response) => {
        if (response.url().endsWith('/api/auth/logout')) attacks.push(response.status());
      });
      await page.goto(`http://127.0.0.1:${evilPort}/`);
      await expect.poll(() => attacks.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      for (const status of attacks) expect(status).toBe(403);
      // The forged form navigated the tab to the refusal; let that finish.
      await page.waitForURL(/\/api\/auth\/logout$/);
      expect(await page.textContent('body')).toContain('CHAT_ERR_CSRF');

      await page.goto(`${server.origin}/`);
      await page.getByRole('main', { name: 'Conversation' }).waitFor();
    } finally {
      evil?.close();
      await context.close();
    }
  });

  it('refuses a same-origin text/plain body with 415 and an unknown Origin with 403', async () => {
    const csrf = await fetch(`${server.origin.replace('localhost', '127.0.0.1')}/api/csrf`);
    const cookie = csrf.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const { token } = (await csrf.json()) as { token: string };
    const post = (headers: Record<string, string>) =>
      fetch(`${server.origin.replace('localhost', '127.0.0.1')}/api/auth/logout`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': token, ...headers },
        body: '{}',
      });
    const plain = await post({ origin: server.origin, 'content-type': 'text/plain' });
    expect(plain.status).toBe(415);
    expect(await plain.json()).toMatchObject({ code: 'CHAT_ERR_UNSUPPORTED_MEDIA_TYPE' });
    const foreign = await post({
      origin: 'https://evil.example',
      'content-type': 'application/json',
    });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ code: 'CHAT_ERR_CSRF' });
  });

  it('makes the first administrator through the setup link the server logged, once', async () => {
    const fresh = await startServer();
    const { context, page } = await newPage(browser);
    try {
      const line = fresh.stdout.find((l) => l.includes('/setup#token='));
      expect(line).toBeDefined();
      const link =
        /(http:\/\/localhost:\d+\/setup#token=[A-Za-z0-9_-]+)/.exec(line ?? '')?.[1] ?? '';
      await page.goto(link);
      await page.getByRole('heading', { name: 'Create the administrator account' }).waitFor();
      await page.getByLabel('Username').fill('chief');
      await page.getByLabel('Password', { exact: true }).fill('violet tractor sings under 7 moons');
      await page.getByLabel('Confirm password').fill('violet tractor sings under 7 moons');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('main', { name: 'Conversation' }).waitFor();
      await page.getByRole('button', { name: 'Account menu' }).click();
      await page.getByRole('menuitem', { name: 'Admin' }).click();
      await page.getByRole('heading', { name: 'Administration' }).waitFor();

      await context.clearCookies();
      await page.goto(link);
      await page.getByLabel('Username').fill('chief2');
      await page.getByLabel('Password', { exact: true }).fill('violet tractor sings under 7 moons');
      await page.getByLabel('Confirm password').fill('violet tractor sings under 7 moons');
      await page.getByRole('button', { name: 'Create account' }).click();
      await expect
        .poll(() => page.getByRole('alert').textContent())
        .toContain('setup link is not valid');
    } finally {
      await context.close();
      await fresh.stop();
    }
  });
});

describe.skipIf(!chromiumPath())('login rate limit in the browser', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await startServer();
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('answers the 6th sign-in attempt in a minute with "Too many" and 429 + Retry-After', async () => {
    const { context, page: p } = await newPage(browser);
    page = p;
    try {
      const username = uniqueName('jack');
      await register(page, server.origin, username);
      await page.getByRole('main', { name: 'Conversation' }).waitFor();
      await context.clearCookies();
      const statuses: { status: number; retryAfter: string | undefined }[] = [];
      page.on('response', (response) => {
        if (response.url().endsWith('/api/auth/login/start')) {
          statuses.push({
            status: response.status(),
            retryAfter: response.headers()['retry-after'],
          });
        }
      });
      // Registration signed in once already; four wrong guesses make five attempts.
      for (let i = 0; i < 4; i += 1) {
        await signIn(page, server.origin, username, `wrong guess number ${i}`);
        await expect
          .poll(() => page.getByRole('alert').textContent())
          .toBe('Wrong username or password.');
      }
      await signIn(page, server.origin, username);
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('Too many');
      const last = statuses.at(-1);
      expect(last?.status).toBe(429);
      expect(Number(last?.retryAfter)).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });
});

describe('configuration', () => {
  function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [SERVER_MAIN], {
        env: { PATH: process.env.PATH ?? '', DATA_DIR: '/nonexistent-never-created', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
  }

  it('refuses a bad value with one line naming the variable', async () => {
    for (const [name, value, expected] of [
      ['PORT', 'abc', 'PORT must be a whole number from 1 to 65535'],
      ['REGISTRATION', 'maybe', 'REGISTRATION must be one of open, invite'],
      ['PUBLIC_ORIGIN', 'ftp://x', 'PUBLIC_ORIGIN must be an origin'],
    ] as const) {
      const { code, stderr } = await run({ [name]: value });
      expect(code, name).not.toBe(0);
      expect(stderr.trim().split('\n'), name).toHaveLength(1);
      expect(stderr, name).toContain(expected);
    }
  });
});
