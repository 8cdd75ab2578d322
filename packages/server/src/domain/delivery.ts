/**
 * The delivery service: rooms' ordered, durable event logs. To it a payload is opaque bytes.
 * Each accepted event gets the room's next sequence number and is committed before the
 * sender is acknowledged; a retried send (same device, same client message id) gets the
 * original acknowledgement instead of a second event. Access is one check: members only, and
 * a room you are not in looks exactly like a room that does not exist.
 */
import { ChatError, Limits, type EventKind, type RoomEvent } from '@securechat/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { Database, EventsTable } from '../storage/types.js';

/** #general: every account is a member. Fixed id, so every node agrees without coordination. */
export const GENERAL_ROOM_ID = 'GeneralRoom00000000000';

export interface DeliveryDeps {
  db: Kysely<Database>;
  now: () => number;
}

export interface Sender {
  userId: string;
  deviceId: string;
}

export interface SendInput {
  room: string;
  cmid: string;
  kind: EventKind;
  payload: Uint8Array;
  epoch?: number | undefined;
}

export interface Accepted {
  event: RoomEvent;
  /** True when this send was a retry of one already stored: nothing new to fan out. */
  duplicate: boolean;
  /** Everyone who receives the event: the room's members at the time of the send. */
  recipients: string[];
}

function toEvent(row: Selectable<EventsTable>): RoomEvent {
  const event: RoomEvent = {
    room: row.room_id,
    seq: Number(row.seq),
    kind: row.kind,
    sender: row.sender_id,
    device: row.device_id,
    cmid: row.cmid,
    at: Number(row.at),
    payload: new Uint8Array(row.payload),
  };
  if (row.epoch !== null) event.epoch = Number(row.epoch);
  return event;
}

export function createDelivery(deps: DeliveryDeps) {
  const { db, now } = deps;

  /** Members only; anyone else is told the room does not exist. */
  async function accessRoom(
    executor: Kysely<Database>,
    roomId: string,
    userId: string,
  ): Promise<void> {
    const member = await executor
      .selectFrom('room_members')
      .select('user_id')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!member) throw new ChatError('CHAT_ERR_NOT_FOUND');
  }

  return {
    /** Make sure #general exists and this user is in it (every account is). */
    async joinGeneral(userId: string): Promise<void> {
      const at = now();
      await db
        .insertInto('rooms')
        .values({
          id: GENERAL_ROOM_ID,
          kind: 'general',
          name: 'general',
          created_at: at,
          last_seq: 0,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      await db
        .insertInto('room_members')
        .values({ room_id: GENERAL_ROOM_ID, user_id: userId, role: 'member', joined_at: at })
        .onConflict((oc) => oc.columns(['room_id', 'user_id']).doNothing())
        .execute();
    },

    /** The rooms this user is in, with each room's latest sequence number. */
    async rooms(userId: string) {
      return db
        .selectFrom('room_members')
        .innerJoin('rooms', 'rooms.id', 'room_members.room_id')
        .select(['rooms.id', 'rooms.kind', 'rooms.name', 'rooms.last_seq'])
        .where('room_members.user_id', '=', userId)
        .execute();
    },

    /** The members of a room the user is in (for ephemeral fan-out such as typing). */
    async members(userId: string, room: string): Promise<string[]> {
      await accessRoom(db, room, userId);
      const rows = await db
        .selectFrom('room_members')
        .select('user_id')
        .where('room_id', '=', room)
        .execute();
      return rows.map((r) => r.user_id);
    },

    /** Persist one event and return it with its recipients. Idempotent per (device, cmid). */
    async send(sender: Sender, input: SendInput): Promise<Accepted> {
      return db.transaction().execute(async (trx) => {
        await accessRoom(trx, input.room, sender.userId);
        const recipients = (
          await trx
            .selectFrom('room_members')
            .select('user_id')
            .where('room_id', '=', input.room)
            .execute()
        ).map((r) => r.user_id);
        const existing = await trx
          .selectFrom('events')
          .selectAll()
          .where('room_id', '=', input.room)
          .where('device_id', '=', sender.deviceId)
          .where('cmid', '=', input.cmid)
          .executeTakeFirst();
        if (existing) return { event: toEvent(existing), duplicate: true, recipients };
        const { last_seq } = await trx
          .updateTable('rooms')
          .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
          .where('id', '=', input.room)
          .returning('last_seq')
          .executeTakeFirstOrThrow();
        const row = {
          room_id: input.room,
          seq: Number(last_seq),
          kind: input.kind,
          sender_id: sender.userId,
          device_id: sender.deviceId,
          cmid: input.cmid,
          at: now(),
          epoch: input.epoch ?? null,
          payload: input.payload,
        };
        await trx.insertInto('events').values(row).execute();
        return { event: toEvent(row), duplicate: false, recipients };
      });
    },

    /** Events before `before` (newest first on the server, returned oldest first). */
    async history(userId: string, room: string, before: number | undefined, limit: number) {
      await accessRoom(db, room, userId);
      const take = Math.min(limit, Limits.HISTORY_PAGE_MAX);
      let query = db.selectFrom('events').selectAll().where('room_id', '=', room);
      if (before !== undefined) query = query.where('seq', '<', before);
      const rows = await query
        .orderBy('seq', 'desc')
        .limit(take + 1)
        .execute();
      const more = rows.length > take;
      return { events: rows.slice(0, take).reverse().map(toEvent), more };
    },

    /** What a device missed: events after each position, oldest first, in one bounded batch. */
    async resume(userId: string, positions: { room: string; after: number }[]) {
      const events: RoomEvent[] = [];
      let more = false;
      for (const { room, after } of positions) {
        const budget = Limits.HISTORY_PAGE_MAX - events.length;
        if (budget <= 0) {
          more = true;
          break;
        }
        await accessRoom(db, room, userId);
        const rows = await db
          .selectFrom('events')
          .selectAll()
          .where('room_id', '=', room)
          .where('seq', '>', after)
          .orderBy('seq', 'asc')
          .limit(budget + 1)
          .execute();
        if (rows.length > budget) more = true;
        events.push(...rows.slice(0, budget).map(toEvent));
      }
      return { events, more };
    },
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
