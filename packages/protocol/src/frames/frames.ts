/**
 * WebSocket frames, version 1. Every frame is one MessagePack map with a version `v` and a
 * type `t`. Client requests carry an `id` (a positive integer the client chooses, unique on
 * its connection) and get exactly one reply with the same `id`: the matching result frame or
 * an `error` frame. Events and other pushes from the server carry no `id`.
 *
 * Payloads are opaque bytes to the server (ciphertext); it stores, orders and delivers them.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ERROR_CODES } from '../errors.js';
import { ID_REGEX_SOURCE } from '../ids.js';
import { Limits } from '../limits.js';

const strict = { additionalProperties: false } as const;

export const FRAME_VERSION = 1;

/** #general, the room every account is in. Fixed, so every node and client agrees. */
export const GENERAL_ROOM_ID = 'GeneralRoom00000000000';

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

export const RoomKind = Type.Union([
  Type.Literal('general'),
  Type.Literal('channel'),
  Type.Literal('group'),
  Type.Literal('direct'),
]);
export type RoomKind = Static<typeof RoomKind>;
export const RoomRole = Type.Union([
  Type.Literal('owner'),
  Type.Literal('moderator'),
  Type.Literal('member'),
]);
export type RoomRole = Static<typeof RoomRole>;
/** Whether a new member sees the room's earlier events (`shared`) or only what follows (`joined`). */
export const Visibility = Type.Union([Type.Literal('joined'), Type.Literal('shared')]);
export type Visibility = Static<typeof Visibility>;
export const PresenceStatus = Type.Union([
  Type.Literal('online'),
  Type.Literal('away'),
  Type.Literal('offline'),
]);
export type PresenceStatus = Static<typeof PresenceStatus>;

/** Channel names: letters, digits, - and _; stored in lower case, found and listed by name. */
export const CHANNEL_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]*$';
const ChannelName = Type.String({
  minLength: 1,
  maxLength: Limits.ROOM_NAME_MAX_LENGTH,
  pattern: CHANNEL_NAME_PATTERN,
});
/** Display text: no control characters. */
const PLAIN_TEXT = '^[^\\u0000-\\u001f\\u007f]*$';
const RoomName = Type.String({
  minLength: 1,
  maxLength: Limits.ROOM_NAME_MAX_LENGTH,
  pattern: PLAIN_TEXT,
});
const Topic = Type.String({ maxLength: Limits.ROOM_TOPIC_MAX_LENGTH, pattern: PLAIN_TEXT });
const RoomPassword = Type.String({
  minLength: Limits.ROOM_PASSWORD_MIN_LENGTH,
  maxLength: Limits.ROOM_PASSWORD_MAX_LENGTH,
});
/** What a username looks like on the wire (the server normalizes and looks it up). */
const UsernameText = Type.String({ minLength: 1, maxLength: 64 });
const Bytes = (max: number) => Type.Uint8Array({ maxByteLength: max });

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

const UserRef = Type.Object({ id: UserId, username: Type.String() }, strict);
export type UserRef = Static<typeof UserRef>;

export const RoomSummary = Type.Object(
  {
    id: RoomId,
    kind: RoomKind,
    /** Null for direct rooms: show the peer's name. */
    name: Type.Union([Type.String(), Type.Null()]),
    topic: Type.Union([Type.String(), Type.Null()]),
    visibility: Visibility,
    protected: Type.Boolean(),
    role: RoomRole,
    muted: Type.Boolean(),
    lastSeq: Seq,
    epoch: Epoch,
    memberCount: Type.Integer({ minimum: 0 }),
    /** Direct rooms: the other person. */
    peer: Type.Optional(UserRef),
  },
  strict,
);
export type RoomSummary = Static<typeof RoomSummary>;

