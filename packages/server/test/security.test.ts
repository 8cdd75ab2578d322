import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './support/harness.js';

const ORIGIN = 'http://localhost:3000';

function webRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'securechat-web-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>app</title><div id="root"></div>');
  writeFileSync(join(root, 'assets', 'app-abc123.js'), 'console.log(1)');
  writeFileSync(join(root, '.env'), 'SECRET=1');
  return root;
}

function expectSecurityHeaders(headers: Record<string, unknown>): void {
  const csp = String(headers['content-security-policy']);
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  expect(csp).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain("'unsafe-eval'");
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['referrer-policy']).toBe('no-referrer');
  expect(headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(headers['cross-origin-resource-policy']).toBe('same-origin');
  expect(String(headers['permissions-policy'])).toContain('camera=()');
  expect(headers['x-powered-by']).toBeUndefined();
  expect(headers.server).toBe('SecureChat');
  expect(headers['strict-transport-security']).toBeUndefined();
}

describe('security baseline', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { webRoot: webRoot() });
  });
  afterAll(() => t.close());

  it('sends the security headers on pages, assets, API answers, errors and 404s', async () => {
    for (const [url, accept] of [
      ['/', 'text/html'],
      ['/login', 'text/html'],
      ['/assets/app-abc123.js', '*/*'],
      ['/api/server', 'application/json'],
      ['/api/nope', 'application/json'],
      ['/api/nope', 'text/html'],
    ] as const) {
      const response = await t.app.inject({ url, headers: { accept } });
      expectSecurityHeaders(response.headers);
    }
  });

  it('serves the single-page app for page routes and caches hashed assets for a year', async () => {
    const page = await t.app.inject({ url: '/devices', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<div id="root">');
    expect(page.headers['cache-control']).toBe('no-cache');
    const asset = await t.app.inject({ url: '/assets/app-abc123.js' });
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const dotfile = await t.app.inject({ url: '/.env' });
    expect(dotfile.statusCode).toBe(404);
    expect(dotfile.body).not.toContain('SECRET');
  });

  it('answers unknown API paths with a JSON 404 that names no framework', async () => {
    const response = await t.app.inject({ url: '/api/does-not-exist' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ code: 'CHAT_ERR_NOT_FOUND', message: 'Not found.' });
    expect(response.body).not.toMatch(/fastify|FST_|Route GET/i);
  });

  it('gives browsers a designed HTML 404 page', async () => {
    const response = await t.app.inject({ url: '/api/missing', headers: { accept: 'text/html' } });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.body).toContain('Page not found');
    expect(response.body).not.toContain('<script');
  });

  it('refuses a text/plain body (the cross-site form trick) with 415', async () => {
    const csrf = await t.app.inject({ url: '/api/csrf' });
    const cookie = csrf.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: {
        'content-type': 'text/plain',
        origin: ORIGIN,
        cookie,
        'x-csrf-token': csrf.json<{ token: string }>().token,
      },
      payload: '{}',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ code: 'CHAT_ERR_UNSUPPORTED_MEDIA_TYPE' });
  });
});

describe('CSRF', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
  });
  afterAll(() => t.close());

  async function token(): Promise<{ token: string; cookie: string }> {
    const response = await t.app.inject({ url: '/api/csrf' });
    expect(response.statusCode).toBe(200);
    const cookie = response.cookies.find((c) => c.name === '__Host-sc_csrf');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    return {
      token: response.json<{ token: string }>().token,
      cookie: `${cookie?.name}=${cookie?.value}`,
    };
  }

  const post = (headers: Record<string, string>) =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { 'content-type': 'application/json', ...headers },
      payload: '{}',
    });

  it('refuses a cross-origin POST even with a valid token', async () => {
    const { token: csrf, cookie } = await token();
    const response = await post({ origin: 'https://evil.example', 'x-csrf-token': csrf, cookie });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'CHAT_ERR_CSRF' });
  });

  it('refuses a cross-site Sec-Fetch-Site and a request with no origin at all', async () => {
    const { token: csrf, cookie } = await token();
    expect(
      (await post({ 'sec-fetch-site': 'cross-site', 'x-csrf-token': csrf, cookie })).statusCode,
    ).toBe(403);
    expect((await post({ 'x-csrf-token': csrf, cookie })).statusCode).toBe(403);
  });

  it('refuses a same-origin POST without a token or with a wrong one', async () => {
    const { cookie } = await token();
    expect((await post({ origin: ORIGIN, cookie })).json()).toMatchObject({
      code: 'CHAT_ERR_CSRF',
    });
    expect((await post({ origin: ORIGIN, cookie, 'x-csrf-token': 'forged' })).statusCode).toBe(403);
  });

  it('lets a same-origin POST with its token through', async () => {
    const { token: csrf, cookie } = await token();
    const response = await post({ origin: ORIGIN, 'x-csrf-token': csrf, cookie });
    expect(response.statusCode).not.toBe(403);
  });
});
