/**
 * The ordered log itself: what an event is, how it gets the room's next seq, and how a
 * stored row becomes the wire event. Every other delivery and rooms module appends through
 * here, inside its own transaction.
 */
import {
  encodeFrame,
  FRAME_VERSION,
  type DeviceId,
  type Notice,
  type RoomEvent,
  type UserId,
} from '@securechat/protocol';
import type { Selectable, Transaction } from 'kysely';
import type { EventBus } from '../../events/bus.js';
import type { Database, EventKindColumn, EventsTable } from '../../storage/types.js';
import { accessOpen } from '../access.js';
import { newId } from '../crypto.js';
import { deviceIdOf, epochOf, roomIdOf, seqOf, userIdOf } from '../ids.js';
import type { Vault } from '../vault.js';

/** Who caused an event: the user and their device (parsed where they enter, `senderOf`). */
export interface Sender {
  userId: UserId;
  deviceId: DeviceId;
}

/** The sender of a signed-in session's actions. */
export const senderOf = (auth: { user: { id: string }; device: { id: string } }): Sender => ({
  userId: userIdOf(auth.user.id),
  deviceId: deviceIdOf(auth.device.id),
});

export interface Accepted {
  event: RoomEvent;
  /** True when this send was a retry of one already stored: nothing new to fan out. */
  duplicate: boolean;
  /** Everyone who receives the event: the room's members at the time (and anyone it removed). */
  recipients: string[];
}

export const EMPTY = new Uint8Array(0);

/** Persisted: fan the events out to everyone they concern, on every node (retries are not). */
export function publishEvents(bus: Pick<EventBus, 'publish'>, accepted: readonly Accepted[]): void {
  for (const { event, recipients, duplicate } of accepted) {
    if (duplicate) continue;
    bus.publish(recipients, encodeFrame({ v: FRAME_VERSION, t: 'event', event }));
  }
}

/**
 * A stored row as the wire event of its kind: each kind with exactly its fields. A notice's
 * stored JSON is sealed: `notice` is what it opened to (openEvents).
 */
export function toEvent(row: Selectable<EventsTable>, notice?: Notice): RoomEvent {
  const placed = {
    room: roomIdOf(row.room_id),
    seq: seqOf(row.seq),
    sender: userIdOf(row.sender_id),
    device: deviceIdOf(row.device_id),
    at: Number(row.at),
  };
  const deleted = row.deleted_at === null ? {} : ({ deleted: true } as const);
  const sent = {
    ...placed,
    cmid: row.cmid,
    payload: row.deleted_at === null ? new Uint8Array(row.payload) : EMPTY,
  };
  const target = () => seqOf(row.target);
  switch (row.kind) {
    case 'message':
      return { ...sent, kind: 'message', ...deleted };
    case 'edit':
      return { ...sent, kind: 'edit', target: target(), ...deleted };
    case 'reaction':
      return { ...sent, kind: 'reaction', target: target() };
    case 'commit':
      return { ...sent, kind: 'commit', epoch: epochOf(row.epoch) };
    case 'delete':
      return { ...placed, kind: 'delete', target: target() };
    case 'notice':
      if (notice === undefined) throw new Error('A notice is read through openEvents.');
      return { ...placed, kind: 'notice', notice };
  }
}

/** Stored rows as wire events, their notices opened. */
export async function openEvents(
  vault: Vault,
  rows: readonly Selectable<EventsTable>[],
): Promise<RoomEvent[]> {
  return Promise.all(
    rows.map(async (row) =>
      row.notice === null
        ? toEvent(row)
        : toEvent(row, JSON.parse(await vault.open('notice', row.notice)) as Notice),
    ),
  );
}

interface NewEvent {
  room: string;
  kind: EventKindColumn;
  sender: Sender;
  cmid: string;
  payload: Uint8Array;
  target?: number | undefined;
  epoch?: number | undefined;
  /**
   * Only while the room is open (access.ts `accessOpen`), as it is when the event takes its
   * seq: that update waits for a concurrent close, so nothing lands after the room closed.
   */
  whileOpen?: boolean | undefined;
}

/** Give an event the room's next seq and store it (inside the caller's transaction). */
export async function appendEvent(
  trx: Transaction<Database>,
  at: number,
  input: NewEvent,
  notice?: { plain: Notice; sealed: string },
): Promise<RoomEvent> {
  const { last_seq, closed_at } = await trx
    .updateTable('rooms')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', input.room)
    .returning(['last_seq', 'closed_at'])
    .executeTakeFirstOrThrow();
  if (input.whileOpen) accessOpen({ closedAt: closed_at });
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
    notice: notice?.sealed ?? null,
  };
  await trx.insertInto('events').values(row).execute();
  return toEvent(row, notice?.plain);
}

/** What a notice's writer gives: the server adds `username` and `awaitsCommit` itself. */
type Completed = 'username' | 'awaitsCommit';
export type NoticeInput = Notice extends infer N
  ? N extends Notice
    ? Omit<N, Completed>
    : never
  : never;

/** The notices whose change the room's MLS group must follow: a commit confirms them. */
const AWAITS_COMMIT: ReadonlySet<Notice['type']> = new Set([
  'join',
  'invite',
  'leave',
  'kick',
  'devices',
]);

/**
 * A server-written event: someone joined, left, was invited, removed, promoted, changed
 * devices… Whom it is about is named, so every reader can show it (even after they left).
 */
export async function appendNotice(
  trx: Transaction<Database>,
  vault: Vault,
  at: number,
  room: string,
  actor: Sender,
  input: NoticeInput,
): Promise<RoomEvent> {
  const notice: Record<string, unknown> = { ...input };
  if ('user' in input) {
    const { username } = await trx
      .selectFrom('users')
      .select('username')
      .where('id', '=', input.user)
      .executeTakeFirstOrThrow();
    notice.username = await vault.open('username', username);
  }
  if (AWAITS_COMMIT.has(input.type)) notice.awaitsCommit = true;
  const plain = notice as Notice;
  return appendEvent(
    trx,
    at,
    { room, kind: 'notice', sender: actor, cmid: `n-${newId()}`, payload: EMPTY },
    { plain, sealed: await vault.seal('notice', JSON.stringify(plain)) },
  );
}
