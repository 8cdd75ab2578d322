/** Rooms: their kinds and roles, what a member sees of them, and the requests that change them. */
import { Type, type Static } from '@sinclair/typebox';
import { Limits } from '../limits.js';
import {
  ChannelName,
  Epoch,
  Millis,
  PresenceStatus,
  RoomId,
  Seq,
  UserId,
  UserRef,
  UsernameText,
  reply,
  req,
  strict,
} from './common.js';

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

export { CHANNEL_NAME_PATTERN } from './common.js';

/** Display text: no control characters. */
const PLAIN_TEXT = '^[^\\u0000-\\u001f\\u007f]*$';
const Topic = Type.String({ maxLength: Limits.ROOM_TOPIC_MAX_LENGTH, pattern: PLAIN_TEXT });
const RoomPassword = Type.String({
  minLength: Limits.ROOM_PASSWORD_MIN_LENGTH,
  maxLength: Limits.ROOM_PASSWORD_MAX_LENGTH,
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
  /**
   * When an administrator closed the room (milliseconds, as every time in frames), null while
   * it is open. A closed room is a read-only archive: its history can be read, its members may
   * leave, and nothing new can be written in it (CHAT_ERR_ROOM_CLOSED) until it is reopened.
   */
  closedAt: Type.Union([Millis, Type.Null()]),
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

// ---- client → server -------------------------------------------------------------------

export const RoomsFrame = req('rooms', {});
export const DirectoryFrame = req('directory', {
  /** Channels whose name contains this; absent = all. */
  query: Type.Optional(Type.String({ maxLength: Limits.ROOM_NAME_MAX_LENGTH })),
  limit: Type.Integer({ minimum: 1, maximum: Limits.DIRECTORY_PAGE_MAX }),
});
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

export const MembersFrame = req('members', { room: RoomId });
export const UsersFrame = req('users', {
  /** Usernames starting with this (the people picker). */
  query: Type.String({ minLength: 1, maxLength: 64 }),
});
export const BlockFrame = req('block', { username: UsernameText, on: Type.Boolean() });
export const BlockedFrame = req('blocked', {});
export const MuteFrame = req('mute', { room: RoomId, on: Type.Boolean() });

// ---- server → client -------------------------------------------------------------------

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
