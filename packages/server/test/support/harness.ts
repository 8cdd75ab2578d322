/**
 * Test harness for the server: a real app on a real database, per dialect. SQLite gets a
 * fresh file in a temporary folder; PostgreSQL gets a throw-away database on the local
 * server (created here, dropped afterwards). Use `describeEachDialect` so every storage and
 * API test runs on both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as opaque from '@serenity-kit/opaque';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import pg from 'pg';
import { describe, inject } from 'vitest';
import { buildApp, type App, type AppOptions } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { loadSecrets, type Secrets } from '../../src/secrets.js';
import { migrateToLatest, openStorage, type Storage } from '../../src/storage/db.js';
import type { Dialect } from '../../src/storage/dialect.js';
import { openVault } from '../../src/vault/index.js';
import type { Keyring } from '../../src/vault/keyring.js';

export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

/** Runs `body` once per dialect; PostgreSQL is skipped (loudly, by the global setup) when absent. */
export function describeEachDialect(name: string, body: (dialect: Dialect) => void): void {
  for (const dialect of DIALECTS) {
    const available = dialect === 'sqlite' || inject('services').postgres !== null;
    describe.skipIf(!available)(`${name} [${dialect}]`, () => body(dialect));
  }
}

export interface TestDatabase {
  dialect: Dialect;
  dataDir: string;
  databaseUrl: string | null;
  drop(): Promise<void>;
}

/** A fresh, empty database for one test file. */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'securechat-test-'));
  if (dialect === 'sqlite') {
    return {
      dialect,
      dataDir,
      databaseUrl: null,
      drop: () => {
        rmSync(dataDir, { recursive: true, force: true });
        return Promise.resolve();
      },
    };
  }
  const adminUrl = inject('services').postgres;
  if (!adminUrl) throw new Error('PostgreSQL is not available');
  const name = `securechat_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    dialect,
    dataDir,
    databaseUrl: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Configuration as the server would load it, for tests: quiet logs, the given variables. */
export function testConfig(database: TestDatabase, env: Record<string, string> = {}): Config {
  return loadConfig({
    DATA_DIR: database.dataDir,
    LOG_LEVEL: 'silent',
    PUBLIC_ORIGIN: 'http://localhost:3000',
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    ...env,
  });
}

export interface TestApp {
  app: App;
  config: Config;
  secrets: Secrets;
  storage: Storage;
  vault: Keyring;
  database: TestDatabase;
  /** Close the app and drop the database. */
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  now?: () => number;
  webRoot?: string;
  /** A logger of the test's own, e.g. one that captures what the app logs. */
  logger?: Logger;
  /** Told of every route as it is added (buildApp's `onRoute`). */
  onRoute?: AppOptions['onRoute'];
  /** Routes a test adds before the app is ready (e.g. one that throws). */
  routes?: (app: FastifyInstance) => void;
}

/** A migrated database and a built (not listening) app on it. */
export async function createTestApp(
  dialect: Dialect,
  options: TestAppOptions = {},
): Promise<TestApp> {
  await opaque.ready;
  const database = await createTestDatabase(dialect);
  const config = testConfig(database, options.env);
  const secrets = await loadSecrets(config);
  const storage = openStorage({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  const vault = await openVault(config, storage.db);
  await migrateToLatest(storage, vault);
  const app = await buildApp({
    config,
    secrets,
    storage,
    vault,
    ...(options.now ? { now: options.now } : {}),
    ...(options.webRoot ? { webRoot: options.webRoot } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onRoute ? { onRoute: options.onRoute } : {}),
  });
  const { routes } = options;
  if (routes) {
    await app.register((child, _opts, done) => {
      routes(child);
      done();
    });
  }
  await app.ready();
  return {
    app,
    config,
    secrets,
    storage,
    vault,
    database,
    close: async () => {
      await app.close();
      await database.drop();
    },
  };
}

/** The environment a `securechat` command run by a test needs to reach this app's data. */
export function cliEnv(t: TestApp, env: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: t.database.dataDir,
    LOG_LEVEL: 'silent',
    ...(t.database.databaseUrl ? { DATABASE_URL: t.database.databaseUrl } : {}),
    ...env,
  };
}

/** Every stored username, opened (the column holds only sealed values). */
export async function storedUsernames(t: TestApp): Promise<string[]> {
  const rows = await t.storage.db.selectFrom('users').select('username').execute();
  return Promise.all(rows.map((r) => t.vault.open('username', r.username)));
}

/** A stored client address (audit log, login attempts), opened. */
export async function openAddress(t: TestApp, ip: string | null): Promise<string | null> {
  return ip === null ? null : t.vault.open('audit-address', ip);
}

/** The username columns of a `users` row written by a test: sealed, with its blind indexes. */
export async function usernameColumns(
  t: TestApp,
  username: string,
): Promise<{ username: string; username_index: string; username_skeleton: string }> {
  return {
    username: await t.vault.seal('username', username),
    username_index: t.vault.index('username', username),
    username_skeleton: t.vault.index('username-skeleton', username),
  };
}
