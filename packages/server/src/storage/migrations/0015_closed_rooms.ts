import type { Kysely } from 'kysely';

/**
 * Rooms an administrator closed (0015): a read-only archive. Members keep the room and its
 * history, and may still leave it; nobody may write in it until it is reopened (null).
 */
export function closedRooms() {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('rooms').addColumn('closed_at', 'bigint').execute();
    },
  };
}
