import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * What end-to-end encryption needs of accounts, devices and rooms:
 *
 * - each user's identity: an Ed25519 public key (one per user, never changed once set; unique,
 *   so one key names one user) and the backup of its private key as the client encrypted it;
 * - a device outlives its sessions: the hash of the secret it was given when created, which
 *   lets a later sign-in on the same browser reuse it;
 * - a pending add can be one new device of a member rather than the whole member, so that
 *   member's other devices writing in the room do not end it;
 * - a room's group info is a blob (`group_info_blob`), not bytes in the rooms row: the bytes
 *   column of 0003 is emptied and no longer used.
 */
export function identity(dialect: Dialect) {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('users').addColumn('identity_key', bytes).execute();
      await db.schema.alterTable('users').addColumn('identity_backup', bytes).execute();
      await db.schema.alterTable('users').addColumn('identity_set_at', 'bigint').execute();
      await db.schema
        .createIndex('users_identity_key')
        .on('users')
        .column('identity_key')
        .unique()
        .execute();

      await db.schema.alterTable('devices').addColumn('secret_hash', 'text').execute();

      await db.schema.alterTable('pending_adds').addColumn('device_id', 'text').execute();

      await db.schema
        .alterTable('rooms')
        .addColumn('group_info_blob', 'text', (c) => c.references('blobs.id').onDelete('set null'))
        .execute();
      // The sweep and the quota skip each room's current group-info blob.
      await db.schema
        .createIndex('rooms_group_info_blob')
        .on('rooms')
        .column('group_info_blob')
        .execute();
      await sql`update rooms set group_info = null where group_info is not null`.execute(db);
    },
  };
}
