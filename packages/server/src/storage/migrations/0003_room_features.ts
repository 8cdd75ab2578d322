import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * What rooms need beyond an ordered log: settings (topic, history visibility, a password for
 * protected rooms), one direct room per pair, the MLS epoch and group-info blob, per-member
 * mute and join position, edits/deletes/notices on events, blocks, delete codes, key
 * packages and per-device inboxes.
 */
export function roomFeatures(dialect: Dialect) {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      // SQLite adds one column per ALTER TABLE.
      const roomColumns: [string, 'text' | 'bigint' | typeof bytes, boolean][] = [
        ['topic', 'text', false],
        ['visibility', 'text', true],
        ['password_hash', 'text', false],
        ['direct_key', 'text', false],
        ['epoch', 'bigint', true],
        ['members_version', 'bigint', true],
        ['group_info', bytes, false],
      ];
      for (const [name, type, notNull] of roomColumns) {
        await db.schema
          .alterTable('rooms')
          .addColumn(name, type, (c) =>
            notNull ? c.notNull().defaultTo(type === 'bigint' ? 0 : 'shared') : c,
          )
          .execute();
      }
      await db.schema
        .createIndex('rooms_direct_key')
        .unique()
        .on('rooms')
        .column('direct_key')
        .execute();
      await db.schema
        .createIndex('rooms_kind_name')
        .on('rooms')
        .columns(['kind', 'name'])
        .execute();

      await db.schema
        .alterTable('room_members')
        .addColumn('muted', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('room_members')
        .addColumn('joined_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema.alterTable('events').addColumn('target', 'bigint').execute();
      await db.schema.alterTable('events').addColumn('deleted_at', 'bigint').execute();
      await db.schema.alterTable('events').addColumn('notice', 'text').execute();

      await db.schema
        .createTable('blocks')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('blocked_id', 'text', (c) =>
          c.notNull().references('users.id').onDelete('cascade'),
        )
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('blocks_pk', ['user_id', 'blocked_id'])
        .execute();

      await db.schema
        .createTable('delete_codes')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('delete_codes_pk', ['user_id', 'room_id', 'seq'])
        .execute();

      await db.schema
        .createTable('key_packages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('device_id', 'text', (c) =>
          c.notNull().references('devices.id').onDelete('cascade'),
        )
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('last_resort', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('data', bytes, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('key_packages_device')
        .on('key_packages')
        .columns(['device_id', 'last_resort', 'created_at'])
        .execute();

      await db.schema
        .createTable('inbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('device_id', 'text', (c) =>
          c.notNull().references('devices.id').onDelete('cascade'),
        )
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('sender_id', 'text', (c) => c.notNull())
        .addColumn('sender_device', 'text', (c) => c.notNull())
        .addColumn('cmid', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('payload', bytes, (c) => c.notNull())
        .addUniqueConstraint('inbox_idempotency', ['device_id', 'sender_device', 'cmid'])
        .execute();
      await db.schema
        .createIndex('inbox_device')
        .on('inbox')
        .columns(['device_id', 'at'])
        .execute();
    },
  };
}
