/**
 * The Redis bus, presence and realtime limits through a real Redis, with two RedisNodes in
 * this process standing in for two server nodes. Every run uses its own random key prefix
 * and deletes its keys afterwards.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import * as opaque from '@serenity-kit/opaque';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../test-support/net.js';
import { buildApp } from '../src/app.js';
import { Limits } from '@securechat/protocol';
import { REALTIME_LIMITS, type RealtimeLimiter } from '../src/events/limits.js';
import {
  connectRedis,
  createRedisBus,
  createRedisConnections,
  createRedisLimiter,
  createRedisPresence,
  type RedisLog,
  type RedisNode,
} from '../src/events/redis.js';
import { createLogger } from '../src/logger.js';
import { loadSecrets } from '../src/secrets.js';
import { migrateToLatest, openStorage } from '../src/storage/db.js';
import { openVault } from '../src/vault/index.js';
import { ORIGIN, signedIn } from './support/client.js';
import { createTestApp, createTestDatabase, testConfig } from './support/harness.js';
import { until } from '../../../test-support/until.js';
import { manualClock, pacedWithStall } from './support/buckets.js';

const redisUrl = inject('services').redis;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bytes = (...values: number[]) => Uint8Array.from(values);

/** A log that keeps what it was told. */
function capture(): RedisLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (_obj, msg) => lines.push(msg),
    warn: (_obj, msg) => lines.push(msg),
  };
}

/** A TCP relay to Redis that a test can cut and restore, to play a Redis outage. */
async function relayTo(url: string) {
  const target = new URL(url);
  const port = await freePort();
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen();
  return {
    url: `redis://127.0.0.1:${port}`,
    async cut() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restore: listen,
  };
}

