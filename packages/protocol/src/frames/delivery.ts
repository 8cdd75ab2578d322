/** Delivery: sending, reading and resuming a room's log, deleting, typing and presence. */
import { Type, type Static } from '@sinclair/typebox';
import { Limits } from '../limits.js';
import {
  BlobId,
  ClientMessageId,
  Epoch,
  Millis,
  Payload,
  PresenceStatus,
  RoomId,
  Seq,
  UserId,
  push,
  reply,
  req,
  strict,
} from './common.js';
import { RoomEvent } from './events.js';

// ---- client → server -------------------------------------------------------------------

const sendBase = {
  room: RoomId,
  /** Idempotency key: a retried send with the same id gets the original acknowledgement. */
  cmid: ClientMessageId,
  payload: Payload,
};
/**
 * The MLS epoch an application message was encrypted in: one from before the room's current
 * epoch is refused (CHAT_ERR_STALE_EPOCH), because members who joined since could never
 * decrypt it; the sender catches up and encrypts it again.
 */
const sentIn = { epoch: Type.Optional(Epoch) };
/**
 * A client's send, one shape per kind (tombstones come from `delete`, notices from the
 * server): an edit or a reaction names its `target`, a commit its `epoch` (the first commit of
 * an epoch wins) and, optionally, `groupInfo`: the id of a blob this device uploaded into the
 * room beforehand (PUT /api/rooms/:room/blobs) holding the group info of the epoch it starts;
 * a message may name the `file` it carries.
 */
export const SendFrame = Type.Union([
  req('send', {
    ...sendBase,
    ...sentIn,
    kind: Type.Literal('message'),
    /**
     * A file this device uploaded into the room (PUT /api/rooms/:room/files) that the message
     * carries: the server keeps it while the message exists, and deletes it with the message.
     * The server learns only that this message has that file.
     */
    file: Type.Optional(BlobId),
  }),
  req('send', { ...sendBase, ...sentIn, kind: Type.Literal('edit'), target: Seq }),
  req('send', { ...sendBase, ...sentIn, kind: Type.Literal('reaction'), target: Seq }),
  req('send', {
    ...sendBase,
    kind: Type.Literal('commit'),
    epoch: Epoch,
    groupInfo: Type.Optional(BlobId),
  }),
]);
export type SendFrame = Static<typeof SendFrame>;
export type SendKind = SendFrame['kind'];

export const HistoryFrame = req('history', {
  room: RoomId,
  /** Events with seq below this one; absent = the newest. */
  before: Type.Optional(Seq),
  limit: Type.Integer({ minimum: 1, maximum: Limits.HISTORY_PAGE_MAX }),
});

export const ResumeFrame = req('resume', {
  /** The last seq this device has for each room; the server sends what follows. */
  positions: Type.Array(Type.Object({ room: RoomId, after: Seq }, strict), {
    maxItems: Limits.RESUME_ROOMS_MAX,
  }),
});

export const TypingFrame = req('typing', { room: RoomId, on: Type.Boolean() });
export const PresenceFrame = req('presence', {
  status: Type.Union([Type.Literal('online'), Type.Literal('away')]),
});
/**
 * Receipts: this user's devices have received (`delivered`) or read (`read`) the room up to a
 * seq. Positions only move forward and never past the room's newest event. Kept and shared
 * only in rooms of at most RECEIPT_ROOM_MEMBERS_MAX members; elsewhere accepted and ignored.
 */
export const ReceiptFrame = req('receipt', {
  room: RoomId,
  delivered: Type.Optional(Seq),
  read: Type.Optional(Seq),
});
/** The other members' receipts in a room (empty where the room is too big for receipts). */
export const ReceiptsFrame = req('receipts', { room: RoomId });
export const DeleteCodeFrame = req('delete-code', { room: RoomId, seq: Seq });
export const DeleteFrame = req('delete', {
  room: RoomId,
  seq: Seq,
  code: Type.String({ pattern: `^[0-9]{${Limits.DELETE_CODE_DIGITS}}$` }),
});

// ---- server → client -------------------------------------------------------------------

export const AckFrame = reply('ack', { room: RoomId, seq: Seq, at: Millis });
export const PageFrame = reply('page', {
  /** History: at most HISTORY_PAGE_MAX; resume: at most RESUME_PAGE_MAX. */
  events: Type.Array(RoomEvent, { maxItems: Limits.RESUME_PAGE_MAX }),
  /** True when older (history) or newer (resume) events remain to be fetched. */
  more: Type.Boolean(),
  /**
   * Resume only: rooms named in the request that this user may no longer read (left, removed,
   * or deleted). They are skipped, never failing the request; the client drops their positions.
   */
  gone: Type.Optional(Type.Array(RoomId, { maxItems: Limits.RESUME_ROOMS_MAX })),
});
export const CodeReplyFrame = reply('code', {
  code: Type.String(),
  expiresAt: Millis,
});
/** One member's receipt positions in a room. */
export const Receipt = Type.Object(
  { user: UserId, username: Type.String(), delivered: Seq, read: Seq },
  strict,
);
export type Receipt = Static<typeof Receipt>;
export const ReceiptsReplyFrame = reply('receipts', {
  room: RoomId,
  /** False where the room has more than RECEIPT_ROOM_MEMBERS_MAX members: no receipts kept. */
  enabled: Type.Boolean(),
  receipts: Type.Array(Receipt, { maxItems: Limits.RECEIPT_ROOM_MEMBERS_MAX }),
});
export const ReceiptEventFrame = push('receipt', { room: RoomId, receipt: Receipt });
export const EventFrame = push('event', { event: RoomEvent });
export const TypingEventFrame = push('typing', { room: RoomId, user: UserId, on: Type.Boolean() });
export const PresenceEventFrame = push('presence', { user: UserId, status: PresenceStatus });
