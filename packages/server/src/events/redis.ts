/**
 * Several nodes through Redis: the event bus, presence and realtime limits with the same
 * interfaces as the in-process versions (bus.ts, presence.ts, limits.ts), shared by every
 * node that uses the same Redis and key prefix. Chosen when REDIS_URL is set.
 *
 * - Bus: every message is ONE `PUBLISH` on one fan-out channel, carrying the recipient list
 *   and the encoded frame as bytes; every node delivers it to its own subscribers. The
 *   publishing node delivers to its own subscribers directly and skips its own messages when
 *   they come back, so nothing is delivered twice.
 * - Presence: each connection is a field `<node>:<connection>` in its user's hash; a node is
 *   alive while its key (refreshed by a heartbeat) exists, so the connections of a node that
 *   died without cleaning up stop counting when that key expires.
 * - Limits: one hash per token bucket, taken from by one Lua script (atomic, on Redis's
 *   clock); while Redis is unreachable each node falls back to its own in-memory buckets
 *   rather than refusing or allowing everything.
 * - Connections: one sorted set per user of `<node>:<connection>` scored by when the entry
 *   expires; a Lua script drops expired entries, counts and adds at once, so the per-user cap
 *   holds over all nodes; each node refreshes its own entries, so a dead node's stop counting.
 *
 * See docs/decisions/0007-redis-fan-out.md.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type ChainableCommander } from 'ioredis';
import { createMemoryBus, type EventBus } from './bus.js';
import { createMemoryConnections, type ConnectionCounter } from './connections.js';
import {
  createMemoryBuckets,
  REALTIME_LIMITS,
  secondsUntil,
  type MemoryLimiterOptions,
  type RealtimeLimiter,
} from './limits.js';
import { statusOf, type Presence, type PresenceStatus } from './presence.js';

/** What this module logs through (the app's pino logger fits). */
export interface RedisLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** One node's two connections to Redis and its identity among the nodes. */
export interface RedisNode {
  /** Random per process: names this node's presence entries and tags what it publishes. */
  readonly id: string;
  /** Every key and channel starts with it (REDIS_KEY_PREFIX). */
  readonly prefix: string;
  /** Commands: publish, presence, limits. */
  readonly commands: Redis;
  /** In subscriber mode: receives the fan-out channel. */
  readonly subscriber: Redis;
  /** Quit both connections. */
  close(): Promise<void>;
}

export interface ConnectRedisOptions {
  url: string;
  keyPrefix: string;
  log: RedisLog;
  /** Give up on the first connection after this long; default 10 s. */
  connectTimeoutMs?: number;
}

