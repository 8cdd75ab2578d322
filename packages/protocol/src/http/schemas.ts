/**
 * HTTP API schemas: each one is the TypeScript type (via `Static`) and the runtime validator
 * (JSON Schema, used by the server's routes and by the sdk) at once. Objects refuse unknown
 * properties; strings have lengths and patterns.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ERROR_CODES } from '../errors.js';
import { ID_REGEX_SOURCE } from '../ids.js';
import { Limits } from '../limits.js';

const strict = { additionalProperties: false } as const;

/** Base64url without padding, as @serenity-kit/opaque produces. */
const B64URL = '^[A-Za-z0-9_-]+$';

export const OpaqueMessage = Type.String({
  minLength: 1,
  maxLength: Limits.OPAQUE_MESSAGE_MAX_LENGTH,
  pattern: B64URL,
});
export const Token = Type.String({
  minLength: 16,
  maxLength: Limits.TOKEN_MAX_LENGTH,
  pattern: B64URL,
});
export const Id = Type.String({ pattern: ID_REGEX_SOURCE });

/** Characters of `bytes` bytes in base64url without padding. */
const base64urlLength = (bytes: number): number => Math.ceil((bytes * 4) / 3);
/** Exactly `bytes` bytes, as base64url without padding (the server checks the decoded size). */
const ExactBytes = (bytes: number) =>
  Type.String({
    minLength: base64urlLength(bytes),
    maxLength: base64urlLength(bytes),
    pattern: B64URL,
  });

/** A user's identity key: an Ed25519 public key (IDENTITY_KEY_BYTES), base64url. */
export const IdentityKey = ExactBytes(Limits.IDENTITY_KEY_BYTES);
/** The identity's private key as the client encrypted it: opaque, 1 to IDENTITY_BACKUP_MAX_BYTES. */
export const IdentityBackup = Type.String({
  minLength: 2,
  maxLength: base64urlLength(Limits.IDENTITY_BACKUP_MAX_BYTES),
  pattern: B64URL,
});
/** A device's secret (DEVICE_SECRET_BYTES), shown once when the device is created. */
export const DeviceSecret = ExactBytes(Limits.DEVICE_SECRET_BYTES);
/** What a person typed; normalized and checked by `normalizeUsername`. */
export const UsernameInput = Type.String({ minLength: 1, maxLength: 64 });
export const Timestamp = Type.String({ format: 'date-time' });
export const Role = Type.Union([Type.Literal('admin'), Type.Literal('member')]);
export type Role = Static<typeof Role>;
export const RegistrationMode = Type.Union([Type.Literal('open'), Type.Literal('invite')]);
export type RegistrationMode = Static<typeof RegistrationMode>;

export const ErrorResponse = Type.Object(
  {
    code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))),
    message: Type.String(),
    retryAfter: Type.Optional(Type.Integer({ minimum: 0 })),
    field: Type.Optional(Type.String()),
  },
  strict,
);

export const ServerInfo = Type.Object(
  {
    name: Type.String(),
    version: Type.String(),
    registration: RegistrationMode,
    limits: Type.Object({
      usernameMinLength: Type.Integer(),
      usernameMaxLength: Type.Integer(),
      passwordMinLength: Type.Integer(),
      /** This server's file policy (FILE_MAX_BYTES, FILE_TYPES): clients refuse early. */
      fileMaxBytes: Type.Integer(),
      fileTypes: Type.Array(Type.String()),
    }),
  },
  strict,
);
export type ServerInfo = Static<typeof ServerInfo>;

export const CsrfResponse = Type.Object({ token: Type.String() }, strict);
export type CsrfResponse = Static<typeof CsrfResponse>;

/** Registration proofs: an invite (invite-only servers) or an admin setup link. */
const RegistrationProofs = {
  inviteToken: Type.Optional(Token),
  setupToken: Type.Optional(Token),
};

export const RegisterStartRequest = Type.Object(
  { username: UsernameInput, registrationRequest: OpaqueMessage, ...RegistrationProofs },
  strict,
);
export type RegisterStartRequest = Static<typeof RegisterStartRequest>;
export const RegisterStartResponse = Type.Object({ registrationResponse: OpaqueMessage }, strict);
export type RegisterStartResponse = Static<typeof RegisterStartResponse>;

/** A user's identity: the public key and the client-encrypted backup of its private key. */
export const IdentityRequest = Type.Object({ key: IdentityKey, backup: IdentityBackup }, strict);
export type IdentityRequest = Static<typeof IdentityRequest>;

/** The signed-in user's own identity, each part null until it is set. */
export const IdentityResponse = Type.Object(
  {
    key: Type.Union([IdentityKey, Type.Null()]),
    backup: Type.Union([IdentityBackup, Type.Null()]),
  },
  strict,
);
export type IdentityResponse = Static<typeof IdentityResponse>;

export const RegisterFinishRequest = Type.Object(
  {
    username: UsernameInput,
    registrationRecord: OpaqueMessage,
    ...RegistrationProofs,
    /** Stored with the new account, in the same transaction. */
    identity: Type.Optional(IdentityRequest),
  },
  strict,
);
export type RegisterFinishRequest = Static<typeof RegisterFinishRequest>;

