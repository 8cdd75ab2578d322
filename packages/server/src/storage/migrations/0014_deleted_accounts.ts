import type { Kysely } from 'kysely';

/**
 * Accounts an administrator deleted (0014): the row stays, so the name stays taken and their
 * messages keep a sender, but it has no devices, sessions, memberships or identity key left.
 */
export function deletedAccounts() {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('users').addColumn('deleted_at', 'bigint').execute();
    },
  };
}