/** host:port of a Redis URL, for messages: never the password. */
function where(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '6379'}`;
}

/**
 * The outcome of repeated Redis work (a publish, a heartbeat): the first failure of a run is
 * logged with `message`, later ones stay quiet until a success ends the run. Nothing is
 * logged once `isClosed()` says the owner shut down.
 */
function warnOncePerOutage(log: RedisLog, message: string, isClosed: () => boolean = () => false) {
  let failing = false;
  return {
    ok: (): void => {
      failing = false;
    },
    failed: (error: unknown): void => {
      if (failing || isClosed()) return;
      failing = true;
      log.warn({ err: error instanceof Error ? error.message : String(error) }, message);
    },
  };
}

/** Log an outage once when it starts and once when it ends, not on every retry. */
function watch(client: Redis, name: string, address: string, log: RedisLog): void {
  let down = false;
  client.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log.warn({ redis: address, connection: name, err: error.message }, 'Redis connection lost');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({ redis: address, connection: name }, 'Redis connection restored');
  });
}

/**
 * Open the node's two connections. Rejects, naming the address (not the password), when Redis
 * cannot be reached or refuses us, so a misconfigured node fails at start.
 */
export async function connectRedis(options: ConnectRedisOptions): Promise<RedisNode> {
  const address = where(options.url);
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const open = (name: string) =>
    new Redis(options.url, {
      lazyConnect: true,
      connectionName: `securechat-${name}`,
      connectTimeout: timeoutMs,
      // While Redis is away, a command waits for a few reconnection attempts, then fails.
      maxRetriesPerRequest: 3,
    });
  const commands = open('commands');
  const subscriber = open('subscriber');
  const clients = [commands, subscriber];
  let firstError: Error | null = null;
  const remember = (error: Error) => {
    firstError ??= error;
  };
  for (const client of clients) client.on('error', remember);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all(clients.map((client) => client.connect())),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    for (const client of clients) client.disconnect();
    const reason = (firstError ?? (error as Error)).message;
    throw new Error(`Cannot connect to Redis at ${address} (REDIS_URL): ${reason}`);
  } finally {
    clearTimeout(timer);
  }
  for (const client of clients) client.off('error', remember);
  watch(commands, 'commands', address, options.log);
  watch(subscriber, 'subscriber', address, options.log);
  return {
    id: randomBytes(8).toString('hex'),
    prefix: options.keyPrefix,
    commands,
    subscriber,
    async close() {
      await Promise.all(
        clients
          .filter((client) => client.status !== 'end')
          .map((client) => client.quit().catch(() => client.disconnect())),
      );
    },
  };
}

/** Run a pipeline; rejects with the first command's error, if any. */
async function run(pipeline: ChainableCommander): Promise<unknown[]> {
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

// --- Bus ---------------------------------------------------------------------------------

/**
 * A fan-out message: `version | kind | node id | count | count × (length, id) | frame`.
 * Versioned so that nodes of two releases during a rolling upgrade drop what they can't read
 * instead of misdelivering it.
 */
const WIRE_VERSION = 1;
const TO_USERS = 1;
const TO_DEVICE = 2;
const NODE_ID_BYTES = 8;

function encodeMessage(
  node: Buffer,
  kind: number,
  targets: readonly string[],
  frame: Uint8Array,
): Buffer {
  const ids = targets.map((id) => Buffer.from(id, 'utf8'));
  const head = Buffer.alloc(2 + NODE_ID_BYTES + 4 + ids.reduce((n, id) => n + 2 + id.length, 0));
  let at = head.writeUInt8(WIRE_VERSION, 0);
  at = head.writeUInt8(kind, at);
  at += node.copy(head, at);
  at = head.writeUInt32BE(ids.length, at);
  for (const id of ids) {
    at = head.writeUInt16BE(id.length, at);
    at += id.copy(head, at);
  }
  return Buffer.concat([head, frame]);
}

interface Message {
  kind: typeof TO_USERS | typeof TO_DEVICE;
  node: Buffer;
  targets: string[];
  frame: Uint8Array;
}

/** The message, or null when it is not one this version understands. */
function decodeMessage(bytes: Buffer): Message | null {
  if (bytes.length < 2 + NODE_ID_BYTES + 4 || bytes.readUInt8(0) !== WIRE_VERSION) return null;
  const kind = bytes.readUInt8(1);
  if (kind !== TO_USERS && kind !== TO_DEVICE) return null;
  let at = 2;
  const node = bytes.subarray(at, at + NODE_ID_BYTES);
  at += NODE_ID_BYTES;
  const count = bytes.readUInt32BE(at);
  at += 4;
  const targets: string[] = [];
  for (let i = 0; i < count; i += 1) {
    if (at + 2 > bytes.length) return null;
    const length = bytes.readUInt16BE(at);
    at += 2;
    if (at + length > bytes.length) return null;
    targets.push(bytes.toString('utf8', at, at + length));
    at += length;
  }
  return { kind, node, targets, frame: bytes.subarray(at) };
}

/** What the bus counts for metrics, read when they are scraped (plain numbers: no cost). */
export interface RedisBusStats {
  /** Publishes sent to Redis and not yet answered. */
  pending: number;
  /** Publishes that failed, since start. */
  failed: number;
}

/**
 * The bus through Redis. Resolves once this node is subscribed, so nothing published after
 * start can be missed.
 */
export async function createRedisBus(
  node: RedisNode,
  log: RedisLog,
  stats: RedisBusStats = { pending: 0, failed: 0 },
): Promise<EventBus> {
  const channel = `${node.prefix}bus`;
  const self = Buffer.from(node.id, 'hex');
  const local = createMemoryBus();
  let closed = false;
  // Stored already; remote recipients catch up when they resume. Say so once per outage.
  const publishing = warnOncePerOutage(
    log,
    'fan-out through Redis failed: other nodes miss live events until their clients resume',
  );

  const relay = (message: Buffer) => {
    if (closed) return;
    stats.pending += 1;
    node.commands.publish(channel, message).then(
      () => {
        stats.pending -= 1;
        publishing.ok();
      },
      (error: unknown) => {
        stats.pending -= 1;
        stats.failed += 1;
        publishing.failed(error);
      },
    );
  };

  let undecodable = false;
  node.subscriber.on('messageBuffer', (from: Buffer, bytes: Buffer) => {
    if (closed || from.toString() !== channel) return;
    const message = decodeMessage(bytes);
    if (!message) {
      if (!undecodable) log.warn({ channel }, 'dropped a fan-out message this version cannot read');
      undecodable = true;
      return;
    }
    if (message.node.equals(self)) return; // delivered locally when published
    try {
      if (message.kind === TO_USERS) local.publish(message.targets, message.frame);
      else if (message.targets[0] !== undefined)
        local.publishToDevice(message.targets[0], message.frame);
    } catch (error) {
      // A listener's bug must not break the connection every other delivery rides on.
      log.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'a fan-out listener failed',
      );
    }
  });
  await node.subscriber.subscribe(channel);

  // Pub/sub keeps nothing: after an outage (ioredis reconnects and resubscribes, then says
  // `ready`), whatever other nodes published meanwhile is gone, and so is what this node
  // failed to relay. Tell the gateway, so clients resume from storage.
  const missed = new Set<() => void>();
  let wasDown = false;
  const down = () => {
    wasDown = true;
  };
  const up = () => {
    if (!wasDown || closed) return;
    wasDown = false;
    for (const listener of missed) listener();
  };
  node.subscriber.on('close', down);
  node.subscriber.on('ready', up);
  node.commands.on('close', down);
  node.commands.on('ready', up);

  return {
    publish(userIds, frame) {
      const targets = [...new Set(userIds)];
      if (targets.length === 0) return;
      local.publish(targets, frame);
      relay(encodeMessage(self, TO_USERS, targets, frame));
    },
    publishToDevice(deviceId, frame) {
      local.publishToDevice(deviceId, frame);
      relay(encodeMessage(self, TO_DEVICE, [deviceId], frame));
    },
    subscribe: (userId, deviceId, listener) => local.subscribe(userId, deviceId, listener),
    onMissed(listener) {
      missed.add(listener);
      return () => missed.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (node.subscriber.status === 'ready') await node.subscriber.unsubscribe(channel);
    },
  };
}

// --- Presence ----------------------------------------------------------------------------

export interface RedisPresenceOptions {
  /** A node that stops refreshing is considered gone after this; default 30 s. */
  ttlMs?: number;
  /** How often the node refreshes its entries; default a third of the TTL. */
  heartbeatMs?: number;
}

/** Presence shared through Redis; starts its heartbeat at once. */
export async function createRedisPresence(
  node: RedisNode,
  log: RedisLog,
  options: RedisPresenceOptions = {},
): Promise<Presence> {
  const ttlMs = options.ttlMs ?? 30_000;
  const redis = node.commands;
  const aliveKey = (nodeId: string) => `${node.prefix}presence:node:${nodeId}`;
  const userKey = (userId: string) => `${node.prefix}presence:user:${userId}`;
  const field = (connectionId: string) => `${node.id}:${connectionId}`;
  /** This node's connections, written again on every heartbeat. */
  const mine = new Map<string, Map<string, 'online' | 'away'>>();
  let closed = false;

  /** The status of each user from their hashes, counting only the entries of live nodes. */
  async function read(userIds: readonly string[]): Promise<Map<string, PresenceStatus>> {
    const pipeline = redis.pipeline();
    for (const userId of userIds) pipeline.hgetall(userKey(userId));
    const hashes = (await run(pipeline)) as Record<string, string>[];
    const nodes = new Set<string>();
    for (const hash of hashes)
      for (const key of Object.keys(hash)) nodes.add(key.slice(0, key.indexOf(':')));
    nodes.delete(node.id); // we are alive, whatever our key says
    const others = [...nodes];
    const values = others.length > 0 ? await redis.mget(others.map(aliveKey)) : [];
    const dead = new Set(others.filter((_, i) => values[i] === null));

    const result = new Map<string, PresenceStatus>();
    const stale = redis.pipeline();
    let anyStale = false;
    userIds.forEach((userId, i) => {
      const statuses: ('online' | 'away')[] = [];
      for (const [key, value] of Object.entries(hashes[i] ?? {})) {
        if (dead.has(key.slice(0, key.indexOf(':')))) {
          stale.hdel(userKey(userId), key);
          anyStale = true;
        } else if (value === 'online' || value === 'away') statuses.push(value);
      }
      result.set(userId, statusOf(statuses));
    });
    // Tidy up after dead nodes; harmless if it fails or races another node doing the same.
    if (anyStale) stale.exec().catch(() => undefined);
    return result;
  }

  const statusOfUser = async (userId: string) => (await read([userId])).get(userId) ?? 'offline';

  async function heartbeat(): Promise<void> {
    const pipeline = redis.pipeline().set(aliveKey(node.id), '1', 'PX', ttlMs);
    for (const [userId, connections] of mine) {
      pipeline.hset(
        userKey(userId),
        Object.fromEntries([...connections].map(([id, status]) => [field(id), status])),
      );
      pipeline.pexpire(userKey(userId), ttlMs);
    }
    await run(pipeline);
  }
  await heartbeat();
  const beating = warnOncePerOutage(
    log,
    'presence heartbeat to Redis failed: other nodes will see this node’s users offline',
    () => closed,
  );
  const timer = setInterval(
    () => void heartbeat().then(beating.ok, beating.failed),
    options.heartbeatMs ?? Math.floor(ttlMs / 3),
  );
  timer.unref();

  return {
    async set(userId, connectionId, status) {
      if (closed) throw new Error('presence is closed');
      let connections = mine.get(userId);
      if (!connections) {
        connections = new Map();
        mine.set(userId, connections);
      }
      connections.set(connectionId, status);
      await run(
        redis
          .pipeline()
          .hset(userKey(userId), field(connectionId), status)
          .pexpire(userKey(userId), ttlMs),
      );
      return statusOfUser(userId);
    },
    async remove(userId, connectionId) {
      const connections = mine.get(userId);
      connections?.delete(connectionId);
      if (connections?.size === 0) mine.delete(userId);
      // After close this node's entries are gone already.
      if (closed) return 'offline';
      await redis.hdel(userKey(userId), field(connectionId));
      return statusOfUser(userId);
    },
    statuses: (userIds) => read(userIds),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      // Leave as a clean node would; if Redis is away, the entries expire with our key.
      const pipeline = redis.pipeline().del(aliveKey(node.id));
      for (const [userId, connections] of mine)
        pipeline.hdel(userKey(userId), ...[...connections.keys()].map(field));
      mine.clear();
      if (redis.status === 'ready') await pipeline.exec().catch(() => undefined);
    },
  };
}

// --- Limits ------------------------------------------------------------------------------

/**
 * Take one token from a bucket: KEYS[1] the bucket's hash; ARGV rate (tokens per second),
 * burst, and now in ms (negative: Redis's own clock, the one every node shares). Answers
 * 0 when allowed, else the milliseconds until a token is back. A bucket left alone until it
 * is full again expires, which is the same as full.
 */
const TAKE_TOKEN = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now < 0 then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
elseif now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%d', math.max(now, at or now)))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return wait
`;

