/**
 * Migration 0008 on a database written before it, on SQLite and PostgreSQL: accounts have no
 * identity yet, devices no secret (a sign-in cannot reuse them, so it makes a new one), pending
 * adds are for whole members, and the group-info bytes kept in rooms are gone.
 */
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrateToLatest, openStorage, type Storage } from '../src/storage/db.js';
import { migrations } from '../src/storage/migrations/index.js';
import { openVault } from '../src/vault/index.js';
import type { Keyring } from '../src/vault/keyring.js';
import {
  createTestDatabase,
  describeEachDialect,
  testConfig,
  type TestDatabase,
} from './support/harness.js';

const ALICE = 'AliceAliceAliceAlice00';
const DEVICE = 'DeviceDeviceDevice0000';
const GROUP = 'GroupGroupGroupGroup00';

describeEachDialect('migration 0008: identities, device secrets, group-info blobs', (dialect) => {
  let database: TestDatabase;
  let storage: Storage;
  let vault: Keyring;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    storage = openStorage({ dataDir: database.dataDir, databaseUrl: database.databaseUrl });
    vault = await openVault(testConfig(database), storage.db);
    const before = new Migrator({
      db: storage.db,
      provider: { getMigrations: () => Promise.resolve(migrations(storage.dialect, vault)) },
    });
    const { error } = await before.migrateTo('0007_metadata_apart');
    if (error) throw new Error('migrating to 0007 failed', { cause: error });
    const { db } = storage;
    await sql`insert into users (id, username, username_skeleton, opaque_record, role,
      created_at, password_changed_at) values (${ALICE}, 'alice', 'alice', 'x', 'member', 1, 1)`.execute(
      db,
    );
    await sql`insert into devices (id, user_id, name, created_at, last_seen_at)
      values (${DEVICE}, ${ALICE}, 'Firefox', 1, 1)`.execute(db);
    await sql`insert into rooms (id, kind, created_at, last_seq, group_info)
      values (${GROUP}, 'group', 1, 0, ${new Uint8Array([1, 2, 3])})`.execute(db);
    await sql`insert into pending_adds (room_id, user_id, added_at, expires_at)
      values (${GROUP}, ${ALICE}, 1, 2)`.execute(db);
    await migrateToLatest(storage, vault);
  });
  afterAll(async () => {
    await storage.close();
    await database.drop();
  });

  it('leaves accounts without an identity and devices without a secret', async () => {
    expect(
      await storage.db
        .selectFrom('users')
        .select(['identity_key', 'identity_backup', 'identity_set_at'])
        .execute(),
    ).toEqual([{ identity_key: null, identity_backup: null, identity_set_at: null }]);
    expect(await storage.db.selectFrom('devices').select('secret_hash').execute()).toEqual([
      { secret_hash: null },
    ]);
  });

  it('makes pending adds whole-member ones and drops the group-info bytes of rooms', async () => {
    expect(await storage.db.selectFrom('pending_adds').select('device_id').execute()).toEqual([
      { device_id: null },
    ]);
    expect(await storage.db.selectFrom('rooms').select('group_info_blob').execute()).toEqual([
      { group_info_blob: null },
    ]);
    const old = await sql<{ group_info: unknown }>`select group_info from rooms`.execute(
      storage.db,
    );
    expect(old.rows).toEqual([{ group_info: null }]);
  });
});
