/**
 * The ordered log itself: what an event is, how it gets the room's next seq, and how a
 * stored row becomes the wire event. Every other delivery and rooms module appends through
 * here, inside its own transaction.
 */
import type { Notice, RoomEvent } from '@securechat/protocol';
import type { Selectable, Transaction } from 'kysely';
import type { Database, EventKindColumn, EventsTable } from '../../storage/types.js';
import { newId } from '../crypto.js';

export interface Sender {
  userId: string;
  deviceId: string;
}

export interface Accepted {
  event: RoomEvent;
  /** True when this send was a retry of one already stored: nothing new to fan out. */
  duplicate: boolean;
  /** Everyone who receives the event: the room's members at the time (and anyone it removed). */
  recipients: string[];
}

export const EMPTY = new Uint8Array(0);

export function toEvent(row: Selectable<EventsTable>): RoomEvent {
  const event: RoomEvent = {
    room: row.room_id,
    seq: Number(row.seq),
    kind: row.kind,
    sender: row.sender_id,
    device: row.device_id,
    cmid: row.cmid,
    at: Number(row.at),
    payload: row.deleted_at === null ? new Uint8Array(row.payload) : EMPTY,
  };
  if (row.epoch !== null) event.epoch = Number(row.epoch);
  if (row.target !== null) event.target = Number(row.target);
  if (row.deleted_at !== null) event.deleted = true;
  if (row.notice !== null) event.notice = JSON.parse(row.notice) as Notice;
  return event;
}

interface NewEvent {
  room: string;
  kind: EventKindColumn;
  sender: Sender;
  cmid: string;
  payload: Uint8Array;
  target?: number | undefined;
  epoch?: number | undefined;
  notice?: Notice | undefined;
}

/** Give an event the room's next seq and store it (inside the caller's transaction). */
export async function appendEvent(
  trx: Transaction<Database>,
  at: number,
  input: NewEvent,
): Promise<RoomEvent> {
  const { last_seq } = await trx
    .updateTable('rooms')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', input.room)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const row: Selectable<EventsTable> = {
    room_id: input.room,
    seq: Number(last_seq),
    kind: input.kind,
    sender_id: input.sender.userId,
    device_id: input.sender.deviceId,
    cmid: input.cmid,
    at,
    epoch: input.epoch ?? null,
    payload: input.payload,
    target: input.target ?? null,
    deleted_at: null,
    notice: input.notice ? JSON.stringify(input.notice) : null,
  };
  await trx.insertInto('events').values(row).execute();
  return toEvent(row);
}

/** A server-written event: someone joined, left, was invited, removed, promoted… */
export function appendNotice(
  trx: Transaction<Database>,
  at: number,
  room: string,
  actor: Sender,
  notice: Notice,
): Promise<RoomEvent> {
  return appendEvent(trx, at, {
    room,
    kind: 'notice',
    sender: actor,
    cmid: `n-${newId()}`,
    payload: EMPTY,
    notice,
  });
}
