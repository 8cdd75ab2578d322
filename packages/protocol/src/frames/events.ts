/** Stored room events: what each is to the delivery service, and the server's notices. */
import { Type, type Static } from '@sinclair/typebox';
import {
  ClientMessageId,
  DeviceId,
  Epoch,
  Millis,
  Payload,
  RoomId,
  Seq,
  UserId,
  strict,
} from './common.js';
import { RoomRole, Visibility } from './rooms.js';

/** What an event is to the delivery service. Its meaning to people is inside the ciphertext. */
export const EventKind = Type.Union([
  Type.Literal('message'),
  Type.Literal('edit'),
  Type.Literal('reaction'),
  Type.Literal('commit'),
  /** A tombstone: the message at `target` was deleted and its payload erased. */
  Type.Literal('delete'),
  /** Written by the server: someone joined, left, was invited or removed, a setting changed. */
  Type.Literal('notice'),
]);
export type EventKind = Static<typeof EventKind>;
/** The kinds a client may send (tombstones come from `delete`, notices from the server). */
export const SendKind = Type.Union([
  Type.Literal('message'),
  Type.Literal('edit'),
  Type.Literal('reaction'),
  Type.Literal('commit'),
]);
export type SendKind = Static<typeof SendKind>;

/** What the server says happened, in a `notice` event. */
export const Notice = Type.Object(
  {
    type: Type.Union([
      Type.Literal('create'),
      Type.Literal('join'),
      Type.Literal('leave'),
      Type.Literal('invite'),
      Type.Literal('kick'),
      Type.Literal('role'),
      Type.Literal('transfer'),
      Type.Literal('settings'),
    ]),
    /** Whom it is about (joined, left, invited, removed, promoted, new owner). */
    user: Type.Optional(UserId),
    username: Type.Optional(Type.String()),
    role: Type.Optional(RoomRole),
    name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    topic: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    visibility: Type.Optional(Visibility),
    protected: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type Notice = Static<typeof Notice>;

export const RoomEvent = Type.Object(
  {
    room: RoomId,
    seq: Seq,
    kind: EventKind,
    sender: UserId,
    device: DeviceId,
    cmid: ClientMessageId,
    at: Millis,
    /** Empty for notices and for deleted messages. */
    payload: Payload,
    epoch: Type.Optional(Epoch),
    target: Type.Optional(Seq),
    /** This message was deleted: its payload is gone. */
    deleted: Type.Optional(Type.Literal(true)),
    notice: Type.Optional(Notice),
  },
  strict,
);
export type RoomEvent = Static<typeof RoomEvent>;
