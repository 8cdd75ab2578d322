/**
 * Migration 0007 on a database written before it, on SQLite and PostgreSQL: groups and direct
 * rooms lose their names and topics, and stored notices take their one-shape-per-type form,
 * readable by the current protocol's schema.
 */
import { Notice } from '@securechat/protocol';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { Migrator } from 'kysely';
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
const BOB = 'BobBobBobBobBobBobBob0';
const DEVICE = 'DeviceDeviceDevice0000';
const GROUP = 'GroupGroupGroupGroup00';
const CHANNEL = 'ChannelChannelChannel0';

describeEachDialect('migration 0007: metadata apart from content', (dialect) => {
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
    const { error } = await before.migrateTo('0006_room_constraints');
    if (error) throw new Error('migrating to 0006 failed', { cause: error });

    const { db } = storage;
    for (const [id, username] of [
      [ALICE, 'alice'],
      [BOB, 'bob'],
    ] as const) {
      await db
        .insertInto('users')
        .values({
          id,
          username,
          username_skeleton: username,
          opaque_record: 'x',
          role: 'member',
          created_at: 1,
          password_changed_at: 1,
          suspended_at: null,
        } as never) // the columns of the time (before 0012)
        .execute();
    }
    await db
      .insertInto('devices')
      .values({
        id: DEVICE,
        user_id: ALICE,
        name: 'Firefox',
        created_at: 1,
        last_seen_at: 1,
        revoked_at: null,
      })
      .execute();
    const room = (id: string, kind: 'group' | 'channel', name: string, topic: string) => ({
      id,
      kind,
      name,
      topic,
      visibility: 'shared' as const,
      password_hash: null,
      direct_key: null,
      group_info: null,
      created_at: 1,
      last_seq: 0,
    });
    await db
      .insertInto('rooms')
      .values([
        room(GROUP, 'group', 'Family secrets', 'Sundays'),
        room(CHANNEL, 'channel', 'lobby', 'Say hi'),
      ])
      .execute();
    const notice = (roomId: string, seq: number, value: object) => ({
      room_id: roomId,
      seq,
      kind: 'notice' as const,
      sender_id: ALICE,
      device_id: DEVICE,
      cmid: `n-${roomId}-${seq}`,
      at: seq,
      epoch: null,
      payload: new Uint8Array(),
      target: null,
      deleted_at: null,
      notice: JSON.stringify(value),
    });
    await db
      .insertInto('events')
      .values([
        notice(GROUP, 1, { type: 'create', name: 'Family secrets' }),
        notice(GROUP, 2, { type: 'invite', user: BOB, username: 'bob' }),
        notice(GROUP, 3, { type: 'settings', name: 'Family', topic: 'Sundays' }),
        notice(GROUP, 4, { type: 'role', user: BOB, role: 'moderator' }),
        notice(GROUP, 5, { type: 'leave', user: BOB }),
        notice(CHANNEL, 1, { type: 'create', name: 'lobby', protected: true }),
        notice(CHANNEL, 2, { type: 'settings', topic: 'Say hi', visibility: 'joined' }),
        notice(CHANNEL, 3, { type: 'join', user: BOB, username: 'bob' }),
      ])
      .execute();
    await migrateToLatest(storage, vault);
  });
  afterAll(async () => {
    await storage.close();
    await database.drop();
  });

  const noticesOf = async (roomId: string) =>
    Promise.all(
      (
        await storage.db
          .selectFrom('events')
          .select('notice')
          .where('room_id', '=', roomId)
          .orderBy('seq')
          .execute()
      ).map(async (r) => JSON.parse(await vault.open('notice', r.notice ?? '')) as unknown),
    );

  it('seals the usernames 0012 found, with their blind indexes, and nothing else reads them', async () => {
    const rows = await storage.db
      .selectFrom('users')
      .select(['id', 'username', 'username_index', 'username_skeleton'])
      .orderBy('id')
      .execute();
    expect(rows.map((r) => r.username)).not.toContain('alice');
    expect(await Promise.all(rows.map((r) => vault.open('username', r.username)))).toEqual([
      'alice',
      'bob',
    ]);
    expect(rows[0]?.username_index).toBe(vault.index('username', 'alice'));
    expect(rows[0]?.username_skeleton).toBe(vault.index('username-skeleton', 'alice'));
  });

  it('leaves none of the plaintext 0012 replaced in the database’s bytes', async () => {
    let bytes: Buffer;
    if (dialect === 'sqlite') {
      const file = join(database.dataDir, 'securechat.db');
      bytes = Buffer.concat(
        [file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)),
      );
    } else {
      bytes = execFileSync('pg_dump', ['--no-owner', database.databaseUrl ?? '']);
    }
    expect(bytes.includes(Buffer.from(CHANNEL))).toBe(true); // ids stay: the search works
    for (const plaintext of ['Say hi', 'lobby', 'Firefox']) {
      expect(bytes.includes(Buffer.from(plaintext)), plaintext).toBe(false);
    }
  });

  it('erases a group’s name and topic, and keeps a channel’s (sealed by 0012)', async () => {
    const sealed = await storage.db
      .selectFrom('rooms')
      .select(['id', 'name', 'topic'])
      .orderBy('id')
      .execute();
    const rows = await Promise.all(
      sealed.map(async (r) => ({
        id: r.id,
        name: r.name === null ? null : await vault.open('room-name', r.name),
        topic: r.topic === null ? null : await vault.open('room-topic', r.topic),
      })),
    );
    expect(sealed.find((r) => r.id === CHANNEL)?.name).toMatch(/^v1\./);
    expect(rows).toEqual([
      { id: CHANNEL, name: 'lobby', topic: 'Say hi' },
      { id: GROUP, name: null, topic: null },
    ]);
  });

  it('reshapes every stored notice into the current schema, without a group’s name', async () => {
    const group = await noticesOf(GROUP);
    expect(group).toEqual([
      { type: 'create', kind: 'group' },
      { type: 'invite', user: BOB, username: 'bob', awaitsCommit: true },
      { type: 'settings' },
      { type: 'role', user: BOB, username: 'bob', role: 'moderator' },
      { type: 'leave', user: BOB, username: 'bob', awaitsCommit: true },
    ]);
    expect(JSON.stringify(group)).not.toContain('Family');
    const channel = await noticesOf(CHANNEL);
    expect(channel).toEqual([
      { type: 'create', kind: 'channel', name: 'lobby', protected: true },
      { type: 'settings', topic: 'Say hi', visibility: 'joined' },
      { type: 'join', user: BOB, username: 'bob', awaitsCommit: true },
    ]);
    for (const notice of [...group, ...channel]) expect(Value.Check(Notice, notice)).toBe(true);
  });
});
