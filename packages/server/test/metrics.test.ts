/**
 * Prometheus metrics (plugins/metrics.ts) on a real app over SQLite: who may read them
 * (nobody by default, the METRICS_TOKEN bearer, or METRICS_LISTEN's own address), and that
 * the series move when real WebSocket sends, refusals and Redis do what they count.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Limits } from '@securechat/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../test-support/net.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { GENERAL_ROOM_ID } from '../src/domain/delivery.js';
import { signedIn, socketHeaders, TestClient } from './support/client.js';
import { buildApp } from '../src/app.js';
import { loadSecrets } from '../src/secrets.js';
import { openStorage } from '../src/storage/db.js';
import { openVault } from '../src/vault/index.js';
import { createTestApp, createTestDatabase, testConfig, type TestApp } from './support/harness.js';
import { Peer } from './support/peer.js';

const TOKEN = 'metrics-' + randomBytes(24).toString('hex');

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',').filter(Boolean);
    if (wanted.every((w) => have.includes(w))) return Number(match[3]);
  }
  return undefined;
}

/** The sample Grafana dashboard: its panels and the series their queries read. */
const dashboard = JSON.parse(
  readFileSync(new URL('../../../deploy/grafana/securechat.json', import.meta.url), 'utf8'),
) as {
  panels: {
    id: number;
    type: string;
    gridPos: { x: number; w: number };
    targets?: { expr: string }[];
  }[];
};
const dashboardSeries = new Set(
  dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).flatMap(
      (target) => target.expr.match(/\b(?:securechat|nodejs|process)_[a-z0-9_]+/g) ?? [],
    ),
  ),
);
/**
 * Series names in a scrape: those with samples (a histogram's _bucket, _sum and _count) and
 * those declared (`# TYPE`) whose labels have no value yet.
 */
const seriesIn = (text: string) =>
  new Set(
    text
      .split('\n')
      .flatMap((line) => /^(?:# TYPE )?([a-z_:][a-z0-9_:]*)[{ ]/.exec(line)?.[1] ?? []),
  );
const isRedisSeries = (name: string) => /^securechat_(redis_|fanout_redis_)/.test(name);

async function scrape(t: TestApp): Promise<string> {
  const response = await t.app.inject({
    url: '/metrics',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(response.statusCode).toBe(200);
  return response.body;
}

describe('metrics configuration', () => {
  const refused = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error;
    }
    throw new Error('accepted');
  };

  it('takes a token and a listen address, and neither by default', () => {
    expect(loadConfig({}).metrics).toEqual({ token: null, listen: null });
    expect(loadConfig({ METRICS_TOKEN: TOKEN, METRICS_LISTEN: '127.0.0.1:9464' }).metrics).toEqual({
      token: TOKEN,
      listen: { host: '127.0.0.1', port: 9464 },
    });
    expect(loadConfig({ METRICS_LISTEN: '[::1]:9464' }).metrics.listen).toEqual({
      host: '::1',
      port: 9464,
    });
  });

  it.each(['short', 'x'.repeat(31), `${'x'.repeat(40)} space`, `${'x'.repeat(40)}"`])(
    'refuses the token %j without echoing it',
    (token) => {
      const error = refused({ METRICS_TOKEN: token });
      expect(error.variable).toBe('METRICS_TOKEN');
      expect(error.message).not.toContain(token);
    },
  );

  it.each(['9464', 'localhost', 'example.org:9464', '127.0.0.1:99999', '::1:9464', '1.2.3:80'])(
    'refuses the listen address %j',
    (listen) => {
      expect(refused({ METRICS_LISTEN: listen }).variable).toBe('METRICS_LISTEN');
    },
  );
});

describe('/metrics without configuration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
  });
  afterAll(() => t.close());

  it('is a 404, whatever is sent, and nothing else listens', async () => {
    for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }, { accept: 'text/html' }]) {
      const response = await t.app.inject({ url: '/metrics', headers });
      expect(response.statusCode).toBe(404);
      expect(response.body).not.toContain('securechat_');
    }
    expect(t.app.metricsAddress()).toBeNull();
  });
});

