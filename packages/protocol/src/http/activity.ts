/**
 * Account security over HTTP: password-reset links, signing out other sessions, each user's
 * own account activity and the administrators' audit log.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Limits } from '../limits.js';
import { Id, OpaqueMessage, Timestamp, Token, UsernameInput } from './schemas.js';

const strict = { additionalProperties: false } as const;

/** A positive whole number in a query string (query strings are text; no coercion). */
const QueryCount = Type.String({ pattern: '^[1-9][0-9]{0,14}$' });

export const ResetLinkRequest = Type.Object(
  {
    ttlSeconds: Type.Optional(
      Type.Integer({ minimum: 600, maximum: Limits.RESET_LINK_MAX_TTL_SECONDS }),
    ),
  },
  strict,
);
export type ResetLinkRequest = Static<typeof ResetLinkRequest>;

export const ResetLinkParams = Type.Object({ userId: Id }, strict);
export type ResetLinkParams = Static<typeof ResetLinkParams>;

/** A new reset link, shown once: the server keeps only its token's hash. */
export const ResetLinkResponse = Type.Object(
  { username: Type.String(), url: Type.String(), expiresAt: Timestamp },
  strict,
);
export type ResetLinkResponse = Static<typeof ResetLinkResponse>;

export const ResetCheckRequest = Type.Object({ token: Token }, strict);
export type ResetCheckRequest = Static<typeof ResetCheckRequest>;
/** Whose password the link resets (the page says so before anything changes). */
export const ResetCheckResponse = Type.Object(
  { username: Type.String(), expiresAt: Timestamp },
  strict,
);
export type ResetCheckResponse = Static<typeof ResetCheckResponse>;

export const ResetStartRequest = Type.Object(
  { token: Token, registrationRequest: OpaqueMessage },
  strict,
);
export type ResetStartRequest = Static<typeof ResetStartRequest>;
export const ResetFinishRequest = Type.Object(
  { token: Token, registrationRecord: OpaqueMessage },
  strict,
);
export type ResetFinishRequest = Static<typeof ResetFinishRequest>;

export const SignOutOthersResponse = Type.Object({ ended: Type.Integer({ minimum: 0 }) }, strict);
export type SignOutOthersResponse = Static<typeof SignOutOthersResponse>;

/** Small event details: never secrets (audit.ts). */
const Detail = Type.Record(
  Type.String(),
  Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]),
);

/**
 * One line of a user's own account activity. Failed sign-ins in a row fold into one entry:
 * `count` of them, from `at` (the latest) back to `since`.
 */
export const ActivityEntry = Type.Object(
  {
    id: Type.Integer(),
    at: Timestamp,
    event: Type.String(),
    /** The device involved, by the name the server gave it, when it still knows it. */
    device: Type.Union([Type.String(), Type.Null()]),
    /** The network it came from, shortened (an IPv4 /24 or an IPv6 /48). */
    network: Type.Union([Type.String(), Type.Null()]),
    /** Whether it was done by an administrator rather than by the user. */
    byAdmin: Type.Boolean(),
    newDevice: Type.Boolean(),
    count: Type.Integer({ minimum: 1 }),
    since: Timestamp,
  },
  strict,
);
export type ActivityEntry = Static<typeof ActivityEntry>;

export const ActivityQuery = Type.Object({ before: Type.Optional(QueryCount) }, strict);
export type ActivityQuery = Static<typeof ActivityQuery>;

export const ActivityResponse = Type.Object(
  {
    entries: Type.Array(ActivityEntry),
    /** Pass as `before` for older entries; null at the end. */
    next: Type.Union([Type.Integer(), Type.Null()]),
  },
  strict,
);
export type ActivityResponse = Static<typeof ActivityResponse>;

export const AuditQuery = Type.Object(
  {
    /** An event name (`account.login`) or its family (`account`). */
    event: Type.Optional(Type.String({ pattern: '^[a-z0-9_]+(\\.[a-z0-9_]+)?$', maxLength: 64 })),
    username: Type.Optional(UsernameInput),
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
    /** Entries older than this id (the previous page's `next`). */
    before: Type.Optional(QueryCount),
    /** 1 to Limits.AUDIT_PAGE_MAX (the default). */
    limit: Type.Optional(Type.String({ pattern: `^([1-9]|[1-9][0-9]|${Limits.AUDIT_PAGE_MAX})$` })),
  },
  strict,
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditEntry = Type.Object(
  {
    id: Type.Integer(),
    at: Timestamp,
    event: Type.String(),
    userId: Type.Union([Id, Type.Null()]),
    username: Type.Union([Type.String(), Type.Null()]),
    address: Type.Union([Type.String(), Type.Null()]),
    detail: Detail,
  },
  strict,
);
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditResponse = Type.Object(
  { entries: Type.Array(AuditEntry), next: Type.Union([Type.Integer(), Type.Null()]) },
  strict,
);
export type AuditResponse = Static<typeof AuditResponse>;
