import type { Kysely } from 'kysely';

/**
 * Password-reset links an administrator makes for a user (only the token's SHA-256 is kept;
 * at most one unused link per user), and an index for each user's own account activity.
 */
export function resetLinks() {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('reset_links')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('reset_links_user')
        .on('reset_links')
        .columns(['user_id'])
        .execute();
      await db.schema
        .createIndex('audit_log_user_id')
        .on('audit_log')
        .columns(['user_id', 'id'])
        .execute();
    },
  };
}
