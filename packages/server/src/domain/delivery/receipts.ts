/**
 * Receipts: how far each member of a small room has received (`delivered`) and read the room.
 * The positions only move forward and never past the room's newest event; reading implies
 * having received. In rooms bigger than Limits.RECEIPT_ROOM_MEMBERS_MAX nothing is kept or
 * shared: a receipt there is accepted and ignored, so clients need not know the size.
 */
import { Limits, type Receipt } from '@securechat/protocol';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../storage/types.js';
import { openUsernames } from '../people.js';
import type { Vault } from '../vault.js';
import { accessRoom } from '../access.js';
import { seqOf, userIdOf } from '../ids.js';
import { memberIds } from '../membership.js';

async function roomSize(db: Kysely<Database>, room: string): Promise<number> {
  const row = await db
    .selectFrom('room_members')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('room_id', '=', room)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Move this user's positions forward. Returns the receipt to share and who to share it with,
 * or null when nothing changed or the room is too big for receipts.
 */
export async function recordReceipt(
  db: Kysely<Database>,
  vault: Vault,
  userId: string,
  room: string,
  input: { delivered?: number; read?: number },
): Promise<{ receipt: Receipt; audience: string[] } | null> {
  const member = await accessRoom(db, room, userId);
  const read = Math.min(input.read ?? 0, member.lastSeq);
  const delivered = Math.max(Math.min(input.delivered ?? 0, member.lastSeq), read);
  if (delivered === 0) return null;
  const audience = await memberIds(db, room);
  if (audience.length > Limits.RECEIPT_ROOM_MEMBERS_MAX) return null;
  const updated = await db
    .updateTable('room_members')
    .set({
      delivered_seq: sql<number>`case when delivered_seq < ${delivered} then ${delivered} else delivered_seq end`,
      read_seq: sql<number>`case when read_seq < ${read} then ${read} else read_seq end`,
    })
    .where('room_id', '=', room)
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('delivered_seq', '<', delivered), eb('read_seq', '<', read)]))
    .returning(['delivered_seq', 'read_seq'])
    .executeTakeFirst();
  if (!updated) return null;
  const user = await db
    .selectFrom('users')
    .select('username')
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  return {
    receipt: {
      user: userIdOf(userId),
      username: await vault.open('username', user.username),
      delivered: seqOf(updated.delivered_seq),
      read: seqOf(updated.read_seq),
    },
    audience: audience.filter((id) => id !== userId),
  };
}

/** The other members' receipts in a room this user is in (none in a room too big for them). */
export async function receiptsOf(
  db: Kysely<Database>,
  vault: Vault,
  userId: string,
  room: string,
): Promise<{ enabled: boolean; receipts: Receipt[] }> {
  await accessRoom(db, room, userId);
  if ((await roomSize(db, room)) > Limits.RECEIPT_ROOM_MEMBERS_MAX)
    return { enabled: false, receipts: [] };
  const rows = await db
    .selectFrom('room_members')
    .innerJoin('users', 'users.id', 'room_members.user_id')
    .select(['room_members.user_id', 'users.username', 'delivered_seq', 'read_seq'])
    .where('room_members.room_id', '=', room)
    .where('room_members.user_id', '!=', userId)
    .execute();
  return {
    enabled: true,
    receipts: (await openUsernames(vault, rows)).map((row) => ({
      user: userIdOf(row.user_id),
      username: row.username,
      delivered: seqOf(row.delivered_seq),
      read: seqOf(row.read_seq),
    })),
  };
}
