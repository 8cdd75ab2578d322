/**
 * Table types for Kysely. Timestamps are milliseconds since the epoch (INTEGER in SQLite,
 * BIGINT in PostgreSQL, read back as numbers). Nullable columns are `| null`.
 */
import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  /** Sealed (vault purpose `username`, 0012): never the plaintext. */
  username: string;
  /** Blind index of the canonical username (0012): look-ups and uniqueness. */
  username_index: string;
  /** Blind index of the username's lookalike skeleton (0012; the skeleton itself before). */
  username_skeleton: string;
  /** The OPAQUE registration record (base64url). Not a password hash: useless without the server setup. */
  opaque_record: string;
  role: 'admin' | 'member';
  created_at: number;
  password_changed_at: number;
  suspended_at: number | null;
  /** Deleted by an administrator (0014): also suspended, with nothing left but the row. */
  deleted_at: number | null;
  /** The user's identity key: an Ed25519 public key, set once, never changed (0008). */
  identity_key: Uint8Array | null;
  /** Its private key as the client encrypted it: opaque bytes, replaced on a password change. */
  identity_backup: Uint8Array | null;
  identity_set_at: number | null;
}

export interface DevicesTable {
  id: string;
  user_id: string;
  /** Sealed (`device-name`, 0012). */
  name: string;
  created_at: number;
  last_seen_at: number;
  revoked_at: number | null;
  /**
   * SHA-256 of the secret handed to the browser when the device was created (0008): a later
   * sign-in presenting it reuses this device. Null for devices made before 0008.
   */
  secret_hash: string | null;
}

export interface SessionsTable {
  /** SHA-256 of the session token; the token itself lives only in the browser's cookie. */
  id: string;
  user_id: string;
  device_id: string;
  created_at: number;
  last_seen_at: number;
  /** Absolute expiry; idle expiry is last_seen_at + the idle lifetime. */
  expires_at: number;
  /** When the user last re-entered their password in this session (password change). */
  reauth_at: number | null;
}

export interface LoginAttemptsTable {
  /** SHA-256 of the attempt token handed to the client between the two OPAQUE steps. */
  id: string;
  /** Null when the username does not exist: the attempt then fails at the second step. */
  user_id: string | null;
  purpose: 'login' | 'reauth';
  /** For a re-authentication: the session that asked. */
  session_id: string | null;
  server_login_state: string;
  expires_at: number;
  /** The client address that started it, sealed (`audit-address`, 0012). */
  ip: string | null;
}

export interface InvitesTable {
  id: string;
  token_hash: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  /** Sealed JSON `{ usedBy }` (`link-meta`, 0012): who used it. (`used_by` is no longer written.) */
  meta: string | null;
}

