import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Rooms, members and the ordered event log. An event's payload is opaque bytes (ciphertext);
 * `rooms.last_seq` hands out per-room sequence numbers inside the sending transaction.
 */
export function rooms(dialect: Dialect) {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('rooms')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) =>
          c.notNull().check(sql`kind in ('general', 'channel', 'group', 'direct')`),
        )
        .addColumn('name', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('room_members')
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) =>
          c.notNull().check(sql`role in ('owner', 'moderator', 'member')`),
        )
        .addColumn('joined_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('room_members_pk', ['room_id', 'user_id'])
        .execute();
      await db.schema
        .createIndex('room_members_user')
        .on('room_members')
        .column('user_id')
        .execute();

      await db.schema
        .createTable('events')
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('sender_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('cmid', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('epoch', 'bigint')
        .addColumn('payload', bytes, (c) => c.notNull())
        .addPrimaryKeyConstraint('events_pk', ['room_id', 'seq'])
        .addUniqueConstraint('events_idempotency', ['room_id', 'device_id', 'cmid'])
        .execute();
    },
  };
}
