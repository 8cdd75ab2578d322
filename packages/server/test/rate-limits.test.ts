/**
 * Per-address limits and the address they are keyed on: the socket's peer, unless that peer is
 * a configured trusted proxy. A forged X-Forwarded-For buys nothing.
 */
import { ApiRoutes, ChatError, Limits } from '@securechat/protocol';
import { addressKey } from '../src/domain/address.js';
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

describe('the address key', () => {
  const cases: [string, string][] = [
    ['203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8::', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4::/64'],
    ['1::4:5:6:7:8', '1:0:0:4::/64'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::ffff:c000:0201', '192.0.2.1'],
    ['0:0:0:0:0:ffff:192.0.2.1', '192.0.2.1'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['not an address', 'not an address'],
  ];
  it.each(cases)('%s → %s', (ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });
});

describe('the per-address API limit over IPv6', () => {
  it('counts every address of one /64 together, and an IPv4-mapped address as its IPv4', async () => {
    const app = await appWith();
    for (let i = 0; i < LIMIT; i += 1) {
      expect((await hit(app, `2001:db8:aa:bb::${(i + 1).toString(16)}`)).statusCode).toBe(200);
    }
    expect((await hit(app, '2001:db8:aa:bb:1234:5678:9abc:def0')).statusCode).toBe(429);
    expect((await hit(app, '2001:db8:aa:bc::1')).statusCode).toBe(200);
    for (let i = 0; i < LIMIT; i += 1) await hit(app, '203.0.113.50');
    expect((await hit(app, '::ffff:203.0.113.50')).statusCode).toBe(429);
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

  it('charge the account from this address, the address, and a looser ceiling for the account', async () => {
    const app = await appWith({ RATE_LIMIT_LOGIN_PER_MINUTE: '3' });
    const { limits } = app.app;
    // One address tries one account: its budget for that account runs out…
    for (let i = 0; i < 3; i += 1) await limits.login('198.51.100.1', 'alice');
    const byPair = await refusal(() => limits.login('198.51.100.1', 'alice'));
    expect(byPair).toBeInstanceOf(ChatError);
    expect(byPair?.code).toBe('CHAT_ERR_RATE_LIMITED');
    expect(byPair?.retryAfter).toBeGreaterThan(0);
    // …and keeps being refused, without spending the account's ceiling.
    for (let i = 0; i < 100; i += 1) await refusal(() => limits.login('198.51.100.1', 'alice'));
    // So alice, elsewhere, still signs in.
    expect(await refusal(() => limits.login('192.0.2.10', 'alice'))).toBeNull();
    // Many addresses together reach the account's ceiling.
    const ceiling = Limits.LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE;
    let spent = 4;
    for (let a = 0; spent < ceiling; a += 1) {
      for (let i = 0; i < 3 && spent < ceiling; i += 1, spent += 1) {
        await limits.login(`203.0.113.${a}`, 'alice');
      }
    }
    expect((await refusal(() => limits.login('192.0.2.99', 'alice')))?.code).toBe(
      'CHAT_ERR_RATE_LIMITED',
    );
    // One address tries several accounts: the address's budget runs out.
    for (const user of ['bob', 'carol', 'dave']) await limits.login('198.51.100.9', user);
    expect((await refusal(() => limits.login('198.51.100.9', 'erin')))?.code).toBe(
      'CHAT_ERR_RATE_LIMITED',
    );
    // Someone else, elsewhere, is unaffected.
    expect(await refusal(() => limits.login('198.51.100.10', 'frank'))).toBeNull();
  });

  it('key an IPv6 client by its /64 and an IPv4-mapped one as IPv4', async () => {
    const app = await appWith({ RATE_LIMIT_LOGIN_PER_MINUTE: '2' });
    const { limits } = app.app;
    // Two addresses of one /64 (say, privacy addresses of one host) share one budget.
    await limits.login('2001:db8:1:2::1', 'gina');
    await limits.login('2001:db8:1:2:ffff:ffff:ffff:fffe', 'gina');
    expect((await refusal(() => limits.login('2001:0db8:0001:0002:0::9', 'gina')))?.code).toBe(
      'CHAT_ERR_RATE_LIMITED',
    );
    // The next /64 is another client.
    expect(await refusal(() => limits.login('2001:db8:1:3::1', 'gina'))).toBeNull();
    // An IPv4 peer seen through a dual-stack socket is the IPv4 address.
    await limits.login('198.51.100.40', 'hank');
    await limits.login('::ffff:198.51.100.40', 'hank');
    expect((await refusal(() => limits.login('::FFFF:c633:6428', 'hank')))?.code).toBe(
      'CHAT_ERR_RATE_LIMITED',
    );
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
