import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Blobs: opaque bytes bigger than a frame (ratchet trees, welcomes, group info), uploaded
 * over HTTP into a room, readable by its members until they expire.
 */
export function blobs(dialect: Dialect) {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('blobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('data', bytes, (c) => c.notNull())
        .execute();
      // The quota sums one user's unexpired blobs; the sweep deletes by expiry.
      await db.schema
        .createIndex('blobs_user_expires')
        .on('blobs')
        .columns(['user_id', 'expires_at'])
        .execute();
      await db.schema.createIndex('blobs_expires').on('blobs').column('expires_at').execute();
    },
  };
}