/** A password-reset link (0011): single use, expiring; a newer one for the user replaces it. */
export interface ResetLinksTable {
  token_hash: string;
  user_id: string;
  /**
   * Sealed JSON `{ createdBy }` (`link-meta`, 0012): the administrator who made it (null when
   * made by `securechat admin reset-link`). (`created_by` is no longer written.)
   */
  meta: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** A user's TOTP (0013): enrolment pending while `enabled_at` is null. */
export interface TotpTable {
  user_id: string;
  /** The base32 secret, sealed by the vault (purpose `totp-secret`). */
  secret: string;
  created_at: number;
  enabled_at: number | null;
  /** The last 30-second time step a code was accepted for: that code and older are refused. */
  last_step: number | null;
  /** Codes tried in the current window (a right one is given back), and when it began. */
  failures: number;
  failures_since: number;
}

/** Single-use recovery codes (0013): only their SHA-256. */
export interface RecoveryCodesTable {
  code_hash: string;
  user_id: string;
  used_at: number | null;
}

/** A sign-in that passed OPAQUE and waits for its second factor (0013). */
export interface SecondFactorTicketsTable {
  /** SHA-256 of the ticket handed to the client. */
  id: string;
  user_id: string;
  /** `verify`: give a code; `enrol`: REQUIRE_2FA and none yet, enrol first. */
  purpose: 'verify' | 'enrol';
  created_at: number;
  expires_at: number;
  ip: string | null;
}

/** A WebAuthn credential registered as a second factor (0013). */
export interface PasskeysTable {
  /** The credential id (base64url). */
  id: string;
  user_id: string;
  name: string;
  /** The COSE public key (base64url). */
  public_key: string;
  /** The signature counter last seen: a lower or equal one is refused (when not 0). */
  counter: number;
  /** JSON array of the transports the authenticator named. */
  transports: string;
  created_at: number;
  last_used_at: number | null;
}

/**
 * A WebAuthn ceremony's challenge, single use: `owner` is `session:<id>` (adding a passkey)
 * or `ticket:<hash>` (a sign-in's second step).
 */
export interface PasskeyChallengesTable {
  owner: string;
  challenge: string;
  expires_at: number;
}

export interface SetupTokensTable {
  token_hash: string;
  /** 'first-run': logged at start while there is no admin; 'cli': made by `securechat admin create`. */
  origin: 'first-run' | 'cli';
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  event: string;
  user_id: string | null;
  /** Client address, when the event came from a request; sealed (`audit-address`, 0012). */
  ip: string | null;
  /** Small JSON object with event details; never secrets. */
  detail: string;
}

export interface RoomsTable {
  id: string;
  kind: 'general' | 'channel' | 'group' | 'direct';
  /** Public channels only (private names travel end-to-end encrypted); sealed (`room-name`, 0012). */
  name: string | null;
  /** Blind index of a channel's name (0012): one channel per name. */
  name_index: string | null;
  created_at: number;
  last_seq: number;
  /** Sealed (`room-topic`, 0012). */
  topic: string | null;
  /** Whether a new member sees what came before they joined. */
  visibility: Generated<'joined' | 'shared'>;
  /** argon2id hash of the room password (protected rooms only). */
  password_hash: string | null;
  /** Direct rooms: the two user ids, sorted and joined, so a pair has one room. */
  direct_key: string | null;
  /** The MLS epoch: bumped by each accepted commit. */
  epoch: Generated<number>;
  /** Bumped by every change of membership, so nodes can cache member lists safely. */
  members_version: Generated<number>;
  /**
   * The blob holding the MLS group info of the current epoch (0008), named by the accepted
   * commit that started it. While it is current it is kept past its expiry and counts against
   * nobody's quota. (The `group_info` bytes column of 0003 is no longer used.)
   */
  group_info_blob: string | null;
  /** Closed by an administrator (0015): read-only until reopened; see domain/room-administration.ts. */
  closed_at: number | null;
}

export interface RoomMembersTable {
  room_id: string;
  user_id: string;
  role: 'owner' | 'moderator' | 'member';
  joined_at: number;
  muted: Generated<number>;
  /** The room's last seq when this member joined; with `joined` visibility they see after it. */
  joined_seq: Generated<number>;
  /** Receipts (0010): the seq this member's devices have received, and read, up to. */
  delivered_seq: Generated<number>;
  read_seq: Generated<number>;
}

export interface EventsTable {
  room_id: string;
  seq: number;
  kind: EventKindColumn;
  sender_id: string;
  device_id: string;
  cmid: string;
  at: number;
  epoch: number | null;
  /** Ciphertext: opaque to the server. Emptied when the message is deleted. */
  payload: Uint8Array;
  /** Edit, reaction, delete: the seq of the event this one is about. */
  target: number | null;
  /** When a message was deleted (its payload is then erased). */
  deleted_at: number | null;
  /** Notices: the server-written JSON of what happened (join, leave, …), sealed (`notice`, 0012). */
  notice: string | null;
}

export type EventKindColumn = 'message' | 'edit' | 'reaction' | 'commit' | 'delete' | 'notice';

export interface BlocksTable {
  user_id: string;
  blocked_id: string;
  at: number;
}

export interface DeleteCodesTable {
  user_id: string;
  room_id: string;
  seq: number;
  code_hash: string;
  expires_at: number;
  attempts: Generated<number>;
}

export interface KeyPackagesTable {
  id: string;
  device_id: string;
  user_id: string;
  /** 1 for the device's last-resort package: handed out but never used up. */
  last_resort: number;
  created_at: number;
  data: Uint8Array;
}

export interface InboxTable {
  id: string;
  device_id: string;
  room_id: string;
  sender_id: string;
  sender_device: string;
  cmid: string;
  at: number;
  payload: Uint8Array;
}

export interface BlobsTable {
  id: string;
  room_id: string;
  /** Who uploaded it: their quota it counts against. */
  user_id: string;
  size: number;
  created_at: number;
  expires_at: number;
  data: Uint8Array;
}

/**
 * A file's ciphertext lives in the object store (storage/objects.ts) under its id; this row
 * says whose it is, where it may be read, and how long it is kept (0009).
 */
export interface FilesTable {
  id: string;
  /** No foreign key: a deleted room's files are collected with their objects. */
  room_id: string;
  /** Who uploaded it: their quota it counts against. */
  user_id: string;
  /** Bytes of ciphertext. */
  size: number;
  created_at: number;
  /** The message that carries it; null until a send names it (or once it is deleted). */
  message_seq: number | null;
  /** When it is collected; null while a message carries it. */
  expires_at: number | null;
}

/** A member added to a room whose devices its MLS group may not have yet (0006). */
export interface PendingAddsTable {
  room_id: string;
  user_id: string;
  added_at: number;
  /** After this the add is no longer pending: nobody may claim for it any more. */
  expires_at: number;
  /**
   * Null: the whole member is pending (invited, joined). A device id: only that new device of
   * theirs is (0008); it alone ends the add by writing, and claims hand out its packages only.
   */
  device_id: string | null;
}

/** Which device's key package a sender claimed for a room, and what that allows (0006). */
export interface KeyPackageClaimsTable {
  room_id: string;
  sender_id: string;
  target_user: string;
  device_id: string;
  /** The last claim. */
  claimed_at: number;
  /** Packages of this device claimed by this sender for this room. */
  claims: Generated<number>;
  /** Welcomes sent to this device on them (at most one per claimed package). */
  welcomes: Generated<number>;
}

/** Data keys of encryption at rest, wrapped by the master key (0012; src/vault/keyring.ts). */
export interface VaultKeysTable {
  id: string;
  /** A seal purpose, or `index` (the blind-index key, never replaced). */
  purpose: string;
  /** The current key of a purpose is its highest generation. */
  generation: number;
  /** Which master key wrapped it (an HMAC of that key, not the key). */
  master_id: string;
  /** AES-256-GCM of the key under the master key: `<nonce>.<ciphertext+tag>` (base64url). */
  wrapped: string;
  created_at: number;
  /** The master key id of the rotation that made it; null for a purpose's first key. */
  rotation: string | null;
}

export interface Database {
  vault_keys: VaultKeysTable;
  users: UsersTable;
  devices: DevicesTable;
  sessions: SessionsTable;
  login_attempts: LoginAttemptsTable;
  invites: InvitesTable;
  setup_tokens: SetupTokensTable;
  reset_links: ResetLinksTable;
  totp: TotpTable;
  recovery_codes: RecoveryCodesTable;
  second_factor_tickets: SecondFactorTicketsTable;
  passkeys: PasskeysTable;
  passkey_challenges: PasskeyChallengesTable;
  audit_log: AuditLogTable;
  rooms: RoomsTable;
  room_members: RoomMembersTable;
  events: EventsTable;
  blocks: BlocksTable;
  delete_codes: DeleteCodesTable;
  key_packages: KeyPackagesTable;
  inbox: InboxTable;
  pending_adds: PendingAddsTable;
  key_package_claims: KeyPackageClaimsTable;
  blobs: BlobsTable;
  files: FilesTable;
}
