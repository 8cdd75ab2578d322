/**
 * Security headers, asserted on real responses of every kind: pages, assets, API answers,
 * refusals, 404s, 405s, crashes and the answers written below the router.
 */
import { ApiRoutes } from '@securechat/protocol';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baselineHeaders } from '../src/plugins/security.js';
import {
  createPlatformApp,
  csrfFor,
  fakeWebBuild,
  ORIGIN,
  portOf,
  rawExchange,
  rawHeaders,
  type PlatformApp,
} from './support/platform.js';

const EXPECTED_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self' ws://localhost:3000",
  "media-src 'self' blob:",
  "worker-src 'self' blob:",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "frame-src 'none'",
].join(';');

type Headers = Record<string, string | string[] | number | undefined>;

function expectSecurityHeaders(headers: Headers, what: string): void {
  expect(headers['content-security-policy'], what).toBe(EXPECTED_CSP);
  expect(headers['x-content-type-options'], what).toBe('nosniff');
  expect(headers['x-frame-options'], what).toBe('DENY');
  expect(headers['referrer-policy'], what).toBe('no-referrer');
  expect(headers['cross-origin-opener-policy'], what).toBe('same-origin');
  expect(headers['cross-origin-resource-policy'], what).toBe('same-origin');
  expect(headers['origin-agent-cluster'], what).toBe('?1');
  const permissions = String(headers['permissions-policy']);
  for (const feature of [
    'camera',
    'microphone',
    'geolocation',
    'payment',
    'usb',
    'interest-cohort',
    'browsing-topics',
  ]) {
    expect(permissions, `${what}: ${feature}`).toContain(`${feature}=()`);
  }
  expect(headers['x-powered-by'], what).toBeUndefined();
  expect(headers.server, what).toBe('SecureChat');
  expect(headers['strict-transport-security'], what).toBeUndefined();
  for (const [name, value] of Object.entries(headers)) {
    expect(`${name}: ${String(value)}`, what).not.toMatch(/fastify|express|node\.js|pino|helmet/i);
  }
}

describe('security headers', () => {
  let t: PlatformApp;
  let csrf: { token: string; cookie: string };
  beforeAll(async () => {
    t = await createPlatformApp('sqlite', {
      webRoot: fakeWebBuild(),
      env: { RATE_LIMIT_API_PER_MINUTE: '200' },
      routes: (app) => {
        app.get('/api/test/crash', () => {
          throw new Error('boom');
        });
      },
    });
    csrf = await csrfFor(t.app);
  });
  afterAll(() => t.close());

  it('are on pages, assets, API answers, refusals, 404s, 405s and crashes', async () => {
    const cases: [string, InjectOptions, number][] = [
      ['index', { url: '/', headers: { accept: 'text/html' } }, 200],
      ['spa route', { url: '/login', headers: { accept: 'text/html' } }, 200],
      ['hashed asset', { url: '/assets/app-3f9a1c.js' }, 200],
      ['wasm', { url: '/assets/opaque-77aa01.wasm' }, 200],
      ['static file', { url: '/favicon.svg' }, 200],
      ['api', { url: ApiRoutes.server }, 200],
      ['csrf token', { url: ApiRoutes.csrf }, 200],
      ['api 404 json', { url: '/api/nope' }, 404],
      ['api 404 html', { url: '/api/nope', headers: { accept: 'text/html' } }, 404],
      ['missing asset', { url: '/assets/gone-000000.js', headers: { accept: 'text/html' } }, 404],
      ['405', { url: ApiRoutes.logout }, 405],
      ['500', { url: '/api/test/crash' }, 500],
      ['500 html', { url: '/api/test/crash', headers: { accept: 'text/html' } }, 500],
      ['csrf refusal', { method: 'POST', url: ApiRoutes.logout, payload: {} }, 403],
      [
        '415',
        {
          method: 'POST',
          url: ApiRoutes.logout,
          payload: 'x',
          headers: {
            'content-type': 'text/plain',
            origin: ORIGIN,
            cookie: csrf.cookie,
            'x-csrf-token': csrf.token,
          },
        },
        415,
      ],
      ['bad url', { url: '/api/%zz' }, 400],
      ['head', { method: 'HEAD', url: ApiRoutes.server }, 200],
    ];
    for (const [what, request, status] of cases) {
      const response = await t.app.inject(request);
      expect(response.statusCode, what).toBe(status);
      expectSecurityHeaders(response.headers, what);
    }
  });

  it('say no-store on every /api answer, and let assets be cached', async () => {
    for (const url of ['/api', '/api?x=1', ApiRoutes.server, ApiRoutes.csrf, '/api/nope']) {
      expect((await t.app.inject({ url })).headers['cache-control'], url).toBe('no-store');
    }
    expect((await t.app.inject({ url: '/assets/app-3f9a1c.js' })).headers['cache-control']).toBe(
      'public, max-age=31536000, immutable',
    );
  });

  it('are the same, header for header, on answers written before any hook runs', async () => {
    const normal = await t.app.inject({ url: '/api/nope' });
    const baseline = baselineHeaders(t.config);
    for (const [name, value] of Object.entries(baseline)) {
      expect(normal.headers[name], name).toBe(value);
    }
    // And every security header a normal answer carries is in the baseline.
    for (const name of Object.keys(normal.headers)) {
      if (
        /^(x-(?!ratelimit)|content-security|cross-origin|origin-agent|referrer|permissions)/.test(
          name,
        )
      )
        expect(baseline, name).toHaveProperty(name);
    }
  });

  it('are on the answers to requests the HTTP parser refuses', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { received } = await rawExchange(portOf(t.app), (s) => s.write('BROKEN\r\n\r\n'));
    const { status, headers } = rawHeaders(received);
    expect(status).toBe(400);
    expectSecurityHeaders(headers, 'parser refusal');
  });
});

describe('security headers behind https', () => {
  let t: PlatformApp;
  beforeAll(async () => {
    t = await createPlatformApp('sqlite', { env: { PUBLIC_ORIGIN: 'https://chat.example.org' } });
  });
  afterAll(() => t.close());

  it('add HSTS and upgrade-insecure-requests, and point WebSockets at wss', async () => {
    for (const url of [ApiRoutes.server, '/api/nope']) {
      const response = await t.app.inject({ url });
      expect(response.headers['strict-transport-security']).toBe(
        'max-age=63072000; includeSubDomains',
      );
      const csp = String(response.headers['content-security-policy']);
      expect(csp).toContain("connect-src 'self' wss://chat.example.org;");
      expect(csp).toMatch(/;upgrade-insecure-requests$/);
    }
  });
});