describe('/metrics with METRICS_TOKEN, over real sockets', () => {
  let t: TestApp;
  let url: string;
  let alice: TestClient;
  let bob: TestClient;

  beforeAll(async () => {
    t = await createTestApp('sqlite', {
      env: { METRICS_TOKEN: TOKEN, RATE_LIMIT_REGISTRATIONS_PER_HOUR: '2' },
    });
    const port = await freePort();
    await t.app.listen({ port, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${port}/api/ws`;
    alice = await signedIn(t.app, 'alice');
    bob = await signedIn(t.app, 'bob');
  });
  afterAll(() => t.close());

  it('refuses a missing or wrong token with 401, and says how to authenticate', async () => {
    const wrong = TOKEN.slice(0, -1) + (TOKEN.endsWith('0') ? '1' : '0');
    for (const authorization of [undefined, `Bearer ${wrong}`, `Basic ${TOKEN}`, TOKEN, 'Bearer']) {
      const response = await t.app.inject({
        url: '/metrics',
        headers: authorization === undefined ? {} : { authorization },
      });
      expect({ authorization, status: response.statusCode }).toEqual({
        authorization,
        status: 401,
      });
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.body).not.toContain('securechat_');
    }
  });

  it('answers the token with the text format: process, HTTP and database series', async () => {
    const response = await t.app.inject({
      url: '/metrics',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.headers['cache-control']).toBe('no-store');
    const text = response.body;
    expect(text).toContain('# TYPE securechat_send_ack_seconds histogram');
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    // Registration and sign-in ran queries and requests.
    expect(
      sample(text, 'securechat_db_query_seconds_count', { operation: 'insert' }),
    ).toBeGreaterThan(0);
    expect(
      sample(text, 'securechat_db_query_seconds_count', { operation: 'select' }),
    ).toBeGreaterThan(0);
    expect(
      sample(text, 'securechat_http_requests_total', {
        method: 'POST',
        route: '/api/auth/register/finish',
        status: '201',
      }),
    ).toBe(2);
    // Without Redis, no Redis series.
    expect(text).not.toContain('securechat_redis_connected');
  });

  it('has every series the Grafana dashboard reads (Redis ones: with Redis, below)', async () => {
    const have = seriesIn(await scrape(t));
    const missing = [...dashboardSeries].filter((name) => !isRedisSeries(name) && !have.has(name));
    expect(missing).toEqual([]);
    expect(dashboardSeries.size).toBeGreaterThan(12);
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels)
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
  });

  it('labels requests by route pattern, never by the URL (a miss is "none")', async () => {
    const secret = randomBytes(8).toString('hex');
    await alice.get(`/api/nowhere-${secret}`);
    await alice.get(`/api/devices/${secret}?q=${secret}`);
    const text = await scrape(t);
    expect(text).not.toContain(secret);
    expect(
      sample(text, 'securechat_http_requests_total', { route: 'none', status: '404' }),
    ).toBeGreaterThan(0);
  });

  it('counts sends, their ack latency and the deliveries of real WebSocket messages', async () => {
    const before = await scrape(t);
    const a = await Peer.open(url, socketHeaders(alice));
    const b = await Peer.open(url, socketHeaders(bob));
    try {
      expect((await a.request({ t: 'ping' })).t).toBe('pong');
      expect((await b.request({ t: 'ping' })).t).toBe('pong');
      expect(sample(await scrape(t), 'securechat_ws_connections')).toBe(2);
      for (let i = 0; i < 3; i += 1) {
        const ack = await a.request({
          t: 'send',
          room: GENERAL_ROOM_ID,
          cmid: `metrics-${i}`,
          kind: 'message',
          payload: new TextEncoder().encode(`hello ${i}`),
        });
        expect(ack.t).toBe('ack');
      }
      await b.events(3);
      const after = await scrape(t);
      const moved = (name: string, labels: Record<string, string> = {}) =>
        (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
      expect(moved('securechat_sends_total', { result: 'acked' })).toBe(3);
      expect(moved('securechat_send_ack_seconds_count')).toBe(3);
      expect(moved('securechat_send_ack_seconds_sum')).toBeGreaterThan(0);
      // Each message to both members' sockets (the sender's too).
      expect(moved('securechat_deliveries_total')).toBeGreaterThanOrEqual(6);
      expect(sample(after, 'securechat_fanout_queued_bytes')).toBeGreaterThanOrEqual(0);
    } finally {
      a.close();
      b.close();
    }
  });

  it('counts refusals by the name of the limit: realtime and HTTP', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    try {
      let refused = false;
      for (let i = 0; i <= Limits.PINGS_BURST_PER_USER + 5 && !refused; i += 1)
        refused = (await a.request({ t: 'ping' })).t === 'error';
      expect(refused).toBe(true);
    } finally {
      a.close();
    }
    // A third registration from this address, over RATE_LIMIT_REGISTRATIONS_PER_HOUR=2.
    const carol = await new TestClient(t.app).register('carol');
    expect(carol.statusCode).toBe(429);
    const text = await scrape(t);
    expect(
      sample(text, 'securechat_rate_limit_refusals_total', { limit: 'framePings' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'securechat_rate_limit_refusals_total', { limit: 'register-ip' })).toBe(1);
  });
});

describe('/metrics on METRICS_LISTEN', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp('sqlite', {
      env: { METRICS_LISTEN: '127.0.0.1:0', RATE_LIMIT_API_PER_MINUTE: '10' },
    });
    base = `http://127.0.0.1:${t.app.metricsAddress()?.port}`;
  });
  afterAll(() => t.close());

  it('serves the metrics there, and only there', async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toContain('securechat_http_requests_total');
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/api/health`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    // Not on the main address: no token is configured.
    expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(404);
  });

  it('shows the per-address HTTP limit refusing', async () => {
    let status = 200;
    for (let i = 0; i < 12 && status !== 429; i += 1)
      status = (await t.app.inject({ url: '/api/server' })).statusCode;
    expect(status).toBe(429);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, 'securechat_rate_limit_refusals_total', { limit: 'http-address' })).toBe(1);
  });

  it('names a route’s own budget by its pattern: the WebSocket upgrades', async () => {
    let status = 0;
    for (let i = 0; i <= Limits.WS_UPGRADES_PER_MINUTE_PER_ADDRESS && status !== 429; i += 1)
      status = (await t.app.inject({ url: '/api/ws' })).statusCode;
    expect(status).toBe(429);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(
      sample(text, 'securechat_rate_limit_refusals_total', { limit: 'http-route:/api/ws' }),
    ).toBe(1);
  });

  it('stops the start when its address cannot be bound', async () => {
    const database = await createTestDatabase('sqlite');
    // Taken by the first app's metrics server.
    const config = testConfig(database, { METRICS_LISTEN: new URL(base).host });
    const storage = openStorage({ dataDir: config.dataDir, databaseUrl: null });
    const vault = await openVault(config, storage.db);
    const app = await buildApp({ config, secrets: await loadSecrets(config), storage, vault });
    try {
      await expect(app.ready()).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await app.close();
      await database.drop();
    }
  });

  it('stops listening when the app closes', async () => {
    const other = await createTestApp('sqlite', {
      env: { METRICS_LISTEN: '127.0.0.1:0', METRICS_TOKEN: TOKEN },
    });
    const port = other.app.metricsAddress()?.port;
    // With a token as well, the listen address asks for it too.
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    const ok = await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(ok.status).toBe(200);
    await other.close();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

const redisUrl = inject('services').redis;

describe.skipIf(!redisUrl)('/metrics with Redis', () => {
  const prefix = `sc-test-${randomBytes(6).toString('hex')}:`;
  let t: TestApp;
  let admin: Redis;
  beforeAll(async () => {
    admin = new Redis(redisUrl ?? '');
    t = await createTestApp('sqlite', {
      env: { REDIS_URL: redisUrl ?? '', REDIS_KEY_PREFIX: prefix, METRICS_TOKEN: TOKEN },
    });
  });
  afterAll(async () => {
    await t.close();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  it('shows the bus connected, its pending publishes and its errors', async () => {
    t.app.services.bus.publish(['nobody'], new Uint8Array([1, 2, 3]));
    const text = await scrape(t);
    expect(sample(text, 'securechat_redis_connected', { connection: 'commands' })).toBe(1);
    expect(sample(text, 'securechat_redis_connected', { connection: 'subscriber' })).toBe(1);
    expect(sample(text, 'securechat_redis_publish_errors_total')).toBe(0);
    expect(sample(text, 'securechat_fanout_redis_pending')).toBeGreaterThanOrEqual(0);
    const have = seriesIn(text);
    expect([...dashboardSeries].filter((name) => isRedisSeries(name) && !have.has(name))).toEqual(
      [],
    );
  });

  it('shows a lost connection as 0', async () => {
    // Without reconnecting: the gauge stays at 0 until the app closes.
    const subscriber = t.app.services.redis?.subscriber;
    subscriber?.disconnect();
    while (subscriber?.status === 'ready') await new Promise((r) => setTimeout(r, 10));
    const text = await scrape(t);
    expect(sample(text, 'securechat_redis_connected', { connection: 'subscriber' })).toBe(0);
  });
});
