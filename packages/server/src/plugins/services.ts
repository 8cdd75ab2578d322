/**
 * Shared infrastructure: the storage and the domain services built on it, decorated on the
 * root instance so every route plugin can call `app.services.<capability>`. Routes never
 * touch `storage` directly; they call domain actions.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { createAccounts, type Accounts } from '../domain/accounts.js';
import { createDelivery, type Delivery } from '../domain/delivery.js';
import { checkDatabase } from '../domain/health.js';
import { createMemoryBus, type EventBus } from '../events/bus.js';
import { createMemoryLimiter, type RealtimeLimiter } from '../events/limits.js';
import { createMemoryPresence, type Presence } from '../events/presence.js';
import type { Secrets } from '../secrets.js';
import type { Storage } from '../storage/db.js';

export interface Services {
  accounts: Accounts;
  delivery: Delivery;
  /** Fan-out to every node's connections. */
  bus: EventBus;
  /** Who is online; shared between nodes. */
  presence: Presence;
  /** Realtime token buckets; shared between nodes. */
  limiter: RealtimeLimiter;
  health: { check(): Promise<void> };
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    storage: Storage;
  }
}

interface ServicesOptions {
  config: Config;
  secrets: Secrets;
  storage: Storage;
  now: () => number;
}

async function servicesPlugin(app: FastifyInstance, opts: ServicesOptions): Promise<void> {
  const accounts = createAccounts({
    db: opts.storage.db,
    now: opts.now,
    opaqueServerSetup: opts.secrets.opaqueServerSetup,
    registration: opts.config.registration,
    publicOrigin: opts.config.publicOrigin,
    log: app.log,
  });
  app.decorate('storage', opts.storage);
  app.decorate('services', {
    accounts,
    delivery: createDelivery({ db: opts.storage.db, now: opts.now }),
    bus: createMemoryBus(),
    presence: createMemoryPresence(),
    limiter: createMemoryLimiter(),
    health: { check: () => checkDatabase(opts.storage.db) },
  });
  app.addHook('onClose', async () => {
    const { bus, presence, limiter } = app.services;
    await Promise.all([bus.close(), presence.close(), limiter.close()]);
    await opts.storage.close();
  });
}

export default fp(servicesPlugin, { name: 'services' });
