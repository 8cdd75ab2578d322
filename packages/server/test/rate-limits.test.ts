/**
 * Per-address limits and the address they are keyed on: the socket's peer, unless that peer is
 * a configured trusted proxy. A forged X-Forwarded-For buys nothing.
 */
import { ApiRoutes, ChatError } from '@securechat/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createPlatformApp, type PlatformApp } from './support/platform.js';

const LIMIT = 10;

let t: PlatformApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function appWith(env: Record<string, string> = {}): Promise<PlatformApp> {
  t = await createPlatformApp('sqlite', {
    env: { RATE_LIMIT_API_PER_MINUTE: String(LIMIT), ...env },
  });
  return t;
}

/** The client address the server logged for each request to `url`. */
function loggedAddresses(app: PlatformApp, url: string): string[] {
  return app.logs
    .records()
    .filter((r) => r.msg === 'incoming request')
    .map((r) => r.req as { url: string; remoteAddress: string })
    .filter((req) => req.url === url)
    .map((req) => req.remoteAddress);
}

function hit(
  app: PlatformApp,
  remoteAddress: string,
  forwardedFor?: string,
  url: string = ApiRoutes.server,
) {
  return app.app.inject({
    url,
    remoteAddress,
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  });
}

describe('the per-address API limit', () => {
  it('answers 429 in our format, with Retry-After, once the budget is spent', async () => {
    const app = await appWith();
    for (let i = 0; i < LIMIT; i += 1) {
      expect((await hit(app, '203.0.113.7')).statusCode).toBe(200);
    }
    const refused = await hit(app, '203.0.113.7');
    expect(refused.statusCode).toBe(429);
    const body = refused.json<{ code: string; retryAfter: number }>();
    expect(body.code).toBe('CHAT_ERR_RATE_LIMITED');
    expect(body.retryAfter).toBeGreaterThan(0);
    expect(body.retryAfter).toBeLessThanOrEqual(60);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers.server).toBe('SecureChat');
    // Another address still has its own budget.
    expect((await hit(app, '203.0.113.8')).statusCode).toBe(200);
  });

  it('counts misses and refusals too: a scanner gets no free requests', async () => {
    const app = await appWith();
    for (let i = 0; i < LIMIT / 2; i += 1) {
      expect((await hit(app, '203.0.113.9', undefined, `/api/probe-${i}`)).statusCode).toBe(404);
      const refused = await app.app.inject({
        method: 'DELETE',
        url: `/api/probe-${i}`,
        remoteAddress: '203.0.113.9',
      });
      expect(refused.statusCode).toBe(403);
    }
    const limited = await app.app.inject({
      method: 'POST',
      url: '/api/anything',
      remoteAddress: '203.0.113.9',
    });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-security-policy']).toBeDefined();
    expect((await hit(app, '203.0.113.9')).statusCode).toBe(429);
  });
});

describe('without TRUST_PROXY', () => {
  it('ignores a forged X-Forwarded-For: request.ip stays the peer and the limit holds', async () => {
    const app = await appWith();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i += 1) {
      statuses.push((await hit(app, '203.0.113.7', `198.51.100.${i}`)).statusCode);
    }
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429, 429]);
    const addresses = loggedAddresses(app, ApiRoutes.server);
    expect(addresses).toHaveLength(LIMIT + 2);
    expect(new Set(addresses)).toEqual(new Set(['203.0.113.7']));
  });
});

describe('with TRUST_PROXY', () => {
  it('uses the forwarded address for requests that come through the proxy', async () => {
    const app = await appWith({ TRUST_PROXY: '127.0.0.1' });
    for (let i = 0; i < LIMIT + 2; i += 1) {
      expect((await hit(app, '127.0.0.1', `198.51.100.${i}`)).statusCode).toBe(200);
    }
    expect(loggedAddresses(app, ApiRoutes.server)).toEqual(
      Array.from({ length: LIMIT + 2 }, (_, i) => `198.51.100.${i}`),
    );
    // The client behind the proxy is limited by its own address.
    for (let i = 0; i < LIMIT - 1; i += 1) await hit(app, '127.0.0.1', '198.51.100.0');
    expect((await hit(app, '127.0.0.1', '198.51.100.0')).statusCode).toBe(429);
  });

  it('takes only the hop the proxy added, not what the client claimed before it', async () => {
    const app = await appWith({ TRUST_PROXY: '127.0.0.1' });
    await hit(app, '127.0.0.1', '10.9.9.9, 198.51.100.77');
    expect(loggedAddresses(app, ApiRoutes.server)).toEqual(['198.51.100.77']);
  });

  it('still ignores X-Forwarded-For from a peer that is not the proxy', async () => {
    const app = await appWith({ TRUST_PROXY: '127.0.0.1' });
    for (let i = 0; i < LIMIT; i += 1) await hit(app, '203.0.113.7', `198.51.100.${i}`);
    expect((await hit(app, '203.0.113.7', '198.51.100.200')).statusCode).toBe(429);
    expect(new Set(loggedAddresses(app, ApiRoutes.server))).toEqual(new Set(['203.0.113.7']));
  });

  it('takes CIDR ranges', async () => {
    const app = await appWith({ TRUST_PROXY: '10.0.0.0/8' });
    await hit(app, '10.20.30.40', '198.51.100.5');
    expect(loggedAddresses(app, ApiRoutes.server)).toEqual(['198.51.100.5']);
  });
});

describe('login and registration limits', () => {
  async function refusal(attempt: () => Promise<void>): Promise<ChatError | null> {
    try {
      await attempt();
      return null;
    } catch (error) {
      return error as ChatError;
    }
  }

  it('charge both the account and the address for each login attempt', async () => {
    const app = await appWith({ RATE_LIMIT_LOGIN_PER_MINUTE: '3' });
    const { limits } = app.app;
    // Three addresses try one account: the account's budget runs out.
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      await limits.login(ip, 'alice');
    }
    const byAccount = await refusal(() => limits.login('198.51.100.4', 'alice'));
    expect(byAccount).toBeInstanceOf(ChatError);
    expect(byAccount?.code).toBe('CHAT_ERR_RATE_LIMITED');
    expect(byAccount?.retryAfter).toBeGreaterThan(0);
    // One address tries several accounts: the address's budget runs out.
    for (const user of ['bob', 'carol', 'dave']) await limits.login('198.51.100.9', user);
    expect((await refusal(() => limits.login('198.51.100.9', 'erin')))?.code).toBe(
      'CHAT_ERR_RATE_LIMITED',
    );
    // Someone else, elsewhere, is unaffected.
    expect(await refusal(() => limits.login('198.51.100.10', 'frank'))).toBeNull();
  });

  it('limit registrations per address', async () => {
    const app = await appWith({ RATE_LIMIT_REGISTRATIONS_PER_HOUR: '2' });
    const { limits } = app.app;
    await limits.registration('198.51.100.1');
    await limits.registration('198.51.100.1');
    const refused = await refusal(() => limits.registration('198.51.100.1'));
    expect(refused?.code).toBe('CHAT_ERR_RATE_LIMITED');
    expect(refused?.retryAfter).toBeGreaterThan(60);
    expect(await refusal(() => limits.registration('198.51.100.2'))).toBeNull();
  });
});
