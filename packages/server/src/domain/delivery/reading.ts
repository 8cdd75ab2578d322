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
  const { count: kept } = withinBytes(rows.slice(0, take), 0, true);
  const more = rows.length > kept;
  return { events: await openEvents(vault, rows.slice(0, kept).reverse()), more };
}

/**
 * How many of these rows, in order, fit in what is left of a page's payload bytes
 * (Limits.PAGE_BYTES_MAX) after `used`, and the bytes used then; the first always fits on an
 * empty page.
 */
function withinBytes(rows: readonly { payload: Uint8Array }[], used: number, empty: boolean) {
  let bytes = used;
  let count = 0;
  for (const row of rows) {
    if ((count > 0 || !empty) && bytes + row.payload.length > Limits.PAGE_BYTES_MAX) break;
    bytes += row.payload.length;
    count += 1;
  }
  return { count, bytes };
}

/**
 * What a device missed: events after each position, oldest first, in one batch bounded by
 * count and by payload bytes (Limits.RESUME_PAGE_MAX, PAGE_BYTES_MAX).
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
  let bytes = 0;
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
    const budget = Limits.RESUME_PAGE_MAX - events.length;
    if (budget <= 0 || bytes >= Limits.PAGE_BYTES_MAX) {
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
    const fit = withinBytes(rows.slice(0, budget), bytes, events.length === 0);
    const take = fit.count;
    bytes = fit.bytes;
    if (rows.length > take) more = true;
    events.push(...(await openEvents(vault, rows.slice(0, take))));
  }
  return gone.length > 0 ? { events, more, gone } : { events, more };
}
