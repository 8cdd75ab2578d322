/**
 * STAGING (issue 7, item 3; docs/decisions/0009-server-metadata.md): the event, notice and
 * room shapes that replace those in events.ts, rooms.ts and delivery.ts once the server, sdk
 * and web are moved over. Not exported from the package yet; its tests are in
 * test/metadata.test.ts. Each schema here takes the place of the one with the same name.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  ID_REGEX_SOURCE,
  type DeviceId as DeviceIdBrand,
  type Epoch as EpochBrand,
  type RoomId as RoomIdBrand,
  type Seq as SeqBrand,
  type UserId as UserIdBrand,
} from '../ids.js';
import { Limits } from '../limits.js';
import { Bytes, ClientMessageId, Millis, Payload, req, strict } from './common.js';
import { CHANNEL_NAME_PATTERN, RoomRole, Visibility } from './rooms.js';

// ---- ids: the schemas carry the brands, so a decoded frame's Static type has them ------------

export const RoomId = Type.Unsafe<RoomIdBrand>(Type.String({ pattern: ID_REGEX_SOURCE }));
export const UserId = Type.Unsafe<UserIdBrand>(Type.String({ pattern: ID_REGEX_SOURCE }));
export const DeviceId = Type.Unsafe<DeviceIdBrand>(Type.String({ pattern: ID_REGEX_SOURCE }));
/** A room's event sequence number: 1, 2, 3, … per room, with no gaps. */
export const Seq = Type.Unsafe<SeqBrand>(
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
);
export const Epoch = Type.Unsafe<EpochBrand>(
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
);

const UserRef = Type.Object({ id: UserId, username: Type.String() }, strict);

const ChannelName = Type.String({
  minLength: 1,
  maxLength: Limits.ROOM_NAME_MAX_LENGTH,
  pattern: CHANNEL_NAME_PATTERN,
});
/** Display text: no control characters. */
const PLAIN_TEXT = '^[^\\u0000-\\u001f\\u007f]*$';
const Topic = Type.String({ maxLength: Limits.ROOM_TOPIC_MAX_LENGTH, pattern: PLAIN_TEXT });
const RoomPassword = Type.String({
  minLength: Limits.ROOM_PASSWORD_MIN_LENGTH,
  maxLength: Limits.ROOM_PASSWORD_MAX_LENGTH,
});

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
  DevicesNotice,
]);
export type Notice = Static<typeof Notice>;
export type NoticeType = Notice['type'];

// ---- events ------------------------------------------------------------------------------

/** Every stored event: where it is in which room, who caused it (the device too), and when. */
const placed = { room: RoomId, seq: Seq, sender: UserId, device: DeviceId, at: Millis };
/** What a client sent: its idempotency key and the ciphertext. */
const sent = { ...placed, cmid: ClientMessageId, payload: Payload };
/** The message was deleted: its payload (and its edits') erased, `payload` is empty. */
const Deleted = Type.Optional(Type.Literal(true));

