/**
 * The admin console over HTTP: accounts with their state, suspending and roles, and the
 * server's figures. Every route is for administrators only.
 */
import { Type, type Static } from '@sinclair/typebox';
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
