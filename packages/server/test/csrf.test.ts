/**
 * CSRF: state-changing API requests need our Origin (or Sec-Fetch-Site: same-origin) and the
 * token from GET /api/csrf that matches the signed `__Host-sc_csrf` cookie.
 */
import { ApiRoutes, CSRF_HEADER } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSRF_COOKIE, isSameOrigin } from '../src/plugins/csrf.js';
import { signedIn } from './support/client.js';
import { describeEachDialect } from './support/harness.js';
import { createPlatformApp, csrfFor, ORIGIN, type PlatformApp } from './support/platform.js';

describe('isSameOrigin', () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['our Origin', { origin: ORIGIN }, true],
    ['our Origin, same-origin fetch', { origin: ORIGIN, 'sec-fetch-site': 'same-origin' }, true],
    ['our Origin, typed address', { origin: ORIGIN, 'sec-fetch-site': 'none' }, true],
    ['no Origin, same-origin fetch', { 'sec-fetch-site': 'same-origin' }, true],
    ['another Origin', { origin: 'https://evil.example' }, false],
    ['our host, other scheme', { origin: 'https://localhost:3000' }, false],
    ['our host, other port', { origin: 'http://localhost:3001' }, false],
    ['a prefix of ours', { origin: 'http://localhost:30000' }, false],
    ['null Origin', { origin: 'null' }, false],
    ['our Origin but cross-site fetch', { origin: ORIGIN, 'sec-fetch-site': 'cross-site' }, false],
    ['our Origin but same-site fetch', { origin: ORIGIN, 'sec-fetch-site': 'same-site' }, false],
    ['no Origin, cross-site fetch', { 'sec-fetch-site': 'cross-site' }, false],
    ['no Origin, typed address', { 'sec-fetch-site': 'none' }, false],
    ['neither', {}, false],
  ];
  it.each(cases)('%s', (_what, headers, expected) => {
    expect(isSameOrigin(headers, ORIGIN)).toBe(expected);
  });
});

