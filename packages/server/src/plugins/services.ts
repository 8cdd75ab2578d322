/**
 * Shared infrastructure: the storage and the domain services built on it, decorated on the
 * root instance so every route plugin can call `app.services.<capability>`. Routes never
 * touch `storage` directly; they call domain actions.
 *
 * With REDIS_URL the bus, presence and realtime limits go through Redis and are shared by
 * every node (events/redis.ts); the app refuses to start when Redis can't be reached.
 * Without it they live in this process.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { createAccounts, type Accounts } from '../domain/accounts.js';
import { createDelivery, type Delivery } from '../domain/delivery.js';
import { createFiles, type Files } from '../domain/files.js';
import { checkDatabase } from '../domain/health.js';
import { createMls, type Mls } from '../domain/mls.js';
import { createRooms, type Rooms } from '../domain/rooms.js';
import { createMemoryBus, type EventBus } from '../events/bus.js';
import {
  createMemoryLimiter,
  realtimeLimits,
  type RealtimeBuckets,
  type RealtimeLimiter,
} from '../events/limits.js';
import { createMemoryPresence, type Presence } from '../events/presence.js';
import {
  connectRedis,
  createRedisBus,
  createRedisLimiter,
  createRedisPresence,
  type RedisNode,
} from '../events/redis.js';
import type { Secrets } from '../secrets.js';
import type { Storage } from '../storage/db.js';
import { openObjectStore } from '../storage/objects.js';
import { KEYRING_REFRESH_MS, type Keyring } from '../vault/keyring.js';

export interface Services {
  accounts: Accounts;
  delivery: Delivery;
  rooms: Rooms;
  /** Key packages, device inboxes and group info for MLS. */
  mls: Mls;
  /** Fan-out to every node's connections. */
  bus: EventBus;
  /** Who is online; shared between nodes. */
  presence: Presence;
  /** Realtime token buckets; shared between nodes. */
  limiter: RealtimeLimiter;
  /** Attachments: their rows here, their ciphertext in the object store. */
  files: Files & {
    /** Collect due files now, in the background (failures are logged; the next pass retries). */
    collectSoon(): void;
  };
  health: { check(): Promise<void> };
  /** This node's Redis connections when REDIS_URL is set (for other shared limits). */
  redis: RedisNode | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    storage: Storage;
  }
}

/** How often audit events past AUDIT_RETENTION_DAYS are looked for. */
const AUDIT_PRUNE_INTERVAL_MS = 3_600_000;

interface ServicesOptions {
  config: Config;
  secrets: Secrets;
  storage: Storage;
  vault: Keyring;
  now: () => number;
}

type Realtime = Pick<Services, 'bus' | 'presence' | 'limiter'>;

/** The bus, presence and limits through Redis, on this node's two connections. */
async function redisRealtime(
  app: FastifyInstance,
  url: string,
  keyPrefix: string,
  limits: RealtimeBuckets,
): Promise<{ realtime: Realtime; redis: RedisNode }> {
  const redis = await connectRedis({ url, keyPrefix, log: app.log });
  try {
    const stats = { pending: 0, failed: 0 };
    app.metrics.probe('redis', {
      stats,
      ready: (connection) => redis[connection].status === 'ready',
    });
    return {
      redis,
      realtime: {
        bus: await createRedisBus(redis, app.log, stats),
        presence: await createRedisPresence(redis, app.log),
        limiter: createRedisLimiter(redis, { onRefused: app.metrics.refused, limits }),
      },
    };
  } catch (error) {
    await redis.close();
    throw error;
  }
}

async function servicesPlugin(app: FastifyInstance, opts: ServicesOptions): Promise<void> {
  const { redisUrl, redisKeyPrefix } = opts.config;
  const limits = realtimeLimits(opts.config.rateLimits.sends);
  const { realtime, redis } = redisUrl
    ? await redisRealtime(app, redisUrl, redisKeyPrefix, limits)
    : {
        realtime: {
          bus: createMemoryBus(),
          presence: createMemoryPresence(),
          limiter: createMemoryLimiter({ onRefused: app.metrics.refused, limits }),
        },
        redis: null,
      };

  const accounts = createAccounts({
    db: opts.storage.db,
    now: opts.now,
    opaqueServerSetup: opts.secrets.opaqueServerSetup,
    registration: opts.config.registration,
    requireSecondFactor: opts.config.requireSecondFactor,
    publicOrigin: opts.config.publicOrigin,
    log: app.log,
    bus: realtime.bus,
    vault: opts.vault,
    dialect: opts.storage.dialect,
  });
  const objects = openObjectStore(opts.config.dataDir, opts.config.files.s3);
  const files = createFiles({
    db: opts.storage.db,
    dialect: opts.storage.dialect,
    objects,
    now: opts.now,
    maxBytes: opts.config.files.maxBytes,
    allowedTypes: opts.config.files.allowedTypes,
    quotaBytes: opts.config.files.quotaBytes,
  });
  const collectSoon = () => {
    files
      .collect()
      .catch((error: unknown) => app.log.warn({ err: error }, 'file collection failed'));
  };
  app.decorate('storage', opts.storage);
  app.decorate('services', {
    accounts,
    delivery: createDelivery({
      db: opts.storage.db,
      dialect: opts.storage.dialect,
      now: opts.now,
      vault: opts.vault,
      onBatch: app.metrics.sendBatch,
    }),
    rooms: createRooms({
      db: opts.storage.db,
      dialect: opts.storage.dialect,
      now: opts.now,
      limiter: realtime.limiter,
      vault: opts.vault,
    }),
    mls: createMls({ db: opts.storage.db, dialect: opts.storage.dialect, now: opts.now }),
    files: { ...files, collectSoon },
    ...realtime,
    health: { check: () => checkDatabase(opts.storage.db) },
    redis,
  });
  // Audit events past their retention are deleted: at start, then hourly (on every node: a
  // delete of what another node already deleted deletes nothing).
  const pruneAudit = () => {
    accounts.pruneAudit(opts.config.auditRetentionDays).then(
      (count) => {
        if (count > 0) app.log.info({ count }, 'audit events past their retention deleted');
      },
      (error: unknown) => app.log.warn({ err: error }, 'pruning the audit log failed'),
    );
  };
  app.addHook('onReady', async () => pruneAudit());
  const pruner = setInterval(pruneAudit, AUDIT_PRUNE_INTERVAL_MS);
  pruner.unref();
  const stopRefresh = opts.vault.refreshEvery(KEYRING_REFRESH_MS, (error: unknown) =>
    app.log.warn({ err: error }, 'reading the vault keys failed'),
  );
  app.addHook('onClose', async () => {
    stopRefresh();
    clearInterval(pruner);
    const { bus, presence, limiter } = app.services;
    await Promise.all([bus.close(), presence.close(), limiter.close()]);
    await redis?.close();
    objects.close();
    await opts.storage.close();
  });
}

export default fp(servicesPlugin, { name: 'services', dependencies: ['metrics'] });
