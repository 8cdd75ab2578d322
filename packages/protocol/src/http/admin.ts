/**
 * The admin console over HTTP: accounts with their state, suspending and roles, and the
 * server's figures. Every route is for administrators only.
 */
import { Type, type Static } from '@sinclair/typebox';
import { RoomKind } from '../frames/rooms.js';
import { Limits } from '../limits.js';
import { Id, Role, Timestamp } from './schemas.js';

const strict = { additionalProperties: false } as const;

/** An account as administrators see it. */
export const AdminUser = Type.Object(
  {
    id: Id,
    username: Type.String(),
    role: Role,
    createdAt: Timestamp,
    /** Suspended accounts can't sign in; their sessions ended when they were suspended. */
    suspendedAt: Type.Union([Timestamp, Type.Null()]),
    /** Deleted accounts (also suspended) keep only their name: nothing else is left. */
    deletedAt: Type.Union([Timestamp, Type.Null()]),
    /** When any of their devices was last active; null for none. */
    lastSeenAt: Type.Union([Timestamp, Type.Null()]),
    /** Devices not removed. */
    devices: Type.Integer({ minimum: 0 }),
    /** Whether they sign in with a second factor (TOTP). */
    twoFactor: Type.Boolean(),
  },
  strict,
);
export type AdminUser = Static<typeof AdminUser>;

export const AdminUsersResponse = Type.Object({ users: Type.Array(AdminUser) }, strict);
export type AdminUsersResponse = Static<typeof AdminUsersResponse>;

export const AdminUserParams = Type.Object({ userId: Id }, strict);
export type AdminUserParams = Static<typeof AdminUserParams>;

export const SuspendRequest = Type.Object({ suspended: Type.Boolean() }, strict);
export type SuspendRequest = Static<typeof SuspendRequest>;

export const RoleRequest = Type.Object({ role: Role }, strict);
export type RoleRequest = Static<typeof RoleRequest>;

/** The server at a glance. */
export const ServerStats = Type.Object(
  {
    users: Type.Integer({ minimum: 0 }),
    suspendedUsers: Type.Integer({ minimum: 0 }),
    rooms: Type.Integer({ minimum: 0 }),
    /** Open WebSocket connections on the node that answered. */
    connectionsOnThisNode: Type.Integer({ minimum: 0 }),
    /** Messages (and edits, reactions) stored in the last minute and the last 24 hours. */
    messagesLastMinute: Type.Integer({ minimum: 0 }),
    messagesLastDay: Type.Integer({ minimum: 0 }),
    storage: Type.Object(
      {
        /** The database's own size; null where it can't be read. */
        databaseBytes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
        /** Encrypted files and the blobs MLS uses (group info, welcomes). */
        filesBytes: Type.Integer({ minimum: 0 }),
        blobsBytes: Type.Integer({ minimum: 0 }),
      },
      strict,
    ),
  },
  strict,
);
export type ServerStats = Static<typeof ServerStats>;

/**
 * A room as administrators see it: what the server knows. The names and topics of groups and
 * direct rooms are end-to-end encrypted, so only public channels (and #general) have a name.
 */
export const AdminRoom = Type.Object(
  {
    id: Id,
    kind: RoomKind,
    /** Channels and #general only; null for groups and direct rooms. */
    name: Type.Union([Type.String(), Type.Null()]),
    /** A protected channel needs a password to join. */
    protected: Type.Boolean(),
    members: Type.Integer({ minimum: 0 }),
    /** Events in its log (messages, edits, reactions, notices, commits). */
    events: Type.Integer({ minimum: 0 }),
    createdAt: Timestamp,
    /** When its last event was stored; null for a room with none. */
    lastActivityAt: Type.Union([Timestamp, Type.Null()]),
    /** When an administrator closed it (a read-only archive); null while it is open. */
    closedAt: Type.Union([Timestamp, Type.Null()]),
  },
  strict,
);
export type AdminRoom = Static<typeof AdminRoom>;

/** Filters of the room list, and the page (`offset` rooms skipped). */
export const AdminRoomsQuery = Type.Object(
  {
    kind: Type.Optional(RoomKind),
    /** Open rooms only, or closed ones only; absent = both. */
    state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
    /** Part of a channel's name (case-insensitive). */
    name: Type.Optional(
      Type.String({ minLength: 1, maxLength: Limits.ADMIN_ROOMS_FILTER_MAX_CHARS }),
    ),
    /** Rooms on the page: 1 to ADMIN_ROOMS_PAGE_MAX (decimal digits, as in any query). */
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
    /** Rooms skipped: the rooms already shown. */
    offset: Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,6})$' })),
  },
  strict,
);
export type AdminRoomsQuery = Static<typeof AdminRoomsQuery>;

export const AdminRoomsResponse = Type.Object(
  {
    rooms: Type.Array(AdminRoom),
    /** Every room matching the filters, on all pages. */
    total: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type AdminRoomsResponse = Static<typeof AdminRoomsResponse>;

export const AdminRoomParams = Type.Object({ roomId: Id }, strict);
export type AdminRoomParams = Static<typeof AdminRoomParams>;

/** What deleting a room ended. */
export const AdminRoomDeleted = Type.Object(
  { members: Type.Integer({ minimum: 0 }), events: Type.Integer({ minimum: 0 }) },
  strict,
);
export type AdminRoomDeleted = Static<typeof AdminRoomDeleted>;

/** What deleting an account ended. */
export const AdminUserDeleted = Type.Object(
  {
    username: Type.String(),
    /** Rooms they were taken out of (those they were alone in are deleted). */
    rooms: Type.Integer({ minimum: 0 }),
    devices: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type AdminUserDeleted = Static<typeof AdminUserDeleted>;
