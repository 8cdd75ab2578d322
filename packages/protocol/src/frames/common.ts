/**
 * WebSocket frames, version 1: the vocabulary every frame module shares. Every frame is one
 * MessagePack map with a version `v` and a type `t`. Client requests carry an `id` (a positive
 * integer the client chooses, unique on its connection) and get exactly one reply with the
 * same `id`: the matching result frame or an `error` frame. Events and other pushes from the
 * server carry no `id`.
 *
 * Payloads are opaque bytes to the server (ciphertext); it stores, orders and delivers them.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  ID_REGEX_SOURCE,
  type DeviceId as DeviceIdBrand,
  type Epoch as EpochBrand,
  type RoomId as RoomIdBrand,
  type Seq as SeqBrand,
  type UserId as UserIdBrand,
} from '../ids.js';
import { Limits } from '../limits.js';

export const strict = { additionalProperties: false } as const;

export const FRAME_VERSION = 1;

export const V = Type.Literal(FRAME_VERSION);
export const RequestId = Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 });
// Ids: the schemas carry the brands of ids.ts, so a decoded frame's static type has them and
// the codec's check is the parser at the boundary.
export const RoomId = Type.Unsafe<RoomIdBrand>(Type.String({ pattern: ID_REGEX_SOURCE }));
export const UserId = Type.Unsafe<UserIdBrand>(Type.String({ pattern: ID_REGEX_SOURCE }));
export const DeviceId = Type.Unsafe<DeviceIdBrand>(Type.String({ pattern: ID_REGEX_SOURCE }));
/** A blob's id (http/blobs.ts): what a frame names a blob of a room by. */
export const BlobId = Type.String({ pattern: ID_REGEX_SOURCE });
/** A room's event sequence number: 1, 2, 3, … per room, with no gaps. */
export const Seq = Type.Unsafe<SeqBrand>(
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
);
export const Epoch = Type.Unsafe<EpochBrand>(
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
);
export const ClientMessageId = Type.String({
  minLength: 1,
  maxLength: Limits.CLIENT_MESSAGE_ID_MAX_LENGTH,
  pattern: '^[A-Za-z0-9_-]+$',
});
export const Payload = Type.Uint8Array({ maxByteLength: Limits.PAYLOAD_MAX_BYTES });
export const Millis = Type.Integer({ minimum: 0 });
export const Bytes = (max: number) => Type.Uint8Array({ maxByteLength: max });
/** What a username looks like on the wire (the server normalizes and looks it up). */
export const UsernameText = Type.String({ minLength: 1, maxLength: 64 });

/** Channel names: letters, digits, - and _; stored in lower case, found and listed by name. */
export const CHANNEL_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]*$';
/** A public channel's name: the only room name the server knows. */
export const ChannelName = Type.String({
  minLength: 1,
  maxLength: Limits.ROOM_NAME_MAX_LENGTH,
  pattern: CHANNEL_NAME_PATTERN,
});

export const PresenceStatus = Type.Union([
  Type.Literal('online'),
  Type.Literal('away'),
  Type.Literal('offline'),
]);
export type PresenceStatus = Static<typeof PresenceStatus>;

export const UserRef = Type.Object({ id: UserId, username: Type.String() }, strict);
export type UserRef = Static<typeof UserRef>;

/** A client request: `v`, `t`, `id` and its own fields, nothing else. */
export const req = <T extends string, P extends Record<string, TSchema>>(t: T, props: P) =>
  Type.Object({ v: V, t: Type.Literal(t), id: RequestId, ...props }, strict);
/** The server's answer to one request, with the request's `id`. */
export const reply = <T extends string, P extends Record<string, TSchema>>(t: T, props: P) =>
  Type.Object({ v: V, t: Type.Literal(t), id: RequestId, ...props }, strict);
/** A server push: answers no request, so it has no `id`. */
export const push = <T extends string, P extends Record<string, TSchema>>(t: T, props: P) =>
  Type.Object({ v: V, t: Type.Literal(t), ...props }, strict);