export const DirectoryEntry = Type.Object(
  {
    id: RoomId,
    name: Type.String(),
    topic: Type.Union([Type.String(), Type.Null()]),
    protected: Type.Boolean(),
    memberCount: Type.Integer({ minimum: 0 }),
    joined: Type.Boolean(),
  },
  strict,
);
export type DirectoryEntry = Static<typeof DirectoryEntry>;

export const Member = Type.Object(
  { user: UserId, username: Type.String(), role: RoomRole, presence: PresenceStatus },
  strict,
);
export type Member = Static<typeof Member>;

export const InboxMessage = Type.Object(
  {
    id: Type.String(),
    room: RoomId,
    sender: UserId,
    device: DeviceId,
    cmid: ClientMessageId,
    at: Millis,
    payload: Payload,
  },
  strict,
);
export type InboxMessage = Static<typeof InboxMessage>;

export const ClaimedKeyPackage = Type.Object(
  {
    user: UserId,
    device: DeviceId,
    data: Bytes(Limits.KEY_PACKAGE_MAX_BYTES),
    /** The device's last-resort package: it was not used up; others should be preferred. */
    lastResort: Type.Boolean(),
  },
  strict,
);
export type ClaimedKeyPackage = Static<typeof ClaimedKeyPackage>;

// ---- client → server -------------------------------------------------------------------

const req = <T extends string, P extends Record<string, TSchema>>(t: T, props: P) =>
  Type.Object({ v: V, t: Type.Literal(t), id: RequestId, ...props }, strict);

export const SendFrame = req('send', {
  room: RoomId,
  /** Idempotency key: a retried send with the same id gets the original acknowledgement. */
  cmid: ClientMessageId,
  kind: SendKind,
  payload: Payload,
  /** Edit and reaction: the seq of the message they are about. */
  target: Type.Optional(Seq),
  /** Commit: the epoch it was made in. The first commit of an epoch wins. */
  epoch: Type.Optional(Epoch),
  /** Commit: the group-info blob of the epoch it starts. */
  groupInfo: Type.Optional(Bytes(Limits.GROUP_INFO_MAX_BYTES)),
});

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
export const PingFrame = req('ping', {});
export const PresenceFrame = req('presence', {
  status: Type.Union([Type.Literal('online'), Type.Literal('away')]),
});

