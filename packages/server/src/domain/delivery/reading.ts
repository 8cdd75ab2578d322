/**
 * Reading the log: scroll-back history and resume after a reconnect, both honouring the
 * room's history visibility.
 */
import { Limits, type RoomEvent, type RoomId } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/types.js';
import { accessRoom, membershipsOf, readableAfter } from '../access.js';
import type { Vault } from '../vault.js';
import { openEvents } from './events.js';

/** Events before `before` (newest first on the server, returned oldest first). */
export async function history(
  db: Kysely<Database>,
  vault: Vault,
  userId: string,
  room: string,
  before: number | undefined,
  limit: number,
) {
  const member = await accessRoom(db, room, userId);
  const take = Math.min(limit, Limits.HISTORY_PAGE_MAX);
  let query = db
    .selectFrom('events')
    .selectAll()
    .where('room_id', '=', room)
    .where('seq', '>', readableAfter(member));
  if (before !== undefined) query = query.where('seq', '<', before);
  const rows = await query
    .orderBy('seq', 'desc')
    .limit(take + 1)
    .execute();
  const more = rows.length > take;
  return { events: await openEvents(vault, rows.slice(0, take).reverse()), more };
}

/**
 * What a device missed: events after each position, oldest first, in one bounded batch.
 * A position naming a room that is no longer this user's (left, removed from, deleted — or
 * never theirs, which looks the same) does not fail the request: the room is skipped and
 * named in `gone`, so the device drops that position and still gets everything else.
 */
export async function resume(
  db: Kysely<Database>,
  vault: Vault,
  userId: string,
  positions: { room: RoomId; after: number }[],
): Promise<{ events: RoomEvent[]; more: boolean; gone?: RoomId[] }> {
  const events: RoomEvent[] = [];
  const gone: RoomId[] = [];
  let more = false;
  const mine = await membershipsOf(
    db,
    positions.map((p) => p.room),
    userId,
  );
  for (const { room, after } of positions) {
    const member = mine.get(room);
    if (!member) {
      gone.push(room);
      continue;
    }
    const budget = Limits.HISTORY_PAGE_MAX - events.length;
    if (budget <= 0) {
      more = true;
      continue;
    }
    const rows = await db
      .selectFrom('events')
      .selectAll()
      .where('room_id', '=', room)
      .where('seq', '>', Math.max(after, readableAfter(member)))
      .orderBy('seq', 'asc')
      .limit(budget + 1)
      .execute();
    if (rows.length > budget) more = true;
    events.push(...(await openEvents(vault, rows.slice(0, budget))));
  }
  return gone.length > 0 ? { events, more, gone } : { events, more };
}