type WithTakeToken = Redis & {
  securechatTakeToken(key: string, rate: number, burst: number, now: number): Promise<number>;
};

/** The connections our scripts are defined on. */
const scripted = new WeakSet<Redis>();
const tokenScripted = new WeakSet<Redis>();

function withTakeToken(redis: Redis): WithTakeToken {
  if (!tokenScripted.has(redis)) {
    tokenScripted.add(redis);
    redis.defineCommand('securechatTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
  }
  return redis as WithTakeToken;
}

/**
 * Realtime limits whose buckets every node shares. While Redis is unreachable each node
 * counts on its own (its in-memory buckets), so a user's allowance is at most multiplied by
 * the number of nodes for the length of the outage.
 */
export function createRedisLimiter(
  node: RedisNode,
  options: Pick<MemoryLimiterOptions, 'now' | 'onRefused' | 'limits'> = {},
): RealtimeLimiter {
  const redis = withTakeToken(node.commands);
  const insurance = createMemoryBuckets(options);
  const clock = options.now;
  const limits = options.limits ?? REALTIME_LIMITS;
  return {
    async consume(limit, key) {
      const bucket = limits[limit];
      let wait: number | null;
      if (redis.status !== 'ready') {
        wait = insurance.take(`${limit}:${key}`, bucket);
      } else {
        try {
          const ms = await redis.securechatTakeToken(
            `${node.prefix}rt-${limit}:${key}`,
            bucket.rate,
            bucket.burst,
            clock ? clock() : -1,
          );
          wait = ms > 0 ? ms : null;
        } catch {
          wait = insurance.take(`${limit}:${key}`, bucket);
        }
      }
      if (wait === null) return null;
      options.onRefused?.(limit);
      return secondsUntil(wait);
    },
    close: () => Promise.resolve(),
  };
}

// --- Connections -------------------------------------------------------------------------

/**
 * Reserve a connection: KEYS[1] the user's sorted set; ARGV the member, the cap, the entry's
 * lifetime in ms. Drops expired entries, then adds the member if the user has fewer than the
 * cap. Answers 1 when reserved, 0 when full.
 */
const RESERVE_CONNECTION = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`;

/** Refresh this node's entries: KEYS the users' sets, ARGV[1] the lifetime, then one member per key. */
const REFRESH_CONNECTIONS = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', key, ttl)
end
return #KEYS
`;

export interface RedisConnectionsOptions {
  /** A node that stops refreshing loses its entries after this; default 30 s. */
  ttlMs?: number;
  /** How often the node refreshes them; default a third of the TTL. */
  heartbeatMs?: number;
}

type WithConnectionScripts = Redis & {
  securechatReserveConnection(
    key: string,
    member: string,
    max: number,
    ttlMs: number,
  ): Promise<number>;
  securechatRefreshConnections(numberOfKeys: number, ...args: (string | number)[]): Promise<number>;
};

/**
 * The per-user connection cap over every node sharing this Redis. Reserving is one atomic
 * script, so concurrent upgrades on any nodes can never pass the cap together. While Redis
 * is unreachable each node counts its own (so the cap is at most multiplied by the number of
 * nodes for the length of the outage), like the limits.
 */
export function createRedisConnections(
  node: RedisNode,
  log: RedisLog,
  options: RedisConnectionsOptions = {},
): ConnectionCounter {
  const ttlMs = options.ttlMs ?? 30_000;
  const redis = node.commands as WithConnectionScripts;
  if (!scripted.has(redis)) {
    scripted.add(redis);
    redis.defineCommand('securechatReserveConnection', {
      numberOfKeys: 1,
      lua: RESERVE_CONNECTION,
    });
    redis.defineCommand('securechatRefreshConnections', { lua: REFRESH_CONNECTIONS });
  }
  const keyOf = (userId: string) => `${node.prefix}connections:user:${userId}`;
  const member = (connectionId: string) => `${node.id}:${connectionId}`;
  /** This node's reserved connections: connection id → user id. */
  const mine = new Map<string, string>();
  /** Those reserved while Redis was unreachable. */
  const local = createMemoryConnections();
  let closed = false;

  const REFRESH_BATCH = 500;
  async function refresh(): Promise<void> {
    const entries = [...mine];
    for (let i = 0; i < entries.length; i += REFRESH_BATCH) {
      const batch = entries.slice(i, i + REFRESH_BATCH);
      await redis.securechatRefreshConnections(
        batch.length,
        ...batch.map(([, userId]) => keyOf(userId)),
        ttlMs,
        ...batch.map(([connectionId]) => member(connectionId)),
      );
    }
  }
  const refreshing = warnOncePerOutage(
    log,
    'connection heartbeat to Redis failed: this node’s connections may stop counting',
    () => closed,
  );
  const timer = setInterval(
    () => void refresh().then(refreshing.ok, refreshing.failed),
    options.heartbeatMs ?? Math.floor(ttlMs / 3),
  );
  timer.unref();

  return {
    async reserve(userId, connectionId, max) {
      if (closed) return false;
      if (redis.status === 'ready') {
        mine.set(connectionId, userId);
        try {
          const reserved =
            (await redis.securechatReserveConnection(
              keyOf(userId),
              member(connectionId),
              max,
              ttlMs,
            )) === 1;
          if (!reserved) mine.delete(connectionId);
          return reserved;
        } catch {
          mine.delete(connectionId);
        }
      }
      // Redis is away: count this node's own, as the limits do, until it is back.
      return local.reserve(userId, connectionId, max);
    },
    async release(userId, connectionId) {
      await local.release(userId, connectionId);
      if (!mine.delete(connectionId) || closed) return;
      await redis.zrem(keyOf(userId), member(connectionId));
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      const pipeline = redis.pipeline();
      for (const [connectionId, userId] of mine) pipeline.zrem(keyOf(userId), member(connectionId));
      mine.clear();
      if (redis.status === 'ready') await pipeline.exec().catch(() => undefined);
    },
  };
}
