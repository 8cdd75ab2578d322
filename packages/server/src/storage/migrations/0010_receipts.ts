import type { Kysely } from 'kysely';

/**
 * Receipts: how far each member's devices have received and read a room. Kept only for rooms
 * small enough to share them (Limits.RECEIPT_ROOM_MEMBERS_MAX); they only move forward.
 */
export function receipts() {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .alterTable('room_members')
        .addColumn('delivered_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('room_members')
        .addColumn('read_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };
}
