/**
 * Opens the database: the embedded SQLite file in DATA_DIR (WAL, foreign keys on, WAL
 * checkpoints in a worker thread) by
 * default, or PostgreSQL when DATABASE_URL is set. Same query code on both.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  sql,
  SqliteDialect,
  type LogEvent,
  type SqliteDatabase,
} from 'kysely';
import pg from 'pg';
import { startCheckpointer } from './checkpoint.js';
import type { SqliteSynchronous } from '../config.js';
import type { Dialect } from './dialect.js';
import type { MigrationVault } from './migrations/0012_encryption_at_rest.js';
import { migrations } from './migrations/index.js';
import type { Database } from './types.js';

/** Distinct SQL texts kept prepared (queries with `in (…)` lists vary in length). */
const STATEMENT_CACHE_MAX = 1000;

// Timestamps are BIGINT milliseconds: well inside Number's exact range, so read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface Storage {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Told of every query as it ends, with its duration (metrics); null stops it. */
  observeQueries(observer: QueryObserver | null): void;
  close(): Promise<void>;
}

export type QueryObserver = (event: LogEvent) => void;

/** Kysely's `log` hook, pointed at whoever observes now (the app is built after the storage). */
function queryLog() {
  let observer: QueryObserver | null = null;
  return {
    log: (event: LogEvent) => observer?.(event),
    observeQueries: (next: QueryObserver | null) => {
      observer = next;
    },
  };
}

export interface StorageOptions {
  dataDir: string;
  databaseUrl: string | null;
  /** Largest number of pooled PostgreSQL connections. */
  poolSize?: number;
  /** Told when an idle pooled connection fails (server restart, failover); the pool replaces it. */
  onIdleError?: (error: Error) => void;
  /**
   * SQLite's `synchronous`: `full` (default) — a commit is on disk when it returns, so what
   * the server answers survives a power cut; `normal` — only a killed process is survived.
   */
  synchronous?: SqliteSynchronous;
}

export function openStorage(options: StorageOptions): Storage {
  const { log, observeQueries } = queryLog();
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 10_000,
    });
    // Without a listener, an idle connection the server ends (restart, failover, a dropped
    // database) is an uncaught 'error' that takes the whole process down.
    pool.on('error', (error) => options.onIdleError?.(error));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log });
    return { db, dialect: 'postgres', observeQueries, close: () => db.destroy() };
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const path = join(options.dataDir, 'securechat.db');
  const file = new SQLite(path);
  file.pragma('journal_mode = WAL');
  // FULL: the log is synced at every commit, so a commit (and the ack that follows it) is on
  // disk when it returns — one sync per batch of sends (group commit, delivery/send.ts).
  // NORMAL: synced at checkpoints only; a power cut may lose the last commits.
  file.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  file.pragma('foreign_keys = ON');
  file.pragma('busy_timeout = 5000');
  // Checkpoints run in a worker thread (storage/checkpoint.ts), never in a commit here.
  file.pragma('wal_autocheckpoint = 0');
  const checkpointer = startCheckpointer(path);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: cachedStatements(file) }),
    log,
  });
  return {
    db,
    dialect: 'sqlite',
    observeQueries,
    close: async () => {
      await checkpointer.stop();
      await db.destroy(); // the last connection to close checkpoints what is left
    },
  };
}

/**
 * Kysely prepares every query anew; preparing is a good part of a small query's cost. Keep
 * the prepared statements by SQL text (the parameters are bound per run). Kysely runs one
 * query at a time on this connection, so a statement is never in use twice at once.
 */
function cachedStatements(file: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(sql) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = file.prepare(sql);
        if (statements.size >= STATEMENT_CACHE_MAX) statements.clear();
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      statements.clear();
      file.close();
    },
  };
}

/**
 * Apply every pending migration; throws with the failing migration's name. Then the vault's
 * keys are loaded (and checked against the master key) so the app can seal and open.
 */
export async function migrateToLatest(storage: Storage, vault: MigrationVault): Promise<void> {
  const migrator = new Migrator({
    db: storage.db,
    provider: { getMigrations: () => Promise.resolve(migrations(storage.dialect, vault)) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed`, { cause: error });
  }
  await vault.prepare(storage.db);
  const sealedNow = results?.some(
    (r) => r.migrationName === '0012_encryption_at_rest' && r.status === 'Success',
  );
  if (sealedNow && storage.dialect === 'sqlite') {
    // The plaintext 0012 replaced may linger in free pages and the WAL: rewrite the file.
    await sql`vacuum`.execute(storage.db);
    await sql`pragma wal_checkpoint(truncate)`.execute(storage.db);
  }
}
