/**
 * SQLITE_SYNCHRONOUS reaches the connection: with `full` (the default) SQLite syncs its log at
 * every commit, so what the server acknowledges after a commit survives a power cut.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../src/storage/db.js';

const dir = mkdtempSync(join(tmpdir(), 'durability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite durability', () => {
  // PRAGMA synchronous answers 2 for FULL and 1 for NORMAL.
  for (const [setting, expected] of [
    [undefined, 2],
    ['full', 2],
    ['normal', 1],
  ] as const) {
    it(`runs synchronous=${expected === 2 ? 'FULL' : 'NORMAL'} with ${setting ?? 'the default'}`, async () => {
      const storage = openStorage({
        dataDir: join(dir, setting ?? 'default'),
        databaseUrl: null,
        ...(setting === undefined ? {} : { synchronous: setting }),
      });
      try {
        const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(storage.db);
        expect(rows[0]?.synchronous).toBe(expected);
      } finally {
        await storage.close();
      }
    });
  }
});
