import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openStorage, type Storage } from '../src/storage/db.js';
import { openVault } from '../src/vault/index.js';
import {
  createTestDatabase,
  describeEachDialect,
  testConfig,
  type TestDatabase,
} from './support/harness.js';

describeEachDialect('storage', (dialect) => {
  let database: TestDatabase;
  let storage: Storage;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    storage = openStorage({ dataDir: database.dataDir, databaseUrl: database.databaseUrl });
    await migrateToLatest(storage, await openVault(testConfig(database), storage.db));
  });
  afterAll(async () => {
    await storage.close();
    await database.drop();
  });

  it('applies the migrations once and again as a no-op', async () => {
    await migrateToLatest(storage, await openVault(testConfig(database), storage.db));
    const tables = await storage.db.introspection.getTables();
    const names = tables.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['users', 'devices', 'sessions', 'invites', 'audit_log']),
    );
  });

  it('enforces foreign keys and unique usernames', async () => {
    const now = Date.now();
    await expect(
      storage.db
        .insertInto('devices')
        .values({ id: 'd1', user_id: 'nobody', name: 'x', created_at: now, last_seen_at: now })
        .execute(),
    ).rejects.toThrow();
    const user = {
      id: 'u1',
      username: 'sealed',
      username_index: 'alice',
      username_skeleton: 'alice',
      opaque_record: 'r',
      role: 'member' as const,
      created_at: now,
      password_changed_at: now,
    };
    await storage.db.insertInto('users').values(user).execute();
    await expect(
      storage.db
        .insertInto('users')
        .values({ ...user, id: 'u2' })
        .execute(),
    ).rejects.toThrow();
    const row = await storage.db
      .selectFrom('users')
      .select(['created_at'])
      .where('id', '=', 'u1')
      .executeTakeFirstOrThrow();
    expect(row.created_at).toBe(now);
  });
});

describe('the embedded database', () => {
  it('checkpoints its write-ahead log in the background, not in a commit', async () => {
    const database = await createTestDatabase('sqlite');
    const storage = openStorage({ dataDir: database.dataDir, databaseUrl: null });
    try {
      await migrateToLatest(storage, await openVault(testConfig(database), storage.db));
      const file = join(database.dataDir, 'securechat.db');
      // Let a first background checkpoint settle the migrations into the file.
      await new Promise((r) => setTimeout(r, 1500));
      const before = statSync(file).size;
      const rows = Array.from({ length: 4000 }, (_, i) => ({
        at: i,
        event: 'test.filler',
        user_id: null,
        ip: null,
        detail: 'x'.repeat(200),
      }));
      for (let i = 0; i < rows.length; i += 500)
        await storage.db
          .insertInto('audit_log')
          .values(rows.slice(i, i + 500))
          .execute();
      // The serving connection never checkpoints; the worker copies the log into the file.
      const deadline = Date.now() + 5000;
      while (statSync(file).size <= before + 500_000 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(statSync(file).size).toBeGreaterThan(before + 500_000);
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});
