import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page, Request, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  alertText,
  chromiumPath,
  launch,
  newPage,
  register,
  screenshotOnFailure,
  signIn,
  STRONG_PASSWORD,
  uniqueName,
} from './support/browser.js';
import { freePort, runServerToExit, startServer, type RunningServer } from './support/server.js';

function expectSecurityHeaders(headers: Record<string, string>, what: string): void {
  const csp = headers['content-security-policy'] ?? '';
  expect(csp, what).toContain("frame-ancestors 'none'");
  expect(csp, what).toContain("default-src 'self'");
  const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1] ?? '';
  expect(scriptSrc, `${what}: script-src`).toContain("'self'");
  expect(scriptSrc, `${what}: script-src`).not.toMatch(
    /'unsafe-inline'|'unsafe-eval'|\*|data:|http:/,
  );
  expect(csp, what).not.toContain('unsafe-inline');
  expect(headers['x-content-type-options'], what).toBe('nosniff');
  expect(headers['x-frame-options'], what).toBe('DENY');
  expect(headers['referrer-policy'], what).toBe('no-referrer');
  expect(headers['permissions-policy'], what).toContain('camera=()');
  expect(headers['cross-origin-opener-policy'], what).toBe('same-origin');
  expect(headers['x-powered-by'], what).toBeUndefined();
  expect(headers.server ?? '', what).not.toMatch(/fastify|node|express|\d+\.\d+/i);
}

/** A tiny web server on another origin, serving whatever page a test gives it. */
async function startOtherSite(): Promise<{
  port: number;
  serve(html: string): void;
  close(): void;
}> {
  let html = '<!doctype html><title>other site</title>';
  const site: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(html);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => site.listen(port, '127.0.0.1', resolve));
  return {
    port,
    serve: (page) => (html = page),
    close: () => {
      site.closeAllConnections();
      site.close();
    },
  };
}

