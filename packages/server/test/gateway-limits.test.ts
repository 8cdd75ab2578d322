/**
 * The gateway's limits on real sockets: the per-user connection cap under concurrent
 * upgrades, on one node and over two nodes sharing Redis and a database; the upgrades'
 * own per-address budget, apart from the API's.
 */
import { randomBytes } from 'node:crypto';
import { Limits } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../test-support/net.js';
import { until } from '../../../test-support/until.js';
import { buildApp, type App } from '../src/app.js';
import { openStorage } from '../src/storage/db.js';
import { ORIGIN, signedIn, type TestClient } from './support/client.js';
import { createTestApp, type TestApp } from './support/harness.js';

/** Open a socket: 'open', or the HTTP status of the refusal. */
function upgrade(port: number, client: TestClient | null): Promise<WebSocket | number> {
  const cookie = client ? `__Host-sc_session=${client.cookie('__Host-sc_session')}` : '';
  const socket = new WebSocket(`ws://127.0.0.1:${port}/api/ws`, {
    headers: { origin: ORIGIN, ...(cookie ? { cookie } : {}) },
  });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.once('error', reject);
  });
}

const opened = (results: (WebSocket | number)[]) =>
  results.filter((r): r is WebSocket => r instanceof WebSocket);

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.readyState === WebSocket.CLOSED) resolve();
          else {
            s.once('close', () => resolve());
            s.close();
          }
        }),
    ),
  );
}

const MAX = Limits.CONNECTIONS_PER_USER_MAX;

describe('the per-user connection cap, on one node', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { env: { RATE_LIMIT_LOGIN_PER_MINUTE: '100' } });
    port = await freePort();
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  it('holds when upgrades race, and frees a slot when a socket closes', async () => {
    const erin = await signedIn(t.app, 'erin');
    const results = await Promise.all(Array.from({ length: MAX + 10 }, () => upgrade(port, erin)));
    const sockets = opened(results);
    try {
      expect(sockets).toHaveLength(MAX);
      expect(results.filter((r) => r === 429)).toHaveLength(10);
      // One closes: one more may open, and only one.
      await closeAll(sockets.splice(0, 1));
      await until(async () => {
        const again = await upgrade(port, erin);
        if (again instanceof WebSocket) sockets.push(again);
        return again instanceof WebSocket;
      }, 'the freed slot');
      expect(await upgrade(port, erin)).toBe(429);
      // Plain GETs (no upgrade) on kept-alive connections take no slot.
      const plain = await t.app.inject({
        url: '/api/ws',
        headers: {
          origin: ORIGIN,
          cookie: `__Host-sc_session=${erin.cookie('__Host-sc_session')}`,
        },
      });
      expect(plain.statusCode).toBe(404);
      await closeAll(sockets.splice(0, 1));
      for (let i = 0; i < 3; i += 1) {
        await t.app.inject({
          url: '/api/ws',
          headers: {
            origin: ORIGIN,
            cookie: `__Host-sc_session=${erin.cookie('__Host-sc_session')}`,
          },
        });
      }
      await until(async () => {
        const again = await upgrade(port, erin);
        if (again instanceof WebSocket) sockets.push(again);
        return again instanceof WebSocket;
      }, 'the slot, untaken by plain GETs');
      // Another user is not affected.
      const frank = await signedIn(t.app, 'frank');
      const other = await upgrade(port, frank);
      expect(other).toBeInstanceOf(WebSocket);
      if (other instanceof WebSocket) sockets.push(other);
    } finally {
      await closeAll(sockets);
    }
  });
});

describe('WebSocket upgrades have their own per-address budget', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp('sqlite', {
      env: { RATE_LIMIT_LOGIN_PER_MINUTE: '100', RATE_LIMIT_API_PER_MINUTE: '40' },
    });
    port = await freePort();
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  it('lets an address whose API budget is spent reconnect, and refuses an upgrade flood with 429', async () => {
    // Signed in from elsewhere; the sockets come from 127.0.0.1, like an office's NAT.
    const grace = await signedIn(t.app, 'grace', '198.51.100.7');
    const api = () => t.app.inject({ url: '/api/server', remoteAddress: '127.0.0.1' });
    let status = 200;
    for (let i = 0; i < 60 && status === 200; i += 1) status = (await api()).statusCode;
    expect(status).toBe(429);
    // The API budget is spent; upgrades are not counted against it.
    const socket = await upgrade(port, grace);
    expect(socket).toBeInstanceOf(WebSocket);
    if (socket instanceof WebSocket) await closeAll([socket]);
    expect((await api()).statusCode).toBe(429);

    // An upgrade flood from one address, past its own budget: refused with 429 and Retry-After.
    const flood = () =>
      t.app.inject({ url: '/api/ws', remoteAddress: '127.0.0.1', headers: { origin: ORIGIN } });
    let refused = null;
    for (let i = 0; i < Limits.WS_UPGRADES_PER_MINUTE_PER_ADDRESS + 5 && !refused; i += 1) {
      const response = await flood();
      if (response.statusCode === 429) refused = { at: i, response };
    }
    expect(refused?.at).toBe(Limits.WS_UPGRADES_PER_MINUTE_PER_ADDRESS - 1); // one real upgrade above
    expect(refused?.response.json()).toMatchObject({ code: 'CHAT_ERR_RATE_LIMITED' });
    expect(Number(refused?.response.headers['retry-after'])).toBeGreaterThan(0);
    expect(await upgrade(port, grace)).toBe(429);
    // Another address still upgrades.
    const elsewhere = await t.app.inject({ url: '/api/ws', remoteAddress: '203.0.113.9' });
    expect(elsewhere.statusCode).not.toBe(429);
  });
});

const redisUrl = inject('services').redis;

describe.skipIf(!redisUrl)('the per-user connection cap, over two nodes sharing Redis', () => {
  const prefix = `sc-test-${randomBytes(6).toString('hex')}:`;
  let one: TestApp;
  let two: App;
  const ports: number[] = [];
  beforeAll(async () => {
    const env = {
      REDIS_URL: redisUrl ?? '',
      REDIS_KEY_PREFIX: prefix,
      RATE_LIMIT_LOGIN_PER_MINUTE: '100',
    };
    one = await createTestApp('sqlite', { env });
    // A second node on the same database, secrets and Redis.
    two = await buildApp({
      config: one.config,
      secrets: one.secrets,
      storage: openStorage({ dataDir: one.config.dataDir, databaseUrl: one.config.databaseUrl }),
      vault: one.vault,
    });
    for (const app of [one.app, two]) {
      const port = await freePort();
      await app.listen({ port, host: '127.0.0.1' });
      ports.push(port);
    }
  });
  afterAll(async () => {
    await two.close();
    await one.close();
  });

  it('holds when upgrades race on both nodes', async () => {
    const heidi = await signedIn(one.app, 'heidi');
    const results = await Promise.all(
      Array.from({ length: MAX + 10 }, (_, i) => upgrade(ports[i % 2] ?? 0, heidi)),
    );
    const sockets = opened(results);
    try {
      expect(sockets).toHaveLength(MAX);
      expect(results.filter((r) => r === 429)).toHaveLength(10);
      await closeAll(sockets.splice(0, 2));
      await until(async () => {
        const again = await upgrade(ports[1] ?? 0, heidi);
        if (again instanceof WebSocket) sockets.push(again);
        return again instanceof WebSocket;
      }, 'a freed slot on the other node');
    } finally {
      await closeAll(sockets);
    }
  });
});
