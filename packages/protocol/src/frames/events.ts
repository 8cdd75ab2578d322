/**
 * Stored room events, one shape per kind, and the server's notices, one shape per type
 * (docs/decisions/0009-server-metadata.md): each has exactly its fields.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  ChannelName,
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
import { Visibility } from './rooms.js';

// ---- notices -----------------------------------------------------------------------------

/**
 * On a membership change that the room's MLS group must follow (someone's devices are to be
 * added or removed): the change is decided by the server now and confirmed by the next
 * commit of a member's client. Until MLS lands no commit follows, and clients only show it.
 */
const AwaitsCommit = Type.Literal(true);

/** Whom a notice is about, named so every reader can show it (even after they have left). */
const subject = { user: UserId, username: Type.String() };

/**
 * A channel was created. Its name is public: the directory lists it. `protected` when joining
 * asks for a password.
 */
const CreateChannelNotice = Type.Object(
  {
    type: Type.Literal('create'),
    kind: Type.Literal('channel'),
    name: ChannelName,
    protected: Type.Boolean(),
  },
  strict,
);
/** A private group or direct room was created. Its name, if any, is end-to-end content. */
const CreatePrivateNotice = Type.Object(
  {
    type: Type.Literal('create'),
    kind: Type.Union([Type.Literal('group'), Type.Literal('direct')]),
  },
  strict,
);
const JoinNotice = Type.Object(
  { type: Type.Literal('join'), ...subject, awaitsCommit: AwaitsCommit },
  strict,
);
/** The event's sender added `user`. */
const InviteNotice = Type.Object(
  { type: Type.Literal('invite'), ...subject, awaitsCommit: AwaitsCommit },
  strict,
);
const LeaveNotice = Type.Object(
  { type: Type.Literal('leave'), ...subject, awaitsCommit: AwaitsCommit },
  strict,
);
/** The event's sender removed `user`. */
const KickNotice = Type.Object(
  { type: Type.Literal('kick'), ...subject, awaitsCommit: AwaitsCommit },
  strict,
);
const RoleNotice = Type.Object(
  {
    type: Type.Literal('role'),
    ...subject,
    role: Type.Union([Type.Literal('moderator'), Type.Literal('member')]),
  },
  strict,
);
/** `user` is the new owner; the previous one (the event's sender) became a moderator. */
const TransferNotice = Type.Object({ type: Type.Literal('transfer'), ...subject }, strict);
/**
 * A moderator changed the room. `name`, `topic` and `protected` appear only for channels;
 * a group's or direct room's name and topic are end-to-end content, never the server's.
 */
const SettingsNotice = Type.Object(
  {
    type: Type.Literal('settings'),
    name: Type.Optional(ChannelName),
    topic: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    visibility: Type.Optional(Visibility),
    protected: Type.Optional(Type.Boolean()),
  },
  strict,
);
/**
 * An administrator closed the room (`closed`: it is a read-only archive from now on) or
 * reopened it. The event's sender is that administrator.
 */
const ClosedNotice = Type.Object({ type: Type.Literal('closed'), closed: Type.Boolean() }, strict);
/**
 * `user` signed in on a new device (`added`) or one of their devices was revoked (`revoked`):
 * written to every room they are in, so members' clients add or remove that device's leaf.
 */
const DevicesNotice = Type.Object(
  {
    type: Type.Literal('devices'),
    ...subject,
    device: DeviceId,
    change: Type.Union([Type.Literal('added'), Type.Literal('revoked')]),
    awaitsCommit: AwaitsCommit,
  },
  strict,
);

/** What the server says happened, in a `notice` event. */
export const Notice = Type.Union([
  CreateChannelNotice,
  CreatePrivateNotice,
  JoinNotice,
  InviteNotice,
  LeaveNotice,
  KickNotice,
  RoleNotice,
  TransferNotice,
  SettingsNotice,
  ClosedNotice,
  DevicesNotice,
]);
export type Notice = Static<typeof Notice>;

// ---- events ------------------------------------------------------------------------------

/** Every stored event: where it is in which room, who caused it (the device too), and when. */
const placed = { room: RoomId, seq: Seq, sender: UserId, device: DeviceId, at: Millis };
/** What a client sent: its idempotency key and the ciphertext. */
const sent = { ...placed, cmid: ClientMessageId, payload: Payload };
/** The message was deleted: its payload (and its edits') erased, `payload` is empty. */
const Deleted = Type.Optional(Type.Literal(true));

const MessageEvent = Type.Object(
  { ...sent, kind: Type.Literal('message'), deleted: Deleted },
  strict,
);
/** A new version of the sender's own message `target`. */
const EditEvent = Type.Object(
  { ...sent, kind: Type.Literal('edit'), target: Seq, deleted: Deleted },
  strict,
);
const ReactionEvent = Type.Object({ ...sent, kind: Type.Literal('reaction'), target: Seq }, strict);
/** An MLS commit made in `epoch`; the room is at `epoch + 1` from this event on. */
const CommitEvent = Type.Object({ ...sent, kind: Type.Literal('commit'), epoch: Epoch }, strict);
/** A tombstone: `sender` deleted the message at `target`, whose payload is gone. */
const DeleteEvent = Type.Object({ ...placed, kind: Type.Literal('delete'), target: Seq }, strict);
/** Written by the server; `sender` and `device` are who caused it. */
const NoticeEvent = Type.Object(
  { ...placed, kind: Type.Literal('notice'), notice: Notice },
  strict,
);

export const RoomEvent = Type.Union([
  MessageEvent,
  EditEvent,
  ReactionEvent,
  CommitEvent,
  DeleteEvent,
  NoticeEvent,
]);
export type RoomEvent = Static<typeof RoomEvent>;
/** What an event is to the delivery service. Its meaning to people is inside the ciphertext. */
export type EventKind = RoomEvent['kind'];
