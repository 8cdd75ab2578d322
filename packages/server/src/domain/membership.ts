/**
 * Room membership bookkeeping: who is in a room, the member-list cache, blocks between two
 * people, the direct-room key of a pair, row locks for capacity checks and pending adds
 * (members the room's MLS group may not have yet). The access rules themselves are in access.ts.
 */
import { Limits } from '@securechat/protocol';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../storage/dialect.js';
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

/**
 * PostgreSQL: lock these rows until the transaction ends, in id order (so two transactions
 * never wait on each other crosswise), making the counts that follow atomic with the insert.
 * The lock is FOR NO KEY UPDATE: lockers wait for each other, but a row that merely references
 * a locked one (a foreign key check takes FOR KEY SHARE) does not wait. With FOR UPDATE, two
 * transactions each holding their own user and inserting a row naming the other's deadlock
 * (two people claiming each other's key packages at once did).
 * SQLite needs nothing: its writers are serialized (one connection, one transaction at once).
 */
export async function lockRows(
  trx: Kysely<Database>,
  dialect: Dialect,
  table: 'rooms' | 'users' | 'devices',
  ids: readonly string[],
): Promise<void> {
  if (dialect !== 'postgres' || ids.length === 0) return;
  await trx
    .selectFrom(table)
    .select('id')
    .where('id', 'in', [...new Set(ids)])
    .orderBy('id')
    .forNoKeyUpdate()
    .execute();
}

/**
 * Remember that this user was just added to this room, so its members may claim their key
 * packages and send their devices welcomes (domain/mls.ts). A new add starts afresh. With
 * `device`, only that new device of theirs is added (they are in the group already): unless
 * the whole member is still pending, or another new device of theirs is, which makes the
 * whole member pending again (one row says one device, or all of them).
 */
export async function markPendingAdd(
  trx: Kysely<Database>,
  at: number,
  roomId: string,
  userId: string,
  device: string | null = null,
): Promise<void> {
  const expiresAt = at + Limits.PENDING_ADD_TTL_SECONDS * 1000;
  // Counts start afresh for whom this add is about: the whole member, or only the new
  // device (a welcome still owed to another device of theirs must stay answerable).
  let claims = trx
    .deleteFrom('key_package_claims')
    .where('room_id', '=', roomId)
    .where('target_user', '=', userId);
  if (device !== null) claims = claims.where('device_id', '=', device);
  await claims.execute();
  const deviceId =
    device === null
      ? null
      : sql<string | null>`case
          when pending_adds.expires_at > ${at}
            and (pending_adds.device_id is null or pending_adds.device_id <> ${device})
          then null else ${device} end`;
  await trx
    .insertInto('pending_adds')
    .values({
      room_id: roomId,
      user_id: userId,
      added_at: at,
      expires_at: expiresAt,
      device_id: device,
    })
    .onConflict((oc) =>
      oc
        .columns(['room_id', 'user_id'])
        .doUpdateSet({ added_at: at, expires_at: expiresAt, device_id: deviceId }),
    )
    .execute();
}

/**
 * This member wrote in the room, so they (or the pending device) are in its group: nothing
 * more may be claimed for them. Claims already made stay answerable by their welcomes (the
 * commit that adds a device is itself a write, and its welcome follows it).
 */
export async function endPendingAdd(
  trx: Kysely<Database>,
  roomId: string,
  userId: string,
): Promise<void> {
  await trx
    .deleteFrom('pending_adds')
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .execute();
}

/** Someone left or was removed: nothing is pending for them in this room any more. */
export async function clearPendingAdd(
  trx: Kysely<Database>,
  roomId: string,
  userId: string,
): Promise<void> {
  await endPendingAdd(trx, roomId, userId);
  await trx
    .deleteFrom('key_package_claims')
    .where('room_id', '=', roomId)
    .where('target_user', '=', userId)
    .execute();
}
