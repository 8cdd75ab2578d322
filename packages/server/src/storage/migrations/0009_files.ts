import type { Kysely } from 'kysely';

/**
 * Files: the rows of attachments whose ciphertext lives in the object store (a folder in
 * DATA_DIR, or S3). No foreign keys: when a room or a row goes, the object must go too, so
 * rows are only ever removed by the collector, which deletes the object first.
 */
export function files() {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('files')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('room_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('message_seq', 'bigint')
        .addColumn('expires_at', 'bigint')
        .execute();
      // The quota sums one user's files; a delete finds a message's; the collector, by expiry.
      await db.schema.createIndex('files_user').on('files').column('user_id').execute();
      await db.schema
        .createIndex('files_message')
        .on('files')
        .columns(['room_id', 'message_seq'])
        .execute();
      await db.schema.createIndex('files_expires').on('files').column('expires_at').execute();
    },
  };
}