export const RoomsFrame = req('rooms', {});
export const DirectoryFrame = req('directory', {
  /** Channels whose name contains this; absent = all. */
  query: Type.Optional(Type.String({ maxLength: Limits.ROOM_NAME_MAX_LENGTH })),
  limit: Type.Integer({ minimum: 1, maximum: Limits.DIRECTORY_PAGE_MAX }),
});
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
    name: RoomName,
    topic: Type.Optional(Topic),
    visibility: Type.Optional(Visibility),
  }),
]);
export const DirectFrame = req('direct', { username: UsernameText });
export const JoinFrame = req('join', {
  room: RoomId,
  password: Type.Optional(Type.String({ maxLength: Limits.ROOM_PASSWORD_MAX_LENGTH })),
});
export const LeaveFrame = req('leave', { room: RoomId });
export const InviteFrame = req('invite', { room: RoomId, username: UsernameText });
export const KickFrame = req('kick', { room: RoomId, user: UserId });
export const SetRoleFrame = req('role', {
  room: RoomId,
  user: UserId,
  role: Type.Union([Type.Literal('moderator'), Type.Literal('member')]),
});
export const TransferFrame = req('transfer', { room: RoomId, user: UserId });
export const SettingsFrame = req('settings', {
  room: RoomId,
  name: Type.Optional(RoomName),
  topic: Type.Optional(Type.Union([Topic, Type.Null()])),
  visibility: Type.Optional(Visibility),
  /** A new password, or null to make the room unprotected (channels only). */
  password: Type.Optional(Type.Union([RoomPassword, Type.Null()])),
});
export const MembersFrame = req('members', { room: RoomId });
export const UsersFrame = req('users', {
  /** Usernames starting with this (the people picker). */
  query: Type.String({ minLength: 1, maxLength: 64 }),
});
export const BlockFrame = req('block', { username: UsernameText, on: Type.Boolean() });
export const BlockedFrame = req('blocked', {});
export const MuteFrame = req('mute', { room: RoomId, on: Type.Boolean() });
export const DeleteCodeFrame = req('delete-code', { room: RoomId, seq: Seq });
export const DeleteFrame = req('delete', {
  room: RoomId,
  seq: Seq,
  code: Type.String({ pattern: `^[0-9]{${Limits.DELETE_CODE_DIGITS}}$` }),
});
export const GroupInfoFrame = req('group-info', { room: RoomId });
export const KeyPackagesUploadFrame = req('kp-upload', {
  packages: Type.Array(Bytes(Limits.KEY_PACKAGE_MAX_BYTES), {
    maxItems: Limits.KEY_PACKAGE_BATCH_MAX,
  }),
  /** Replaces this device's last-resort package. */
  lastResort: Type.Optional(Bytes(Limits.KEY_PACKAGE_MAX_BYTES)),
});
export const KeyPackagesClaimFrame = req('kp-claim', {
  /** The room the devices are being added to: both sides must be members. */
  room: RoomId,
  users: Type.Array(UserId, { minItems: 1, maxItems: Limits.KEY_PACKAGE_CLAIM_DEVICES_MAX }),
});
export const InboxSendFrame = req('inbox-send', {
  room: RoomId,
  device: DeviceId,
  cmid: ClientMessageId,
  payload: Payload,
});
export const InboxFetchFrame = req('inbox-fetch', {});
export const InboxAckFrame = req('inbox-ack', {
  ids: Type.Array(Type.String({ maxLength: 64 }), {
    minItems: 1,
    maxItems: Limits.HISTORY_PAGE_MAX,
  }),
});

/** Every client request, by type. */
export const CLIENT_FRAMES = {
  send: SendFrame,
  history: HistoryFrame,
  resume: ResumeFrame,
  typing: TypingFrame,
  ping: PingFrame,
  presence: PresenceFrame,
  rooms: RoomsFrame,
  directory: DirectoryFrame,
  create: CreateFrame,
  direct: DirectFrame,
  join: JoinFrame,
  leave: LeaveFrame,
  invite: InviteFrame,
  kick: KickFrame,
  role: SetRoleFrame,
  transfer: TransferFrame,
  settings: SettingsFrame,
  members: MembersFrame,
  users: UsersFrame,
  block: BlockFrame,
  blocked: BlockedFrame,
  mute: MuteFrame,
  'delete-code': DeleteCodeFrame,
  delete: DeleteFrame,
  'group-info': GroupInfoFrame,
  'kp-upload': KeyPackagesUploadFrame,
  'kp-claim': KeyPackagesClaimFrame,
  'inbox-send': InboxSendFrame,
  'inbox-fetch': InboxFetchFrame,
  'inbox-ack': InboxAckFrame,
} as const;

export const ClientFrame = Type.Union(Object.values(CLIENT_FRAMES));
export type ClientFrame = Static<(typeof CLIENT_FRAMES)[keyof typeof CLIENT_FRAMES]>;
export type ClientFrameType = keyof typeof CLIENT_FRAMES;
export const CLIENT_FRAME_TYPES = Object.keys(CLIENT_FRAMES) as ClientFrameType[];

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

const reply = <T extends string, P extends Record<string, TSchema>>(t: T, props: P) =>
  Type.Object({ v: V, t: Type.Literal(t), id: RequestId, ...props }, strict);
const push = <T extends string, P extends Record<string, TSchema>>(t: T, props: P) =>
  Type.Object({ v: V, t: Type.Literal(t), ...props }, strict);

