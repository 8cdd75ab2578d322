/**
 * Room membership bookkeeping: who is in a room, the member-list cache, blocks between two
 * people and the direct-room key of a pair. The access rules themselves are in access.ts.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../storage/types.js';
import type { Membership } from './access.js';

export async function memberIds(db: Kysely<Database>, roomId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('room_members')
    .select('user_id')
    .where('room_id', '=', roomId)
    .execute();
  return rows.map((r) => r.user_id);
}

/** Whether this user is in this room (no access check: for the room's own bookkeeping). */
export async function isMember(
  db: Kysely<Database>,
  roomId: string,
  userId: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('room_members')
    .select('user_id')
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Record a change of a room's members (inside the transaction that made it). */
export async function membersChanged(db: Kysely<Database>, roomId: string): Promise<void> {
  await db
    .updateTable('rooms')
    .set((eb) => ({ members_version: eb('members_version', '+', 1) }))
    .where('id', '=', roomId)
    .execute();
}

/**
 * Member lists by room, reused while the room's members_version is unchanged: a send to a
 * big room does not read every member again. Every node keeps its own; the version lives in
 * the database, so a change made on any node is seen by all.
 */
export function createMemberCache(maxRooms = 10_000) {
  const cache = new Map<string, { version: number; ids: string[] }>();
  return async (db: Kysely<Database>, member: Membership): Promise<string[]> => {
    const hit = cache.get(member.roomId);
    if (hit && hit.version === member.membersVersion) return hit.ids;
    const ids = await memberIds(db, member.roomId);
    if (cache.size >= maxRooms) cache.clear();
    cache.set(member.roomId, { version: member.membersVersion, ids });
    return ids;
  };
}

/** Whether either of two users has blocked the other. */
export async function blockedBetween(
  db: Kysely<Database>,
  a: string,
  b: string,
): Promise<{ aBlockedB: boolean; bBlockedA: boolean }> {
  const rows = await db
    .selectFrom('blocks')
    .select(['user_id', 'blocked_id'])
    .where((eb) =>
      eb.or([
        eb.and([eb('user_id', '=', a), eb('blocked_id', '=', b)]),
        eb.and([eb('user_id', '=', b), eb('blocked_id', '=', a)]),
      ]),
    )
    .execute();
  return {
    aBlockedB: rows.some((r) => r.user_id === a),
    bBlockedA: rows.some((r) => r.user_id === b),
  };
}

/** The direct room key of a pair: the same whichever of them asks. */
export const directKey = (a: string, b: string): string => (a < b ? `${a}:${b}` : `${b}:${a}`);