export const PublicUser = Type.Object(
  { id: Id, username: Type.String(), role: Role, createdAt: Timestamp },
  strict,
);
export type PublicUser = Static<typeof PublicUser>;

export const LoginStartRequest = Type.Object(
  { username: UsernameInput, startLoginRequest: OpaqueMessage },
  strict,
);
export type LoginStartRequest = Static<typeof LoginStartRequest>;
export const LoginStartResponse = Type.Object(
  { attemptId: Token, loginResponse: OpaqueMessage },
  strict,
);
export type LoginStartResponse = Static<typeof LoginStartResponse>;

/** A device this browser already has: its id and the secret it was given when created. */
export const DeviceCredential = Type.Object({ id: Id, secret: DeviceSecret }, strict);
export type DeviceCredential = Static<typeof DeviceCredential>;

export const LoginFinishRequest = Type.Object(
  {
    attemptId: Token,
    finishLoginRequest: OpaqueMessage,
    /**
     * Sign in on this existing device (a live device of the same user, with its secret): the
     * session is bound to it and no device is added. Otherwise, as without it, a new device.
     */
    device: Type.Optional(DeviceCredential),
  },
  strict,
);
export type LoginFinishRequest = Static<typeof LoginFinishRequest>;

/** Sign out; `removeDevice: true` also revokes this device (default: the device stays). */
export const LogoutRequest = Type.Object({ removeDevice: Type.Optional(Type.Boolean()) }, strict);
export type LogoutRequest = Static<typeof LogoutRequest>;

export const DeviceInfo = Type.Object(
  {
    id: Id,
    name: Type.String(),
    createdAt: Timestamp,
    lastSeenAt: Timestamp,
    current: Type.Boolean(),
  },
  strict,
);
export type DeviceInfo = Static<typeof DeviceInfo>;

/**
 * A signed-in session; also a registration's answer, which opens the session itself.
 * `deviceSecret` only in the answer that created `device` (registration, or a sign-in that
 * did not reuse a device): keep it with the device's keys, it is never shown again.
 */
export const SessionResponse = Type.Object(
  { user: PublicUser, device: DeviceInfo, deviceSecret: Type.Optional(DeviceSecret) },
  strict,
);
export type SessionResponse = Static<typeof SessionResponse>;

export const DevicesResponse = Type.Object({ devices: Type.Array(DeviceInfo) }, strict);
export type DevicesResponse = Static<typeof DevicesResponse>;

export const DeviceParams = Type.Object({ deviceId: Id }, strict);
export type DeviceParams = Static<typeof DeviceParams>;

/** Re-authentication before a password change: an OPAQUE login for the signed-in user. */
export const ReauthStartRequest = Type.Object({ startLoginRequest: OpaqueMessage }, strict);
export type ReauthStartRequest = Static<typeof ReauthStartRequest>;
export const ReauthFinishRequest = Type.Object(
  { attemptId: Token, finishLoginRequest: OpaqueMessage },
  strict,
);
export type ReauthFinishRequest = Static<typeof ReauthFinishRequest>;

export const PasswordChangeStartRequest = Type.Object(
  { registrationRequest: OpaqueMessage },
  strict,
);
export type PasswordChangeStartRequest = Static<typeof PasswordChangeStartRequest>;
export const PasswordChangeFinishRequest = Type.Object(
  {
    registrationRecord: OpaqueMessage,
    /**
     * The identity backup re-encrypted under the new password's export key: replaces the
     * stored one in the same transaction as the record (the account must have an identity).
     */
    identityBackup: Type.Optional(IdentityBackup),
  },
  strict,
);
export type PasswordChangeFinishRequest = Static<typeof PasswordChangeFinishRequest>;

export const InviteCreateRequest = Type.Object(
  {
    ttlSeconds: Type.Optional(
      Type.Integer({ minimum: 60, maximum: Limits.INVITE_MAX_TTL_SECONDS }),
    ),
  },
  strict,
);
export type InviteCreateRequest = Static<typeof InviteCreateRequest>;

export const InviteInfo = Type.Object(
  {
    id: Id,
    createdAt: Timestamp,
    expiresAt: Timestamp,
    usedAt: Type.Union([Timestamp, Type.Null()]),
    createdBy: Type.String(),
  },
  strict,
);
export type InviteInfo = Static<typeof InviteInfo>;

export const InviteCreateResponse = Type.Object(
  { invite: InviteInfo, token: Token, url: Type.String() },
  strict,
);
export type InviteCreateResponse = Static<typeof InviteCreateResponse>;

export const InvitesResponse = Type.Object({ invites: Type.Array(InviteInfo) }, strict);
export type InvitesResponse = Static<typeof InvitesResponse>;

export const InviteParams = Type.Object({ inviteId: Id }, strict);
export type InviteParams = Static<typeof InviteParams>;

export const HealthResponse = Type.Object(
  { status: Type.Literal('ok'), database: Type.Literal('ok') },
  strict,
);
export type HealthResponse = Static<typeof HealthResponse>;

export type Schema = TSchema;