describeEachDialect('CSRF', (dialect) => {
  let t: PlatformApp;
  beforeAll(async () => {
    t = await createPlatformApp(dialect);
  });
  afterAll(() => t.close());

  const send = (
    method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    headers: Record<string, string>,
  ) =>
    t.app.inject({
      method,
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: '{}',
    });
  const logout = (headers: Record<string, string>) => send('POST', ApiRoutes.logout, headers);

  it('hands out a token with a __Host- cookie: HttpOnly, Secure, SameSite=Strict, Path=/, signed', async () => {
    const response = await t.app.inject({ url: ApiRoutes.csrf });
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json<{ token: string }>();
    expect(Object.keys(body)).toEqual(['token']);
    expect(body.token.length).toBeGreaterThan(20);
    const setCookie = String(response.headers['set-cookie']);
    expect(setCookie).toMatch(/^__Host-sc_csrf=/);
    expect(setCookie).toContain('Path=/');
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('Secure');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain('Domain=');
    const cookie = response.cookies.find((c) => c.name === CSRF_COOKIE);
    // Signed by @fastify/cookie: value.signature.
    expect(cookie?.value).toMatch(/^[^.]+\..+$/);
  });

  it('lets a same-origin request with its token through', async () => {
    const { token, cookie } = await csrfFor(t.app);
    expect((await logout({ origin: ORIGIN, [CSRF_HEADER]: token, cookie })).statusCode).toBe(204);
    // A browser that sends no Origin but says same-origin is believed too.
    expect(
      (await logout({ 'sec-fetch-site': 'same-origin', [CSRF_HEADER]: token, cookie })).statusCode,
    ).toBe(204);
  });

  it('keeps the secret across token requests, so any token of the session works', async () => {
    const first = await csrfFor(t.app);
    const again = await t.app.inject({ url: ApiRoutes.csrf, headers: { cookie: first.cookie } });
    const second = again.json<{ token: string }>().token;
    expect(again.cookies.find((c) => c.name === CSRF_COOKIE)).toBeUndefined();
    expect(
      (await logout({ origin: ORIGIN, [CSRF_HEADER]: second, cookie: first.cookie })).statusCode,
    ).toBe(204);
  });

  it('refuses a cross-origin request even with a valid token', async () => {
    const { token, cookie } = await csrfFor(t.app);
    for (const origin of ['https://evil.example', 'null', 'http://localhost:3000.evil.example']) {
      const response = await logout({ origin, [CSRF_HEADER]: token, cookie });
      expect(response.statusCode, origin).toBe(403);
      expect(response.json()).toEqual({
        code: 'CHAT_ERR_CSRF',
        message: 'The request was refused: it did not come from this site.',
      });
    }
  });

  it('refuses a cross-site or same-site Sec-Fetch-Site, and a request with no origin at all', async () => {
    const { token, cookie } = await csrfFor(t.app);
    const attempts: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: ORIGIN, 'sec-fetch-site': 'cross-site' },
      {},
    ];
    for (const headers of attempts) {
      const response = await logout({ ...headers, [CSRF_HEADER]: token, cookie });
      expect(response.statusCode, JSON.stringify(headers)).toBe(403);
      expect(response.json()).toMatchObject({ code: 'CHAT_ERR_CSRF' });
    }
  });

  it('refuses a same-origin request without a token, with a forged one, or without the cookie', async () => {
    const { token, cookie } = await csrfFor(t.app);
    const other = await csrfFor(t.app);
    const attempts: [string, Record<string, string>][] = [
      ['no token', { cookie }],
      ['forged token', { cookie, [CSRF_HEADER]: 'forged' }],
      ['no cookie', { [CSRF_HEADER]: token }],
      ["another cookie's token", { cookie, [CSRF_HEADER]: other.token }],
      ['unsigned cookie', { cookie: cookie.replace(/\.[^.]+$/, ''), [CSRF_HEADER]: token }],
      ['token in the query only', { cookie }],
    ];
    for (const [what, headers] of attempts) {
      const response = await t.app.inject({
        method: 'POST',
        url:
          what === 'token in the query only'
            ? `${ApiRoutes.logout}?_csrf=${token}`
            : ApiRoutes.logout,
        headers: { 'content-type': 'application/json', origin: ORIGIN, ...headers },
        payload: '{}',
      });
      expect(response.statusCode, what).toBe(403);
      expect(response.json(), what).toMatchObject({ code: 'CHAT_ERR_CSRF' });
    }
  });

  it('guards by route, not by spelling: an encoded, doubled, slashed or cased path is refused', async () => {
    // A signed-in user whose session a forged request tries to end, whose device it tries to
    // remove, and for whom it tries to start things: each spelling either reaches a route of
    // the API scope and is refused there (403), or reaches no route at all (404/405).
    const victim = await signedIn(t.app, 'victim');
    const session = () => victim.get(ApiRoutes.session);
    const deviceId = (await session()).json<{ device: { id: string } }>().device.id;
    const cookie = `__Host-sc_session=${victim.cookie('__Host-sc_session') ?? ''}`;
    const routed: [string, string][] = [
      ['POST', '/%61pi/auth/logout'],
      ['POST', '/api/%61uth/logout'],
      ['POST', '/api/auth/%6cogout'],
      ['POST', '/api/auth/%6Cogout'],
      ['POST', '/%61%70%69/%61%75%74%68/%6c%6f%67%6f%75%74'],
      ['POST', '/api/auth/logout?x=/not-api'],
      ['POST', '/%61pi/auth/login/start'],
      ['POST', '/api/%61uth/register/start'],
      ['POST', '/%61pi/account/password/finish'],
      ['POST', '/%61pi/admin/invites'],
      ['DELETE', `/%61pi/devices/${deviceId}`],
      ['DELETE', `/api/%64evices/${deviceId}`],
      ['POST', '/%61pi/no-such-route'],
    ];
    const unrouted: [string, string][] = [
      ['POST', '//api/auth/logout'],
      ['POST', '/api//auth/logout'],
      ['POST', '/api/auth/logout/'],
      ['POST', '/api/auth//logout'],
      ['POST', '/API/auth/logout'],
      ['POST', '/Api/Auth/Logout'],
      ['POST', '/api/auth/LOGOUT'],
      ['POST', '/%2561pi/auth/logout'],
      ['DELETE', `//api/devices/${deviceId}`],
      ['DELETE', `/api/devices/${deviceId}/`],
    ];
    const forge = (method: string, url: string, headers: Record<string, string>) =>
      t.app.inject({
        method: method as 'POST' | 'DELETE',
        url,
        headers: { 'content-type': 'application/json', cookie, ...headers },
        payload: '{}',
      });
    // Without Origin and token; then with our Origin but no token; then with the token but a
    // foreign Origin.
    const { token, cookie: csrfCookie } = await csrfFor(t.app);
    const attempts: Record<string, string>[] = [
      {},
      { origin: ORIGIN },
      { origin: 'https://evil.example', [CSRF_HEADER]: token, cookie: `${cookie}; ${csrfCookie}` },
    ];
    for (const headers of attempts) {
      for (const [method, url] of routed) {
        const response = await forge(method, url, headers);
        expect(response.statusCode, `${method} ${url}`).toBe(403);
        expect(response.json(), `${method} ${url}`).toMatchObject({ code: 'CHAT_ERR_CSRF' });
      }
      for (const [method, url] of unrouted) {
        const response = await forge(method, url, headers);
        expect([403, 404, 405], `${method} ${url}: ${response.statusCode}`).toContain(
          response.statusCode,
        );
      }
    }
    // Nothing happened: the session and its device are still there.
    expect((await session()).statusCode).toBe(200);
    expect(
      (await victim.get(ApiRoutes.devices)).json<{ devices: unknown[] }>().devices,
    ).toHaveLength(1);
    // And the real thing, spelled plainly or not, still works with Origin and token.
    expect((await victim.send('POST', '/%61pi/auth/logout', {})).statusCode).toBe(204);
    expect((await session()).statusCode).toBe(401);
  });

  it('guards every state-changing method under /api, but not reads', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const response = await send(method, '/api/devices/abc', { origin: ORIGIN });
      expect(response.statusCode, method).toBe(403);
      expect(response.json(), method).toMatchObject({ code: 'CHAT_ERR_CSRF' });
    }
    expect((await t.app.inject({ url: ApiRoutes.server })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'HEAD', url: ApiRoutes.server })).statusCode).toBe(200);
  });
});
