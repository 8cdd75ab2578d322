/**
 * Several real, built server processes as one deployment: one throw-away PostgreSQL database,
 * one Redis under a random key prefix (its keys deleted afterwards), and the same cookie
 * secret and OPAQUE setup on every node, as docs/configuration.md asks. Each node keeps its
 * own port and so its own origin (http://localhost:PORT): a client talking to a node sends
 * that node's Origin.
 */
import { randomBytes } from 'node:crypto';
import * as opaque from '@serenity-kit/opaque';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { createTestDatabase } from '../../packages/server/test/support/harness.js';
import { startServer, type RunningServer } from './server.js';

export interface Cluster {
  nodes: RunningServer[];
  /** REDIS_KEY_PREFIX of this cluster. */
  keyPrefix: string;
  /** Stop every node still running, delete the cluster's Redis keys, drop the database. */
  stop(): Promise<void>;
}

/** Whether this machine has what a cluster needs (the global setup says why not, loudly). */
export function clusterAvailable(): boolean {
  const { postgres, redis } = inject('services');
  return postgres !== null && redis !== null;
}

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

/** Start `count` nodes one after the other (the first migrates the database). */
export async function startCluster(
  count: number,
  env: Record<string, string> = {},
): Promise<Cluster> {
  const redisUrl = inject('services').redis;
  if (!redisUrl) throw new Error('Redis is not available');
  const database = await createTestDatabase('postgres');
  const keyPrefix = `sc-e2e-${randomBytes(6).toString('hex')}:`;
  await opaque.ready;
  const shared = {
    DATABASE_URL: database.databaseUrl ?? '',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    COOKIE_SECRET: randomBytes(32).toString('base64url'),
    OPAQUE_SERVER_SETUP: opaque.server.createSetup(),
    // One master key for every node, as with several machines (each has its own DATA_DIR).
    MASTER_KEY: randomBytes(32).toString('base64url'),
    ...env,
  };
  const nodes: RunningServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await deleteKeys(redisUrl, keyPrefix);
    await database.drop();
  };
  try {
    for (let i = 0; i < count; i += 1) nodes.push(await startServer(shared));
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, keyPrefix, stop };
}
