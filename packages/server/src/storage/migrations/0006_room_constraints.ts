import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Constraints where check-then-insert raced on PostgreSQL: one channel per name (case-folded),
 * and the pending adds that bind key-package claims and inbox messages to an actual
 * invitation or join (with per-sender counters for their quotas).
 *
 * Channel names that already collide (made by that race) are renamed before the index is
 * built: every one but the oldest gets `-` and the start of its id appended.
 */
export function roomConstraints(_dialect: Dialect) {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await sql`
        update rooms set name = name || '-' || substr(id, 1, 8)
        where kind = 'channel' and exists (
          select 1 from rooms older
          where older.kind = 'channel' and lower(older.name) = lower(rooms.name)
            and (older.created_at < rooms.created_at
              or (older.created_at = rooms.created_at and older.id < rooms.id))
        )`.execute(db);
      await sql`
        create unique index rooms_channel_name on rooms (lower(name))
        where kind = 'channel'`.execute(db);

      // A member added to a room (invited or joined) whose devices the room's MLS group does
      // not have yet: who may claim their key packages and write welcomes to their devices.
      await db.schema
        .createTable('pending_adds')
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('added_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pending_adds_pk', ['room_id', 'user_id'])
        .execute();

      // Which device's key package a sender claimed for a room: what a welcome may answer.
      await db.schema
        .createTable('key_package_claims')
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('sender_id', 'text', (c) =>
          c.notNull().references('users.id').onDelete('cascade'),
        )
        .addColumn('target_user', 'text', (c) =>
          c.notNull().references('users.id').onDelete('cascade'),
        )
        .addColumn('device_id', 'text', (c) =>
          c.notNull().references('devices.id').onDelete('cascade'),
        )
        .addColumn('claimed_at', 'bigint', (c) => c.notNull())
        .addColumn('claims', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('welcomes', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('key_package_claims_pk', ['room_id', 'sender_id', 'device_id'])
        .execute();
      await db.schema
        .createIndex('key_package_claims_sender')
        .on('key_package_claims')
        .columns(['sender_id', 'target_user', 'claimed_at'])
        .execute();
    },
  };
}
