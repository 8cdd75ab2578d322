/**
 * Every limit the server enforces, by name. The server reads these (or its configuration,
 * whose defaults are these) and the clients use them to refuse bad input before sending.
 */
export const Limits = {
  /** Usernames after normalization (NFKC, case-folded). */
  USERNAME_MIN_LENGTH: 3,
  USERNAME_MAX_LENGTH: 32,
  /** Client-side password policy. */
  PASSWORD_MIN_LENGTH: 10,
  PASSWORD_MAX_LENGTH: 1024,
  /** Minimum zxcvbn score (0–4) a password needs. */
  PASSWORD_MIN_SCORE: 3,
  /** Device names shown in the devices list. */
  DEVICE_NAME_MAX_LENGTH: 64,
  /** OPAQUE messages are small fixed-size base64url strings; anything longer is hostile. */
  OPAQUE_MESSAGE_MAX_LENGTH: 1024,
  /** Tokens (setup links, invites, login attempt ids) are base64url strings of 32 bytes. */
  TOKEN_MAX_LENGTH: 128,
  /** Largest JSON body any route accepts, in bytes. */
  JSON_BODY_MAX_BYTES: 64 * 1024,
  /** Login attempts per minute, per account and per client address. */
  LOGIN_ATTEMPTS_PER_MINUTE: 5,
  /** Registrations per hour per client address. */
  REGISTRATIONS_PER_HOUR: 10,
  /** API requests per minute per client address (all routes). */
  API_REQUESTS_PER_MINUTE: 600,
  /** Seconds an OPAQUE login may take between its two steps. */
  LOGIN_ATTEMPT_TTL_SECONDS: 60,
  /**
   * Login attempts per minute for one account from one client address (IPv6: its /64): the
   * budget a guesser has per address. A stranger's flood from elsewhere does not spend the
   * real user's budget. The default of RATE_LIMIT_LOGIN_PER_MINUTE, which also bounds one
   * address's attempts over all accounts.
   */
  LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS_PER_MINUTE: 5,
  /**
   * The looser ceiling per account, whatever the address: bounds guessing spread over many
   * addresses; only a flood from this many attempts a minute can keep the real user out.
   */
  LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE: 30,
  /** Seconds a password confirmation (re-authentication) stays valid. */
  REAUTH_TTL_SECONDS: 300,
  /** TOTP (RFC 6238): digits, seconds per step, and steps either side of now a code may be. */
  TOTP_DIGITS: 6,
  TOTP_PERIOD_SECONDS: 30,
  TOTP_WINDOW_STEPS: 1,
  /** Recovery codes handed out with a second factor (each single use). */
  RECOVERY_CODES: 10,
  /** Seconds a sign-in may wait for its second factor (or its enrolment) after OPAQUE. */
  SECOND_FACTOR_TTL_SECONDS: 600,
  /**
   * Wrong second-factor codes (TOTP or recovery) one account may give in
   * SECOND_FACTOR_FAILURE_WINDOW_SECONDS, from anywhere; past it every code is refused
   * until the window moves on (a ticket to try codes with comes only with the password).
   */
  SECOND_FACTOR_FAILURES_MAX: 5,
  SECOND_FACTOR_FAILURE_WINDOW_SECONDS: 900,
  /** Passkeys one account may register, and the length of a passkey's name. */
  PASSKEYS_PER_USER_MAX: 10,
  PASSKEY_NAME_MAX_LENGTH: 64,
  /** Seconds a WebAuthn ceremony (adding a passkey, or signing in with one) may take. */
  PASSKEY_CHALLENGE_TTL_SECONDS: 300,
  /** Longest base64url field of a WebAuthn response (attestation objects are the largest). */
  WEBAUTHN_FIELD_MAX_LENGTH: 16_384,
  /** Sessions: idle and absolute lifetime. */
  SESSION_IDLE_SECONDS: 14 * 24 * 3600,
  SESSION_ABSOLUTE_SECONDS: 90 * 24 * 3600,
  /** Invites admins create: default and longest lifetime. */
  INVITE_DEFAULT_TTL_SECONDS: 7 * 24 * 3600,
  INVITE_MAX_TTL_SECONDS: 90 * 24 * 3600,
  /** Password-reset links admins make: default and longest lifetime. */
  RESET_LINK_DEFAULT_TTL_SECONDS: 24 * 3600,
  RESET_LINK_MAX_TTL_SECONDS: 7 * 24 * 3600,
  /** Account activity: entries on one page, and audit rows read to build it (bursts fold). */
  ACTIVITY_PAGE_MAX: 50,
  ACTIVITY_SCAN_MAX: 500,
  /** The admin audit log: entries on one page. */
  AUDIT_PAGE_MAX: 100,
  /** The admin console's room list: rooms on one page, and the longest name filter. */
  ADMIN_ROOMS_PAGE_MAX: 100,
  ADMIN_ROOMS_FILTER_MAX_CHARS: 64,
  /** Days audit events are kept (AUDIT_RETENTION_DAYS): default and bounds. */
  AUDIT_RETENTION_DEFAULT_DAYS: 365,
  AUDIT_RETENTION_MIN_DAYS: 1,
  AUDIT_RETENTION_MAX_DAYS: 3650,
  /** Devices one account may have at once. */
  DEVICES_PER_USER_MAX: 50,
  /**
   * A device's secret: random bytes the server hands out once, when the device is created,
   * and keeps only a hash of. Signing in again with it reuses the device (signing out keeps it).
   */
  DEVICE_SECRET_BYTES: 32,
  /** A user's identity key: an Ed25519 public key. */
  IDENTITY_KEY_BYTES: 32,
  /** The encrypted backup of the identity's private key (opaque to the server), at most. */
  IDENTITY_BACKUP_MAX_BYTES: 4096,

  // Realtime (WebSocket) limits.
  /** Largest WebSocket frame a client may send, in bytes (also the socket library's maxPayload). */
  FRAME_MAX_BYTES: 128 * 1024,
  /** Largest opaque payload (ciphertext) in one event, in bytes. Files go over HTTP. */
  PAYLOAD_MAX_BYTES: 96 * 1024,
  /** Client message ids: what makes a send idempotent. */
  CLIENT_MESSAGE_ID_MAX_LENGTH: 64,
  /** Sends per second per device (token bucket rate; the burst is twice this). */
  SENDS_PER_SECOND_PER_DEVICE: 20,
  /** Sends per second per user, over all their devices. */
  SENDS_PER_SECOND_PER_USER: 40,
  /** Highest send rate an operator may configure (RATE_LIMIT_SENDS_PER_SECOND_PER_*). */
  SENDS_PER_SECOND_MAX: 10_000,
  /** Requests one connection may have waiting for their replies; more are refused at once. */
  REQUESTS_IN_FLIGHT_PER_CONNECTION: 64,
  /** Open WebSockets one user may have at once, over all nodes. */
  CONNECTIONS_PER_USER_MAX: 20,
  /**
   * WebSocket upgrades per minute per client address: their own budget, apart from
   * API_REQUESTS_PER_MINUTE, sized so everyone behind one office NAT can reconnect at once
   * after a restart (the per-user connection cap still applies).
   */
  WS_UPGRADES_PER_MINUTE_PER_ADDRESS: 1000,
  /**
   * Per-user budgets of the other client frames (token buckets: rate per second and burst;
   * sends have their own above). Over a budget a request is answered CHAT_ERR_RATE_LIMITED
   * with retryAfter, never dropped. Typing and presence fan out to whole rooms.
   */
  PINGS_PER_SECOND_PER_USER: 2,
  PINGS_BURST_PER_USER: 20,
  TYPING_PER_SECOND_PER_USER: 2,
  TYPING_BURST_PER_USER: 6,
  PRESENCE_CHANGES_PER_MINUTE_PER_USER: 30,
  /** Receipts fan out to a room's members: clients send at most one per room per second. */
  RECEIPTS_PER_SECOND_PER_USER: 5,
  RECEIPTS_BURST_PER_USER: 30,
  /** history, resume, rooms, members, blocked, group-info, inbox-fetch. */
  READS_PER_SECOND_PER_USER: 20,
  READS_BURST_PER_USER: 100,
  /** directory and users (searches). */
  LOOKUPS_PER_SECOND_PER_USER: 3,
  LOOKUPS_BURST_PER_USER: 15,
  /** create, direct, join, leave, invite, kick, role, transfer, settings, mute, block, delete. */
  ROOM_CHANGES_PER_MINUTE_PER_USER: 120,
  /** kp-upload, kp-claim, inbox-ack, identity-keys. */
  KEY_REQUESTS_PER_SECOND_PER_USER: 5,
  KEY_REQUESTS_BURST_PER_USER: 50,
  /** Rooms one user may be in. */
  ROOMS_PER_USER_MAX: 1000,
  /** Members one room may have. */
  MEMBERS_PER_ROOM_MAX: 5000,
  /** Events in one history page (scrolling back: what a screen or two shows). */
  HISTORY_PAGE_MAX: 200,
  /** Events in one resume batch (catching up after being away: fewer round trips). */
  RESUME_PAGE_MAX: 1000,
  /**
   * Payload bytes in one history page or resume batch: a page stops before the event that
   * would pass it (it always holds at least one), so pages of large events stay well under
   * SERVER_FRAME_MAX_BYTES.
   */
  PAGE_BYTES_MAX: 1024 * 1024,
  /** Largest frame a client accepts from the server (a page of events is the largest). */
  SERVER_FRAME_MAX_BYTES: 2 * 1024 * 1024,
  /** Rooms named in one resume request. */
  RESUME_ROOMS_MAX: 1000,
  /** Room names: channels are found by name. */
  ROOM_NAME_MAX_LENGTH: 64,
  ROOM_TOPIC_MAX_LENGTH: 512,
  /** Room passwords (protected rooms): hashed with argon2id on the server. */
  ROOM_PASSWORD_MIN_LENGTH: 8,
  ROOM_PASSWORD_MAX_LENGTH: 256,
  /** Wrong or right, password attempts per user and room in 15 minutes. */
  ROOM_PASSWORD_ATTEMPTS_PER_15_MIN: 10,
  /**
   * Room-password hashes (argon2id, 19 MiB each) one server process computes at once; more
   * wait in a queue of at most ROOM_PASSWORD_HASH_QUEUE_MAX, past which the request is
   * refused with CHAT_ERR_UNAVAILABLE (and retryAfter).
   */
  ROOM_PASSWORD_HASHES_CONCURRENT_MAX: 2,
  ROOM_PASSWORD_HASH_QUEUE_MAX: 32,
  /** Channels in one directory page. */
  DIRECTORY_PAGE_MAX: 100,
  /** Members in one member-list page. */
  MEMBER_PAGE_MAX: 500,
  /**
   * Delivery and read receipts are kept and shared only in rooms of at most this many members:
   * each receipt fans out to every member, and "read by everyone" means little in a crowd.
   */
  RECEIPT_ROOM_MEMBERS_MAX: 100,
  /** A delete code: digits, lifetime, and how many a user may ask for per minute. */
  DELETE_CODE_DIGITS: 4,
  DELETE_CODE_TTL_SECONDS: 120,
  DELETE_CODES_PER_MINUTE: 10,
  /** Wrong delete codes before the code is burned and a new one must be asked for. */
  DELETE_CODE_ATTEMPTS_MAX: 3,
  /** Key packages one device may have waiting (not counting its last-resort package). */
  KEY_PACKAGES_PER_DEVICE_MAX: 200,
  /** Key packages in one upload. */
  KEY_PACKAGE_BATCH_MAX: 100,
  /** Largest key package, in bytes. (A room's group info is a blob: BLOB_MAX_BYTES.) */
  KEY_PACKAGE_MAX_BYTES: 16 * 1024,
  /** Devices whose key packages one claim asks for. */
  KEY_PACKAGE_CLAIM_DEVICES_MAX: 100,
  /** Claims a user may make per minute (each claim is one request, any number of devices). */
  KEY_PACKAGE_CLAIMS_PER_MINUTE: 30,
  /** Messages waiting in one device's inbox (welcomes); the oldest are never dropped silently. */
  INBOX_MESSAGES_MAX: 1000,
  /**
   * How long someone invited to or joining a room stays a pending add: who other members may
   * claim key packages of, and send welcomes to, for that room.
   */
  PENDING_ADD_TTL_SECONDS: 7 * 24 * 3600,
  /** Key packages one sender may claim of one device for one room (one pending add). */
  KEY_PACKAGE_CLAIMS_PER_SENDER_PER_DEVICE: 3,
  /** Claims naming one user that one sender may make per day, over all rooms. */
  KEY_PACKAGE_CLAIMS_PER_SENDER_PER_USER_PER_DAY: 20,
  /** Messages from one sender waiting in one device's inbox. */
  INBOX_MESSAGES_PER_SENDER_PER_DEVICE_MAX: 10,
  /**
   * Members of #general. Account number GENERAL_MEMBERS_MAX + 1 and later are not added to
   * #general (everything else works for them); a later connection adds them once a place
   * is free.
   */
  GENERAL_MEMBERS_MAX: 5000,
  /** Users one user may block. */
  BLOCKS_PER_USER_MAX: 1000,
  /** Users whose identity keys one identity-keys request may ask for. */
  IDENTITY_KEYS_PER_REQUEST_MAX: 100,

  // Blobs over HTTP (PUT/GET /api/rooms/:room/blobs): ratchet trees, welcomes, group info.
  // A room's current group-info blob is kept past BLOB_TTL_SECONDS and counts against nobody's
  // quota while it is current.
  /** Largest blob, in bytes. */
  BLOB_MAX_BYTES: 8 * 1024 * 1024,
  /** Bytes of unexpired blobs one user may have stored at once. */
  BLOB_BYTES_PER_USER_MAX: 64 * 1024 * 1024,
  /** Blob uploads per minute per user. */
  BLOB_UPLOADS_PER_MINUTE_PER_USER: 60,
  /** Seconds a blob is kept; then it is swept. */
  BLOB_TTL_SECONDS: 7 * 24 * 3600,

  // Files (PUT/GET /api/rooms/:room/files): attachments, encrypted by the sender's browser.
  // The server stores ciphertext only; the key and hash travel inside the MLS message.
  /** Largest file (its plaintext), in bytes: the default of FILE_MAX_BYTES. */
  FILE_MAX_BYTES: 5 * 1024 * 1024,
  /** Bytes of stored files one user may have at once: the default of FILE_QUOTA_BYTES. */
  FILE_BYTES_PER_USER_MAX: 200 * 1024 * 1024,
  /** File uploads per minute per user. */
  FILE_UPLOADS_PER_MINUTE_PER_USER: 30,
  /** Plaintext bytes per encrypted chunk (the last chunk may be shorter). */
  FILE_CHUNK_BYTES: 64 * 1024,
  /** Authentication tag added to each chunk (AES-256-GCM). */
  FILE_CHUNK_TAG_BYTES: 16,
  /**
   * Seconds an uploaded file may wait for a message that names it; then it is collected.
   * A file a message names is kept until that message is deleted.
   */
  FILE_UNREFERENCED_SECONDS: 24 * 3600,
  /** A file's name as its sender gives it, in UTF-16 code units. */
  FILE_NAME_MAX_LENGTH: 255,
  /**
   * A member's display name and avatar travel end-to-end encrypted (the server can't read
   * them): every reader ignores a name longer than this or an avatar bigger than this, and the
   * sdk refuses to send them. The avatar is also a file, under FILE_MAX_BYTES like any other.
   */
  DISPLAY_NAME_MAX_LENGTH: 64,
  AVATAR_MAX_BYTES: 256 * 1024,
} as const;

/** The file types (extensions) allowed by default: the default of FILE_TYPES. */
export const DEFAULT_FILE_TYPES = [
  'png',
  'jpg',
  'jpeg',
  'gif',
  'pdf',
  'txt',
  'doc',
  'docx',
  'zip',
] as const;

/**
 * The size of a file once encrypted: each FILE_CHUNK_BYTES of plaintext (and a last, shorter
 * or empty chunk) gains a FILE_CHUNK_TAG_BYTES tag. The server measures uploads by this.
 */
export function sealedFileBytes(plainBytes: number): number {
  const chunks = Math.max(1, Math.ceil(plainBytes / Limits.FILE_CHUNK_BYTES));
  return plainBytes + chunks * Limits.FILE_CHUNK_TAG_BYTES;
}

export type LimitName = keyof typeof Limits;