describe.skipIf(!chromiumPath())('security in the browser', () => {
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
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
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await screenshotOnFailure(page, task);
    await context.close();
  });

  /** Node's fetch, straight to the server (127.0.0.1: Node may try ::1 for localhost). */
  const direct = (path: string, init?: RequestInit) =>
    fetch(`http://127.0.0.1:${server.port}${path}`, init);

  it('sends security headers on pages, assets, API answers and 404s, and sets strict cookies', async () => {
    const seen = new Map<string, Record<string, string>>();
    // The app runs under its strict CSP with nothing refused and no script errors.
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (response.request().resourceType() === 'document') seen.set('page', response.headers());
      else if (url.pathname.startsWith('/assets/')) seen.set('asset', response.headers());
      else if (url.pathname.startsWith('/api/')) seen.set('api', response.headers());
    });
    const username = uniqueName('hal');
    await register(page, server.origin, username);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    expect([...seen.keys()].sort()).toEqual(['api', 'asset', 'page']);
    for (const [what, headers] of seen) expectSecurityHeaders(headers, what);
    expect(problems).toEqual([]);

    // A 404 for a script (JSON) and for a browser (the server's own page).
    const missing = await page.request.get(`${server.origin}/api/nothing-here`);
    expect(missing.status()).toBe(404);
    expectSecurityHeaders(missing.headers(), 'API 404');
    expect(await missing.json()).toEqual({ code: 'CHAT_ERR_NOT_FOUND', message: 'Not found.' });
    const missingAsset = await page.request.get(`${server.origin}/assets/nothing-here.js`);
    expect(missingAsset.status()).toBe(404);
    expectSecurityHeaders(missingAsset.headers(), 'asset 404');
    const notFound = await page.goto(`${server.origin}/api/nothing-here`);
    expect(notFound?.status()).toBe(404);
    expectSecurityHeaders(notFound?.headers() ?? {}, 'page 404');
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    expect(await page.textContent('body')).not.toMatch(/fastify|node\.js|stack/i);

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
    await page.goto(`${server.origin}/`);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('cannot be framed by another site', async () => {
    const other = await startOtherSite();
    try {
      other.serve(
        `<!doctype html><iframe id="f" src="${server.origin}/login" width="600" height="400"></iframe>`,
      );
      await page.goto(`http://127.0.0.1:${other.port}/`);
      const framed = async () => {
        const frame = page.frames().find((f) => f !== page.mainFrame());
        if (!frame) return 'no frame';
        if (frame.url().startsWith('chrome-error:')) return 'blocked';
        const shown = await frame.getByRole('heading', { name: 'Sign in' }).count();
        return shown > 0 ? 'rendered' : 'loading';
      };
      await expect.poll(framed).not.toMatch(/no frame|loading/);
      expect(await framed()).toBe('blocked');
    } finally {
      other.close();
    }
  });

  it('refuses cross-origin POSTs and WebSockets from other sites, and the user stays signed in', async () => {
    const username = uniqueName('ivy');
    await register(page, server.origin, username);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    // Same-origin control: the app's own origin may open the WebSocket.
    const openSocket = (url: string) =>
      new Promise<string>((resolve) => {
        const socket = new WebSocket(url);
        socket.onopen = () => {
          socket.close();
          resolve('open');
        };
        socket.onerror = () => resolve('refused');
        setTimeout(() => resolve('timeout'), 5_000);
      });
    const wsUrl = `ws://localhost:${server.port}/api/ws`;
    expect(await page.evaluate(openSocket, wsUrl)).toBe('open');

    const other = await startOtherSite();
    try {
      // localhost:<other port> is the same *site* as the app (ports do not count), so the
      // SameSite=Strict cookies ARE sent: only the Origin and CSRF-token checks stop these.
      // 127.0.0.1:<other port> is another site altogether.
      for (const attacker of [`http://localhost:${other.port}`, `http://127.0.0.1:${other.port}`]) {
        other.serve(`<!doctype html><body>
          <form id="f" method="post" action="${server.origin}/api/auth/logout" enctype="text/plain">
            <input name='{"a":"' value='"}'></form>
          <script>
            fetch('${server.origin}/api/auth/logout', { method: 'POST', mode: 'no-cors',
              credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}' })
              .catch(() => undefined)
              .finally(() => document.getElementById('f').submit());
          </script></body>`);
        // Both forged requests leave the browser; the fetch's answer is then hidden from the
        // page (Cross-Origin-Resource-Policy), the form's is shown.
        const sent: string[] = [];
        const answers: number[] = [];
        const onRequest = (request: Request) => {
          if (request.url().endsWith('/api/auth/logout')) sent.push(request.resourceType());
        };
        const onResponse = (response: Response) => {
          if (response.url().endsWith('/api/auth/logout')) answers.push(response.status());
        };
        page.on('request', onRequest);
        page.on('response', onResponse);
        await page.goto(`${attacker}/`);
        // The forged form navigates the tab to the server's refusal.
        await page.waitForURL(`${server.origin}/api/auth/logout`);
        expect(await page.textContent('body'), attacker).toContain('CHAT_ERR_CSRF');
        page.off('request', onRequest);
        page.off('response', onResponse);
        expect(sent.sort(), attacker).toEqual(['document', 'fetch']);
        expect(answers.length, attacker).toBeGreaterThanOrEqual(1);
        for (const status of answers) expect(status, attacker).toBe(403);

        other.serve('<!doctype html><title>just a page</title>');
        await page.goto(`${attacker}/`);
        expect(await page.evaluate(openSocket, wsUrl), `WebSocket from ${attacker}`).toBe(
          'refused',
        );
      }

      await page.goto(`${server.origin}/`);
      await page.getByRole('main', { name: 'Conversation' }).waitFor();
      expect(await page.getByRole('button', { name: 'Account menu' }).textContent()).toContain(
        username,
      );
    } finally {
      other.close();
    }
  });

  it('refuses a POST without the CSRF token or Origin (403) and a text/plain body (415)', async () => {
    const csrf = await direct('/api/csrf');
    expect(csrf.status).toBe(200);
    const cookie = csrf.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const { token } = (await csrf.json()) as { token: string };
    expect(token).toMatch(/\S{16,}/);
    const post = (headers: Record<string, string>) =>
      direct('/api/auth/logout', { method: 'POST', headers: { cookie, ...headers }, body: '{}' });
    const json = { 'content-type': 'application/json' };

    // The control: everything right is accepted.
    const good = await post({ ...json, origin: server.origin, 'x-csrf-token': token });
    expect(good.status).toBeLessThan(300);

    const plain = await post({
      origin: server.origin,
      'x-csrf-token': token,
      'content-type': 'text/plain',
    });
    expect(plain.status).toBe(415);
    expect(await plain.json()).toMatchObject({ code: 'CHAT_ERR_UNSUPPORTED_MEDIA_TYPE' });

    for (const [what, headers] of [
      ['another origin', { ...json, origin: 'https://evil.example', 'x-csrf-token': token }],
      ['no origin', { ...json, 'x-csrf-token': token }],
      ['no token', { ...json, origin: server.origin }],
      ['a wrong token', { ...json, origin: server.origin, 'x-csrf-token': `${token}x` }],
    ] as const) {
      const refused = await post(headers);
      expect(refused.status, what).toBe(403);
      expect(await refused.json(), what).toMatchObject({ code: 'CHAT_ERR_CSRF' });
    }
  });

  it('makes the first administrator through the setup link the server logged, once', async () => {
    const fresh = await startServer();
    try {
      const line = await fresh.waitForLog('/setup#token=');
      const link =
        /(http:\/\/localhost:\d+\/setup#token=[A-Za-z0-9_-]+)/.exec(line.msg ?? '')?.[1] ?? '';
      expect(link.startsWith(`${fresh.origin}/setup#token=`), line.msg).toBe(true);
      await page.goto(link);
      await page.getByRole('heading', { name: 'Create the administrator account' }).waitFor();
      await page.getByLabel('Username').fill('chief');
      await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
      await page.getByLabel('Confirm password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('main', { name: 'Conversation' }).waitFor();
      await page.getByRole('button', { name: 'Account menu' }).click();
      await page.getByRole('menuitem', { name: 'Admin' }).click();
      await page.getByRole('heading', { name: 'Administration' }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/admin');

      // The same link again, in a browser that is not signed in: refused.
      await context.clearCookies();
      await page.goto(link);
      await page.getByLabel('Username').fill('chief2');
      await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
      await page.getByLabel('Confirm password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await expect.poll(alertText(page)).toContain('setup link is not valid');
      expect(await page.getByRole('main', { name: 'Conversation' }).count()).toBe(0);
      // No second administrator, nor any account, was made.
      await signIn(page, fresh.origin, 'chief2');
      await expect.poll(alertText(page)).toBe('Wrong username or password.');
      expect(fresh.stdout.filter((l) => l.includes('/setup#token=')).length).toBe(1);

      // After a restart there is an administrator: no new link; and sessions survive it.
      await signIn(page, fresh.origin, 'chief');
      await page.getByRole('main', { name: 'Conversation' }).waitFor();
      await fresh.restart();
      await fresh.waitForLog('ready');
      await page.reload();
      await page.getByRole('main', { name: 'Conversation' }).waitFor();
      await page.getByRole('button', { name: 'Account menu' }).click();
      await page.getByRole('menuitem', { name: 'Admin' }).waitFor();
      expect(fresh.stdout.filter((l) => l.includes('/setup#token='))).toEqual([]);
    } finally {
      await fresh.stop();
    }
  });
});

describe.skipIf(!chromiumPath())('login rate limit in the browser', () => {
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    server = await startServer(); // the default limit: 5 sign-in attempts a minute
    browser = await launch();
    ({ context, page } = await newPage(browser));
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await screenshotOnFailure(page, task);
  });

  it('answers the 6th sign-in attempt in a minute with "Too many" and 429 + Retry-After', async () => {
    const username = uniqueName('jack');
    const attempts: { status: number; retryAfter: string | undefined }[] = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname === '/api/auth/login/start') {
        attempts.push({
          status: response.status(),
          retryAfter: response.headers()['retry-after'],
        });
      }
    });
    // Registering signs in too, which is an attempt on this account from this address.
    await register(page, server.origin, username);
    await page.getByRole('main', { name: 'Conversation' }).waitFor();
    await context.clearCookies();
    while (attempts.length < 5) {
      await signIn(page, server.origin, username, `wrong guess number ${attempts.length}`);
      await expect.poll(alertText(page)).toBe('Wrong username or password.');
    }
    expect(attempts.map((a) => a.status)).not.toContain(429);

    // The 6th, even with the right password, is refused.
    await signIn(page, server.origin, username);
    await expect.poll(alertText(page)).toContain('Too many');
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(attempts).toHaveLength(6);
    const last = attempts.at(-1);
    expect(last?.status).toBe(429);
    expect(Number(last?.retryAfter)).toBeGreaterThan(0);
    expect(Number(last?.retryAfter)).toBeLessThanOrEqual(60);
  });
});

describe('configuration', () => {
  it('refuses a bad value: exits non-zero with one stderr line naming the variable', async () => {
    const port = String(await freePort());
    for (const [name, value, expected] of [
      ['PORT', 'abc', 'PORT must be a whole number from 1 to 65535'],
      ['REGISTRATION', 'maybe', 'REGISTRATION must be one of open, invite'],
      ['PUBLIC_ORIGIN', 'ftp://x', 'PUBLIC_ORIGIN must be an origin'],
      ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of'],
    ] as const) {
      const { code, stdout, stderr } = await runServerToExit({ PORT: port, [name]: value });
      expect(code, name).not.toBe(0);
      expect(stderr.trim().split('\n'), name).toHaveLength(1);
      expect(stderr, name).toContain(expected);
      expect(stdout, name).toBe('');
    }
  });
});