export const MessageEvent = Type.Object(
  { ...sent, kind: Type.Literal('message'), deleted: Deleted },
  strict,
);
/** A new version of the sender's own message `target`. */
export const EditEvent = Type.Object(
  { ...sent, kind: Type.Literal('edit'), target: Seq, deleted: Deleted },
  strict,
);
export const ReactionEvent = Type.Object(
  { ...sent, kind: Type.Literal('reaction'), target: Seq },
  strict,
);
/** An MLS commit made in `epoch`; the room is at `epoch + 1` from this event on. */
export const CommitEvent = Type.Object(
  { ...sent, kind: Type.Literal('commit'), epoch: Epoch },
  strict,
);
/** A tombstone: `sender` deleted the message at `target`, whose payload is gone. */
export const DeleteEvent = Type.Object(
  { ...placed, kind: Type.Literal('delete'), target: Seq },
  strict,
);
/** Written by the server; `sender` and `device` are who caused it. */
export const NoticeEvent = Type.Object(
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

// ---- sends -------------------------------------------------------------------------------

const sendBase = {
  room: RoomId,
  /** Idempotency key: a retried send with the same id gets the original acknowledgement. */
  cmid: ClientMessageId,
  payload: Payload,
};
/**
 * A client's send, one shape per kind (tombstones come from `delete`, notices from the
 * server): an edit or a reaction names its `target`, a commit its `epoch` (the first commit of
 * an epoch wins) and, optionally, the group-info blob of the epoch it starts.
 */
export const SendFrame = Type.Union([
  req('send', { ...sendBase, kind: Type.Literal('message') }),
  req('send', { ...sendBase, kind: Type.Literal('edit'), target: Seq }),
  req('send', { ...sendBase, kind: Type.Literal('reaction'), target: Seq }),
  req('send', {
    ...sendBase,
    kind: Type.Literal('commit'),
    epoch: Epoch,
    groupInfo: Type.Optional(Bytes(Limits.GROUP_INFO_MAX_BYTES)),
  }),
]);
export type SendFrame = Static<typeof SendFrame>;
export type SendKind = SendFrame['kind'];

// ---- rooms -------------------------------------------------------------------------------

/**
 * A channel: public name and topic. A private group starts with no name on the server: its
 * members give it one inside the end-to-end content (the sdk's room profile).
 */
export const CreateFrame = Type.Union([
  req('create', {
    kind: Type.Literal('channel'),
    name: ChannelName,
    topic: Type.Optional(Topic),
    visibility: Type.Optional(Visibility),
    /** Makes it a protected room: joining asks for this password. */
    password: Type.Optional(RoomPassword),
  }),
  req('create', {
    kind: Type.Literal('group'),
    visibility: Type.Optional(Visibility),
  }),
]);

/**
 * Change a room. `name`, `topic` and `password` are for channels only (a group's or direct
 * room's are refused with CHAT_ERR_VALIDATION: they are end-to-end content).
 */
export const SettingsFrame = req('settings', {
  room: RoomId,
  name: Type.Optional(ChannelName),
  topic: Type.Optional(Type.Union([Topic, Type.Null()])),
  visibility: Type.Optional(Visibility),
  /** A new password, or null to make the room unprotected. */
  password: Type.Optional(Type.Union([RoomPassword, Type.Null()])),
});

/** What every room summary has, whatever its kind. */
const summaryBase = {
  id: RoomId,
  visibility: Visibility,
  role: RoomRole,
  muted: Type.Boolean(),
  lastSeq: Seq,
  epoch: Epoch,
  memberCount: Type.Integer({ minimum: 0 }),
};
/** #general and public channels: their name and topic are public. */
const PublicRoomSummary = Type.Object(
  {
    ...summaryBase,
    kind: Type.Union([Type.Literal('general'), Type.Literal('channel')]),
    name: Type.String(),
    topic: Type.Union([Type.String(), Type.Null()]),
    protected: Type.Boolean(),
  },
  strict,
);
/** A private group: name and topic are end-to-end content, so null here. */
const GroupSummary = Type.Object(
  {
    ...summaryBase,
    kind: Type.Literal('group'),
    name: Type.Null(),
    topic: Type.Null(),
    protected: Type.Literal(false),
  },
  strict,
);
/** A direct room: shown by the other person's name. */
const DirectSummary = Type.Object(
  {
    ...summaryBase,
    kind: Type.Literal('direct'),
    name: Type.Null(),
    topic: Type.Null(),
    protected: Type.Literal(false),
    peer: UserRef,
  },
  strict,
);
export const RoomSummary = Type.Union([PublicRoomSummary, GroupSummary, DirectSummary]);
export type RoomSummary = Static<typeof RoomSummary>;

// Unchanged schemas that only take up the branded ids (Member, InboxMessage, the MLS frames,
// the other requests and replies) are not repeated here.