export const AckFrame = reply('ack', { room: RoomId, seq: Seq, at: Millis });
export const PageFrame = reply('page', {
  events: Type.Array(RoomEvent, { maxItems: Limits.HISTORY_PAGE_MAX }),
  /** True when older (history) or newer (resume) events remain to be fetched. */
  more: Type.Boolean(),
  /**
   * Resume only: rooms named in the request that this user may no longer read (left, removed,
   * or deleted). They are skipped, never failing the request; the client drops their positions.
   */
  gone: Type.Optional(Type.Array(RoomId, { maxItems: Limits.RESUME_ROOMS_MAX })),
});
export const OkFrame = reply('ok', {});
export const PongFrame = reply('pong', { at: Millis });
export const RoomsReplyFrame = reply('rooms', { rooms: Type.Array(RoomSummary) });
export const RoomReplyFrame = reply('room', { room: RoomSummary });
export const DirectoryReplyFrame = reply('directory', {
  channels: Type.Array(DirectoryEntry, { maxItems: Limits.DIRECTORY_PAGE_MAX }),
});
export const MembersReplyFrame = reply('members', {
  members: Type.Array(Member, { maxItems: Limits.MEMBER_PAGE_MAX }),
  /** Members in all (the list may be the first page of a big room). */
  total: Type.Integer({ minimum: 0 }),
});
export const UsersReplyFrame = reply('users', { users: Type.Array(UserRef) });
export const CodeReplyFrame = reply('code', {
  code: Type.String(),
  expiresAt: Millis,
});
export const GroupInfoReplyFrame = reply('group-info', {
  room: RoomId,
  epoch: Epoch,
  data: Type.Union([Bytes(Limits.GROUP_INFO_MAX_BYTES), Type.Null()]),
});
export const KeyPackageCountFrame = reply('kp-count', {
  /** One-time packages this device has waiting. */
  available: Type.Integer({ minimum: 0 }),
});
export const KeyPackagesReplyFrame = reply('key-packages', {
  packages: Type.Array(ClaimedKeyPackage),
  /** Member devices that have no package at all (not even a last-resort one). */
  missing: Type.Array(DeviceId),
});
export const InboxReplyFrame = reply('inbox', {
  messages: Type.Array(InboxMessage, { maxItems: Limits.HISTORY_PAGE_MAX }),
  more: Type.Boolean(),
});
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
export const EventFrame = push('event', { event: RoomEvent });
export const TypingEventFrame = push('typing', { room: RoomId, user: UserId, on: Type.Boolean() });
export const PresenceEventFrame = push('presence', { user: UserId, status: PresenceStatus });
export const InboxEventFrame = push('inbox-message', { message: InboxMessage });

/** Every server frame, by type. */
export const SERVER_FRAMES = {
  ack: AckFrame,
  page: PageFrame,
  ok: OkFrame,
  pong: PongFrame,
  rooms: RoomsReplyFrame,
  room: RoomReplyFrame,
  directory: DirectoryReplyFrame,
  members: MembersReplyFrame,
  users: UsersReplyFrame,
  code: CodeReplyFrame,
  'group-info': GroupInfoReplyFrame,
  'kp-count': KeyPackageCountFrame,
  'key-packages': KeyPackagesReplyFrame,
  inbox: InboxReplyFrame,
  error: ErrorFrame,
  event: EventFrame,
  typing: TypingEventFrame,
  presence: PresenceEventFrame,
  'inbox-message': InboxEventFrame,
} as const;

export const ServerFrame = Type.Union(Object.values(SERVER_FRAMES));
export type ServerFrame = Static<(typeof SERVER_FRAMES)[keyof typeof SERVER_FRAMES]>;
export type ServerFrameType = keyof typeof SERVER_FRAMES;
export type ErrorFrame = Static<typeof ErrorFrame>;
/** Pushes: server frames that answer no request. */
export type PushFrame = Extract<
  ServerFrame,
  { t: 'event' | 'typing' | 'presence' | 'inbox-message' }
>;