describe.skipIf(!redisUrl)('Redis bus, presence and limits', () => {
  const url = redisUrl ?? '';
  const prefix = `sc-test-${randomBytes(6).toString('hex')}:`;
  const log = capture();
  /** Our own view of Redis: inspects and cleans up. */
  let admin: Redis;
  const nodes: RedisNode[] = [];
  const node = async () => {
    const n = await connectRedis({ url, keyPrefix: prefix, log });
    nodes.push(n);
    return n;
  };
  const keys = async () => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  };

  beforeAll(async () => {
    admin = new Redis(url);
    await admin.ping();
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    const left = await keys();
    if (left.length > 0) await admin.del(...left);
    await admin.quit();
  });

  describe('bus', () => {
    it('delivers a publish on one node to subscribers on both, exactly once, in ONE Redis message', async () => {
      const [one, two] = [await node(), await node()];
      const [busOne, busTwo] = [await createRedisBus(one, log), await createRedisBus(two, log)];
      // A bystander on the channel counts what goes through Redis.
      const spy = new Redis(url);
      const onChannel: Buffer[] = [];
      spy.on('messageBuffer', (_channel: Buffer, message: Buffer) => onChannel.push(message));
      await spy.subscribe(`${prefix}bus`);
      try {
        const got = { aliceHere: [] as Uint8Array[], bobThere: [] as Uint8Array[] };
        const carolThere: Uint8Array[] = [];
        busOne.subscribe('alice', 'alice-d1', (f) => got.aliceHere.push(f));
        busTwo.subscribe('bob', 'bob-d1', (f) => got.bobThere.push(f));
        const offCarol = busTwo.subscribe('carol', 'carol-d1', (f) => carolThere.push(f));
        offCarol();

        const frame = Uint8Array.from({ length: 256 }, (_, i) => i); // every byte value
        busOne.publish(['alice', 'bob', 'carol', 'bob', 'nobody'], frame);

        await until(() => got.bobThere.length > 0 && onChannel.length > 0, 'the fan-out');
        await sleep(200); // anything extra would have arrived by now
        expect(got.aliceHere).toHaveLength(1); // local: directly, not again via Redis
        expect(got.bobThere).toHaveLength(1); // remote: through Redis
        expect(carolThere).toHaveLength(0); // unsubscribed
        expect(Buffer.from(got.bobThere[0] ?? []).equals(Buffer.from(frame))).toBe(true);
        expect(Buffer.from(got.aliceHere[0] ?? []).equals(Buffer.from(frame))).toBe(true);
        expect(onChannel).toHaveLength(1); // one PUBLISH for five recipients

        // And the other way round.
        busTwo.publish(['alice'], bytes(7, 7));
        await until(() => got.aliceHere.length === 2, 'the reply');
        await sleep(100);
        expect([...(got.aliceHere[1] ?? [])]).toEqual([7, 7]);
        expect(got.bobThere).toHaveLength(1);
      } finally {
        await spy.quit();
        await Promise.all([busOne.close(), busTwo.close()]);
      }
    });

    it('delivers to one device only, on whichever node it is', async () => {
      const [one, two] = [await node(), await node()];
      const [busOne, busTwo] = [await createRedisBus(one, log), await createRedisBus(two, log)];
      try {
        const phone: Uint8Array[] = [];
        const laptop: Uint8Array[] = [];
        busTwo.subscribe('dave', 'dave-phone', (f) => phone.push(f));
        busOne.subscribe('dave', 'dave-laptop', (f) => laptop.push(f));
        busOne.publishToDevice('dave-phone', bytes(1));
        busTwo.publishToDevice('dave-laptop', bytes(2));
        await until(() => phone.length === 1 && laptop.length === 1, 'both devices');
        await sleep(100);
        expect(phone.map((f) => [...f])).toEqual([[1]]);
        expect(laptop.map((f) => [...f])).toEqual([[2]]);
      } finally {
        await Promise.all([busOne.close(), busTwo.close()]);
      }
    });

    it('drops a message it cannot read, and keeps working', async () => {
      const quiet = capture();
      const bus = await createRedisBus(await node(), quiet);
      try {
        const got: Uint8Array[] = [];
        bus.subscribe('erin', 'erin-d1', (f) => got.push(f));
        await admin.publish(`${prefix}bus`, Buffer.from([9, 9, 9]));
        await admin.publish(`${prefix}bus`, Buffer.from('not ours at all, but long enough'));
        await until(() => quiet.lines.length > 0, 'the warning');
        expect(quiet.lines).toEqual(['dropped a fan-out message this version cannot read']);
        const other = await createRedisBus(await node(), log);
        other.publish(['erin'], bytes(3));
        await until(() => got.length === 1, 'a good message after the bad ones');
        await other.close();
      } finally {
        await bus.close();
      }
    });
  });

  describe('presence', () => {
    const fast = { ttlMs: 1000, heartbeatMs: 250 };

    it('is shared: a connection on one node is seen from the other', async () => {
      const [one, two] = [await node(), await node()];
      const here = await createRedisPresence(one, log, fast);
      const there = await createRedisPresence(two, log, fast);
      try {
        expect(await here.set('frank', 'c1', 'online')).toBe('online');
        expect((await there.statuses(['frank', 'nobody'])).get('frank')).toBe('online');
        expect((await there.statuses(['nobody'])).get('nobody')).toBe('offline');
        // Away on one connection, online on another: online.
        expect(await there.set('frank', 'c2', 'away')).toBe('online');
        expect(await here.remove('frank', 'c1')).toBe('away');
        expect((await here.statuses(['frank'])).get('frank')).toBe('away');
        // Live nodes keep their entries beyond the TTL.
        await sleep(1500);
        expect((await here.statuses(['frank'])).get('frank')).toBe('away');
        expect(await there.remove('frank', 'c2')).toBe('offline');
      } finally {
        await Promise.all([here.close(), there.close()]);
      }
    });

    it('forgets the connections of a node that died without a word, within its TTL', async () => {
      const watcher = await createRedisPresence(await node(), log, fast);
      const doomed = await node();
      const presence = await createRedisPresence(doomed, capture(), fast);
      try {
        await presence.set('grace', 'c1', 'online');
        await watcher.set('heidi', 'c1', 'online');
        expect((await watcher.statuses(['grace'])).get('grace')).toBe('online');
        // Like SIGKILL: the node's connections drop, nothing is cleaned up.
        doomed.commands.disconnect();
        doomed.subscriber.disconnect();
        expect((await watcher.statuses(['grace'])).get('grace')).toBe('online');
        const died = Date.now();
        await until(
          async () => (await watcher.statuses(['grace'])).get('grace') === 'offline',
          'the dead node to expire',
          3000,
        );
        expect(Date.now() - died).toBeLessThanOrEqual(1500);
        // Its entry is tidied away; the live node's user is untouched.
        await until(async () => (await admin.hlen(`${prefix}presence:user:grace`)) === 0, 'tidy');
        expect((await watcher.statuses(['heidi'])).get('heidi')).toBe('online');
        await watcher.remove('heidi', 'c1');
      } finally {
        await Promise.all([watcher.close(), presence.close()]);
      }
    });

    it('removes its entries when closed', async () => {
      const one = await node();
      const presence = await createRedisPresence(one, log, fast);
      await presence.set('ivan', 'c1', 'online');
      expect(await admin.exists(`${prefix}presence:node:${one.id}`)).toBe(1);
      await presence.close();
      expect(await admin.exists(`${prefix}presence:node:${one.id}`)).toBe(0);
      expect(await admin.hlen(`${prefix}presence:user:ivan`)).toBe(0);
      expect(await presence.remove('ivan', 'c1')).toBe('offline');
    });
  });

  describe('limits', () => {
    const rate = Limits.SENDS_PER_SECOND_PER_DEVICE;

    it('share one token bucket between nodes: a burst of 2r over both, then refused', async () => {
      const [here, there] = [createRedisLimiter(await node()), createRedisLimiter(await node())];
      const key = `device-${randomBytes(4).toString('hex')}`;
      // On Redis's own clock: quick enough that barely a token comes back meanwhile.
      let allowed = 0;
      for (let i = 0; i < 2 * rate; i += 1)
        if ((await (i % 2 === 0 ? here : there).consume('sendDevice', key)) === null) allowed += 1;
      expect(allowed).toBe(2 * rate);
      let refusedAt = 0;
      while ((await there.consume('sendDevice', key)) === null) refusedAt += 1;
      expect(refusedAt).toBeLessThanOrEqual(2); // the tokens the run itself took time for
      expect(await here.consume('sendDevice', key)).toBe(1);
      // Another key has its own bucket; the keys live under the prefix and expire.
      expect(await here.consume('sendDevice', `${key}-other`)).toBeNull();
      expect(await admin.exists(`${prefix}rt-sendDevice:${key}`)).toBe(1);
      const ttl = await admin.pttl(`${prefix}rt-sendDevice:${key}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(((2 * rate) / rate) * 1000 + 1000);
    });

    it('never refuse a sender paced at 95 % that stalls for 200 ms, over two nodes', async () => {
      const clock = manualClock();
      const [one, two] = [await node(), await node()];
      const here = createRedisLimiter(one, { now: clock.now });
      const there = createRedisLimiter(two, { now: clock.now });
      let turn = 0;
      const alternating: RealtimeLimiter = {
        consume: (limit, key) => (turn++ % 2 === 0 ? here : there).consume(limit, key),
        close: () => Promise.resolve(),
      };
      const key = `device-${randomBytes(4).toString('hex')}`;
      const refused = await pacedWithStall(alternating, clock, key, {
        rate,
        share: 0.95,
        seconds: 5,
        stallAtMs: 1000,
        stallMs: 200,
      });
      expect(refused).toBe(0);
      // And the shared bucket is the same one: past the burst, both refuse.
      const burstKey = `${key}-burst`;
      for (let i = 0; i < 2 * rate; i += 1)
        expect(await alternating.consume('sendDevice', burstKey)).toBeNull();
      expect(await here.consume('sendDevice', burstKey)).toBe(1);
      expect(await there.consume('sendDevice', burstKey)).toBe(1);
      clock.advance(1000 / rate);
      expect(await there.consume('sendDevice', burstKey)).toBeNull();
      expect(await here.consume('sendDevice', burstKey)).toBe(1);
    });

    it('fall back to this node’s own buckets while Redis is unreachable', async () => {
      const lost = await node();
      const limiter = createRedisLimiter(lost);
      lost.commands.disconnect();
      const key = `user-${randomBytes(4).toString('hex')}`;
      const { burst } = REALTIME_LIMITS.deleteCode;
      for (let i = 0; i < burst; i += 1)
        expect(await limiter.consume('deleteCode', key)).toBeNull();
      expect(await limiter.consume('deleteCode', key)).toBeGreaterThan(0);
    });
  });

  describe('the per-user connection cap', () => {
    it('holds over two nodes reserving at once, and frees slots on release', async () => {
      const [one, two] = [await node(), await node()];
      const here = createRedisConnections(one, log);
      const there = createRedisConnections(two, log);
      try {
        const user = `user-${randomBytes(4).toString('hex')}`;
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 === 0 ? here : there).reserve(user, `c${i}`, 20),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(20);
        expect(await admin.zcard(`${prefix}connections:user:${user}`)).toBe(20);
        const won = results.findIndex(Boolean);
        await (won % 2 === 0 ? here : there).release(user, `c${won}`);
        expect(await there.reserve(user, 'late', 20)).toBe(true);
        expect(await here.reserve(user, 'later', 20)).toBe(false);
      } finally {
        await Promise.all([here.close(), there.close()]);
      }
    });

    it('forgets the connections of a node that died without a word, within its TTL', async () => {
      const fast = { ttlMs: 1000, heartbeatMs: 250 };
      const live = createRedisConnections(await node(), log, fast);
      const doomed = await node();
      const dying = createRedisConnections(doomed, capture(), fast);
      try {
        const user = `user-${randomBytes(4).toString('hex')}`;
        expect(await dying.reserve(user, 'd1', 2)).toBe(true);
        expect(await live.reserve(user, 'l1', 2)).toBe(true);
        expect(await live.reserve(user, 'l2', 2)).toBe(false);
        // The live node's entry outlives its TTL (refreshed); the dead node's does not.
        doomed.commands.disconnect();
        doomed.subscriber.disconnect();
        await sleep(1500);
        expect(await live.reserve(user, 'l2', 2)).toBe(true);
        expect(await live.reserve(user, 'l3', 2)).toBe(false);
      } finally {
        await Promise.all([live.close(), dying.close()]);
      }
    });
  });

  describe('a Redis outage', () => {
    it('keeps local delivery and per-node limits, says so once, and resubscribes after', async () => {
      const relay = await relayTo(url);
      const told = capture();
      const cut = await connectRedis({ url: relay.url, keyPrefix: prefix, log: told });
      nodes.push(cut);
      const bus = await createRedisBus(cut, told);
      const limiter = createRedisLimiter(cut);
      const other = await createRedisBus(await node(), log);
      try {
        const got: string[] = [];
        bus.subscribe('kim', 'kim-d1', (f) => got.push(Buffer.from(f).toString()));
        let missed = 0;
        bus.onMissed(() => (missed += 1));

        await relay.cut();
        await until(() => told.lines.length >= 2, 'the outage to be noticed');
        expect(told.lines).toEqual(['Redis connection lost', 'Redis connection lost']);
        bus.publish(['kim'], Buffer.from('local'));
        expect(got).toEqual(['local']); // this node's own clients still get it
        expect(await limiter.consume('sendDevice', 'kim-d1')).toBeNull(); // its own buckets
        const failed =
          'fan-out through Redis failed: other nodes miss live events until their clients resume';
        await until(() => told.lines.includes(failed), 'the failed relay to be reported');
        bus.publish(['kim'], Buffer.from('local again'));
        await sleep(500);
        // One line per connection lost, one for the failed fan-out: not one per retry or message.
        expect(told.lines).toEqual(['Redis connection lost', 'Redis connection lost', failed]);
        expect(got).toEqual(['local', 'local again']);

        await relay.restore();
        await until(
          () => told.lines.filter((l) => l === 'Redis connection restored').length === 2,
          'the connections to come back',
        );
        // What was published meanwhile is gone: the gateway is told, so clients resume.
        await until(() => missed >= 1, 'the missed signal');
        // Live again: what another node publishes reaches this one.
        await until(() => {
          other.publish(['kim'], Buffer.from('remote'));
          return got.includes('remote');
        }, 'the subscription to be back');
      } finally {
        await Promise.all([bus.close(), other.close()]);
        await relay.cut();
      }
    });
  });

  describe('connecting', () => {
    it('fails clearly, without the password, when Redis is unreachable', async () => {
      const port = await freePort();
      const started = Date.now();
      const attempt = connectRedis({
        url: `redis://chat:hunter2@127.0.0.1:${port}`,
        keyPrefix: prefix,
        log,
      });
      await expect(attempt).rejects.toThrow(
        new RegExp(
          `^Cannot connect to Redis at 127\\.0\\.0\\.1:${port} \\(REDIS_URL\\): .*ECONNREFUSED`,
        ),
      );
      await attempt.catch((error: Error) => expect(error.message).not.toContain('hunter2'));
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('stops the app from starting when REDIS_URL is unreachable', async () => {
      await opaque.ready;
      const database = await createTestDatabase('sqlite');
      const config = testConfig(database, {
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        REDIS_KEY_PREFIX: prefix,
      });
      const storage = openStorage({ dataDir: config.dataDir, databaseUrl: null });
      try {
        const vault = await openVault(config, storage.db);
        await migrateToLatest(storage, vault);
        await expect(
          buildApp({ config, secrets: await loadSecrets(config), storage, vault }),
        ).rejects.toThrow(/^Cannot connect to Redis at 127\.0\.0\.1:\d+ \(REDIS_URL\)/);
      } finally {
        await storage.close();
        await database.drop();
      }
    });

    it('wires the app to Redis when REDIS_URL is set, and lets go on close', async () => {
      const t = await createTestApp('sqlite', {
        env: { REDIS_URL: url, REDIS_KEY_PREFIX: prefix },
      });
      let closed = false;
      try {
        const { bus, presence } = t.app.services;
        const peer = await node();
        const peerBus = await createRedisBus(peer, log);
        const peerPresence = await createRedisPresence(peer, log);
        const got: Uint8Array[] = [];
        peerBus.subscribe('judy', 'judy-d1', (f) => got.push(f));
        bus.publish(['judy'], bytes(4, 2));
        await until(() => got.length === 1, 'the app’s publish on the peer');
        await presence.set('judy', 'c1', 'online');
        expect((await peerPresence.statuses(['judy'])).get('judy')).toBe('online');

        await t.close();
        closed = true;
        expect((await peerPresence.statuses(['judy'])).get('judy')).toBe('offline');
        await Promise.all([peerBus.close(), peerPresence.close()]);
      } finally {
        if (!closed) await t.close();
      }
    });

    it('shares the sign-in and per-address limits between nodes', async () => {
      const env = {
        REDIS_URL: url,
        REDIS_KEY_PREFIX: prefix,
        RATE_LIMIT_LOGIN_PER_MINUTE: '3',
        RATE_LIMIT_API_PER_MINUTE: '10',
      };
      const one = await createTestApp('sqlite', { env });
      const two = await createTestApp('sqlite', { env });
      try {
        await one.app.limits.login('198.51.100.20', 'mallory');
        await two.app.limits.login('198.51.100.20', 'mallory');
        await one.app.limits.login('198.51.100.20', 'mallory');
        // The fourth guess at one account from one address is refused, whichever node has it.
        await expect(two.app.limits.login('198.51.100.20', 'mallory')).rejects.toMatchObject({
          code: 'CHAT_ERR_RATE_LIMITED',
        });
        // Ten requests from one address, five on each node: the eleventh is refused.
        const get = (t: typeof one) =>
          t.app.inject({ method: 'GET', url: '/api/server', remoteAddress: '198.51.100.30' });
        for (let i = 0; i < 5; i += 1) {
          expect((await get(one)).statusCode).toBe(200);
          expect((await get(two)).statusCode).toBe(200);
        }
        expect((await get(one)).statusCode).toBe(429);
      } finally {
        await Promise.all([one.close(), two.close()]);
      }
    });

    it('takes its clients’ presence along when it shuts down, without complaint', async () => {
      const logged: string[] = [];
      const t = await createTestApp('sqlite', {
        env: { REDIS_URL: url, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_LOGIN_PER_MINUTE: '100' },
        logger: createLogger('warn', { write: (line: string) => logged.push(line) }),
      });
      let closed = false;
      const peer = await createRedisPresence(await node(), log);
      try {
        const port = await freePort();
        await t.app.listen({ port, host: '127.0.0.1' });
        const alice = await signedIn(t.app, 'alice');
        const { user } = (await alice.get('/api/auth/session')).json<{ user: { id: string } }>();
        const socket = new WebSocket(`ws://127.0.0.1:${port}/api/ws`, {
          headers: {
            origin: ORIGIN,
            cookie: `__Host-sc_session=${alice.cookie('__Host-sc_session')}`,
          },
        });
        socket.on('error', () => undefined);
        await until(
          async () => (await peer.statuses([user.id])).get(user.id) === 'online',
          'alice to be online, seen from another node',
        );
        await t.close();
        closed = true;
        expect((await peer.statuses([user.id])).get(user.id)).toBe('offline');
        await sleep(200); // the socket's close handlers run after the app is gone
        expect(logged).toEqual([]);
      } finally {
        await peer.close();
        if (!closed) await t.close();
      }
    });
  });
});
