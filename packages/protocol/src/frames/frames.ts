/**
 * WebSocket frames, version 1. Every frame is one MessagePack map with a version `v` and a
 * type `t`. Client requests carry an `id` (a positive integer the client chooses, unique on
 * its connection) and get exactly one reply with the same `id`: the matching result frame or
 * an `error` frame. Events and other pushes from the server carry no `id`.
 *
 * Payloads are opaque bytes to the server (ciphertext); it stores, orders and delivers them.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ERROR_CODES } from '../errors.js';
import { ID_REGEX_SOURCE } from '../ids.js';
import { Limits } from '../limits.js';

const strict = { additionalProperties: false } as const;

export const FRAME_VERSION = 1;

const V = Type.Literal(FRAME_VERSION);
const RequestId = Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 });
const RoomId = Type.String({ pattern: ID_REGEX_SOURCE });
const UserId = Type.String({ pattern: ID_REGEX_SOURCE });
const DeviceId = Type.String({ pattern: ID_REGEX_SOURCE });
/** A room's event sequence number: 1, 2, 3, … per room, with no gaps. */
const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Epoch = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const ClientMessageId = Type.String({
  minLength: 1,
  maxLength: Limits.CLIENT_MESSAGE_ID_MAX_LENGTH,
  pattern: '^[A-Za-z0-9_-]+$',
});
const Payload = Type.Uint8Array({ maxByteLength: Limits.PAYLOAD_MAX_BYTES });
const Millis = Type.Integer({ minimum: 0 });

/** What an event is to the delivery service. Its meaning to people is inside the ciphertext. */
export const EventKind = Type.Union([
  Type.Literal('message'),
  Type.Literal('edit'),
  Type.Literal('reaction'),
  Type.Literal('commit'),
]);
export type EventKind = Static<typeof EventKind>;

// ---- client → server -------------------------------------------------------------------

export const SendFrame = Type.Object(
  {
    v: V,
    t: Type.Literal('send'),
    id: RequestId,
    room: RoomId,
    /** Idempotency key: a retried send with the same id gets the original acknowledgement. */
    cmid: ClientMessageId,
    kind: EventKind,
    payload: Payload,
    /** For a commit: the epoch it was made in. */
    epoch: Type.Optional(Epoch),
  },
  strict,
);

export const HistoryFrame = Type.Object(
  {
    v: V,
    t: Type.Literal('history'),
    id: RequestId,
    room: RoomId,
    /** Events with seq below this one; absent = the newest. */
    before: Type.Optional(Seq),
    limit: Type.Integer({ minimum: 1, maximum: Limits.HISTORY_PAGE_MAX }),
  },
  strict,
);

export const ResumeFrame = Type.Object(
  {
    v: V,
    t: Type.Literal('resume'),
    id: RequestId,
    /** The last seq this device has for each room; the server sends what follows. */
    positions: Type.Array(Type.Object({ room: RoomId, after: Seq }, strict), {
      maxItems: Limits.RESUME_ROOMS_MAX,
    }),
  },
  strict,
);

export const TypingFrame = Type.Object(
  { v: V, t: Type.Literal('typing'), id: RequestId, room: RoomId, on: Type.Boolean() },
  strict,
);

export const PingFrame = Type.Object({ v: V, t: Type.Literal('ping'), id: RequestId }, strict);

export const ClientFrame = Type.Union([
  SendFrame,
  HistoryFrame,
  ResumeFrame,
  TypingFrame,
  PingFrame,
]);
export type ClientFrame = Static<typeof ClientFrame>;
export type ClientFrameType = ClientFrame['t'];
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = [
  'send',
  'history',
  'resume',
  'typing',
  'ping',
];

// ---- server → client -------------------------------------------------------------------

export const RoomEvent = Type.Object(
  {
    room: RoomId,
    seq: Seq,
    kind: EventKind,
    sender: UserId,
    device: DeviceId,
    cmid: ClientMessageId,
    at: Millis,
    payload: Payload,
    epoch: Type.Optional(Epoch),
  },
  strict,
);
export type RoomEvent = Static<typeof RoomEvent>;

export const AckFrame = Type.Object(
  { v: V, t: Type.Literal('ack'), id: RequestId, room: RoomId, seq: Seq, at: Millis },
  strict,
);
export const PageFrame = Type.Object(
  {
    v: V,
    t: Type.Literal('page'),
    id: RequestId,
    events: Type.Array(RoomEvent, { maxItems: Limits.HISTORY_PAGE_MAX }),
    /** True when older (history) or newer (resume) events remain to be fetched. */
    more: Type.Boolean(),
  },
  strict,
);
export const OkFrame = Type.Object({ v: V, t: Type.Literal('ok'), id: RequestId }, strict);
export const PongFrame = Type.Object(
  { v: V, t: Type.Literal('pong'), id: RequestId, at: Millis },
  strict,
);
export const ErrorFrame = Type.Object(
  {
    v: V,
    t: Type.Literal('error'),
    /** The request this answers; null when the frame was too broken to have a readable id. */
    id: Type.Union([RequestId, Type.Null()]),
    code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))),
    message: Type.String(),
    retryAfter: Type.Optional(Type.Integer({ minimum: 0 })),
    /** With CHAT_ERR_STALE_EPOCH: the room's current epoch. */
    epoch: Type.Optional(Epoch),
  },
  strict,
);
export const EventFrame = Type.Object({ v: V, t: Type.Literal('event'), event: RoomEvent }, strict);
export const TypingEventFrame = Type.Object(
  { v: V, t: Type.Literal('typing'), room: RoomId, user: UserId, on: Type.Boolean() },
  strict,
);

export const ServerFrame = Type.Union([
  AckFrame,
  PageFrame,
  OkFrame,
  PongFrame,
  ErrorFrame,
  EventFrame,
  TypingEventFrame,
]);
export type ServerFrame = Static<typeof ServerFrame>;
export type ErrorFrame = Static<typeof ErrorFrame>;
