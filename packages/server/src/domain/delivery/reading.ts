/**
 * Reading the log: scroll-back history and resume after a reconnect, both honouring the
 * room's history visibility.
 */
import { Limits, type RoomEvent } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/types.js';
import { accessRoom, readableAfter } from '../membership.js';
import { toEvent } from './events.js';

/** Events before `before` (newest first on the server, returned oldest first). */
export async function history(
  db: Kysely<Database>,
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
  return { events: rows.slice(0, take).reverse().map(toEvent), more };
}

/** What a device missed: events after each position, oldest first, in one bounded batch. */
export async function resume(
  db: Kysely<Database>,
  userId: string,
  positions: { room: string; after: number }[],
) {
  const events: RoomEvent[] = [];
  let more = false;
  for (const { room, after } of positions) {
    const budget = Limits.HISTORY_PAGE_MAX - events.length;
    if (budget <= 0) {
      more = true;
      break;
    }
    const member = await accessRoom(db, room, userId);
    const rows = await db
      .selectFrom('events')
      .selectAll()
      .where('room_id', '=', room)
      .where('seq', '>', Math.max(after, readableAfter(member)))
      .orderBy('seq', 'asc')
      .limit(budget + 1)
      .execute();
    if (rows.length > budget) more = true;
    events.push(...rows.slice(0, budget).map(toEvent));
  }
  return { events, more };
}
