/**
 * The SQLite log sync behind durable acknowledgements (storage/durability.ts) and the
 * storage's `durable()` on a real database file.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../src/storage/db.js';
import { createWalSync } from '../src/storage/durability.js';

const dir = mkdtempSync(join(tmpdir(), 'durability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the log sync', () => {
  it('shares one sync among everyone who asks while one is under way, then starts anew', async () => {
    const file = join(dir, 'shared.log');
    writeFileSync(file, 'committed');
    const wal = createWalSync(file);
    try {
      const first = wal.sync();
      // Asked while the first is running: both wait for the one after it, which covers them.
      const second = wal.sync();
      const third = wal.sync();
      expect(second).toBe(third);
      expect(second).not.toBe(first);
      await Promise.all([first, second, third]);
      // Nothing under way: a new one.
      const fourth = wal.sync();
      expect(fourth).not.toBe(second);
      await fourth;
    } finally {
      await wal.close();
    }
  });

  it('fails while the file cannot be opened and works once it can', async () => {
    const file = join(dir, 'late.log');
    const wal = createWalSync(file);
    try {
      await expect(wal.sync()).rejects.toThrow(/ENOENT/);
      writeFileSync(file, 'now here');
      await expect(wal.sync()).resolves.toBeUndefined();
    } finally {
      await wal.close();
    }
  });
});

describe('durable()', () => {
  for (const synchronous of ['full', 'normal'] as const) {
    it(`answers after a commit with SQLITE_SYNCHRONOUS=${synchronous}`, async () => {
      const dataDir = join(dir, synchronous);
      const storage = openStorage({ dataDir, databaseUrl: null, synchronous });
      try {
        await storage.db.schema.createTable('t').addColumn('a', 'integer').execute();
        await sql`insert into t (a) values (1)`.execute(storage.db);
        await expect(storage.durable()).resolves.toBeUndefined();
        expect(existsSync(join(dataDir, 'securechat.db-wal'))).toBe(true);
      } finally {
        await storage.close();
      }
    });
  }
});
