/**
 * The one catalogue of error codes the server answers with. Every error that crosses the wire
 * is `{ code, message }` with a code from here; the HTTP status is fixed per code so clients
 * can rely on it. Codes are stable: add new ones, never rename or reuse.
 */
export const ErrorCatalogue = {
  CHAT_ERR_VALIDATION: { status: 400, message: 'The request is not valid.' },
  CHAT_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'This endpoint accepts only application/json.',
  },
  CHAT_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  CHAT_ERR_UNAUTHENTICATED: { status: 401, message: 'You are not signed in.' },
  CHAT_ERR_FORBIDDEN: { status: 403, message: 'You are not allowed to do that.' },
  CHAT_ERR_CSRF: {
    status: 403,
    message: 'The request was refused: it did not come from this site.',
  },
  CHAT_ERR_NOT_FOUND: { status: 404, message: 'Not found.' },
  CHAT_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed.' },
  CHAT_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests. Try again later.' },
  CHAT_ERR_USERNAME_INVALID: { status: 400, message: 'That username is not allowed.' },
  CHAT_ERR_USERNAME_TAKEN: { status: 409, message: 'That username is already taken.' },
  CHAT_ERR_LOGIN_FAILED: { status: 401, message: 'Wrong username or password.' },
  CHAT_ERR_LOGIN_EXPIRED: {
    status: 401,
    message: 'The sign-in attempt expired. Please try again.',
  },
  CHAT_ERR_REAUTH_REQUIRED: {
    status: 401,
    message: 'Confirm your current password first.',
  },
  CHAT_ERR_SECOND_FACTOR_FAILED: {
    status: 401,
    message: 'That code is not right, or it was already used.',
  },
  CHAT_ERR_SECOND_FACTOR_EXPIRED: {
    status: 401,
    message: 'The sign-in waited too long for its second step. Please sign in again.',
  },
  CHAT_ERR_SECOND_FACTOR_REQUIRED: {
    status: 401,
    message: 'This account needs a second factor to sign in.',
  },
  CHAT_ERR_TWO_FACTOR_STATE: {
    status: 409,
    message: 'Two-factor sign-in is not in the state this needs: reload and try again.',
  },
  CHAT_ERR_REGISTRATION_CLOSED: {
    status: 403,
    message: 'Registration on this server needs an invitation.',
  },
  CHAT_ERR_INVITE_INVALID: {
    status: 403,
    message: 'That invitation is not valid: it may have been used or expired.',
  },
  CHAT_ERR_SELF_SUSPEND: {
    status: 409,
    message: 'You can’t suspend your own account.',
  },
  CHAT_ERR_RESET_LINK_INVALID: {
    status: 403,
    message: 'That password-reset link is not valid: it may have been used, replaced or expired.',
  },
  CHAT_ERR_SETUP_TOKEN_INVALID: {
    status: 403,
    message: 'That setup link is not valid: it may have been used already.',
  },
  CHAT_ERR_LAST_ADMIN: {
    status: 409,
    message: 'The last administrator cannot be demoted.',
  },
  CHAT_ERR_FRAME_MALFORMED: {
    status: 400,
    message: 'The frame could not be read: it is not a valid SecureChat frame.',
  },
  CHAT_ERR_FRAME_TOO_LARGE: {
    status: 413,
    message: 'The frame is larger than the server accepts.',
  },
  CHAT_ERR_PROTOCOL_VERSION: {
    status: 400,
    message: 'This app speaks a protocol version the server does not. Reload the app.',
  },
  CHAT_ERR_STALE_EPOCH: {
    status: 409,
    message: 'Another change to this conversation came first. Catch up and try again.',
  },
  CHAT_ERR_TOO_MANY_CONNECTIONS: {
    status: 429,
    message: 'Too many open connections for this account. Close a tab and try again.',
  },
  CHAT_ERR_ROOM_PASSWORD: { status: 403, message: 'Wrong room password.' },
  CHAT_ERR_ROOM_NAME_TAKEN: { status: 409, message: 'A channel with that name already exists.' },
  CHAT_ERR_ROOM_FULL: { status: 409, message: 'This room has reached its member limit.' },
  CHAT_ERR_TOO_MANY_ROOMS: {
    status: 409,
    message: 'You are in as many rooms as an account may be. Leave one first.',
  },
  CHAT_ERR_ROOM_CLOSED: {
    status: 409,
    message: 'An administrator closed this room: its history can be read, but nothing can be sent.',
  },
  CHAT_ERR_BLOCKED: { status: 403, message: 'This person is not accepting that from you.' },
  CHAT_ERR_DELETE_CODE: {
    status: 403,
    message: 'That delete code is wrong or has expired. Ask for a new one.',
  },
  CHAT_ERR_INBOX_FULL: {
    status: 409,
    message: "That device's inbox is full. Try again when it has caught up.",
  },
  CHAT_ERR_OWNER_MUST_TRANSFER: {
    status: 409,
    message: 'Hand ownership to another member before you leave.',
  },
  CHAT_ERR_TOO_LARGE: {
    status: 413,
    message: 'This is too long to send. Shorten it, or send it as a file.',
  },
  CHAT_ERR_SEND_EXPIRED: {
    status: 504,
    message: 'Sending this took too long and was given up. Check your connection and try again.',
  },
  CHAT_ERR_CONFLICT: {
    status: 409,
    message: 'That conflicts with what is already stored, which does not change.',
  },
  CHAT_ERR_BLOB_QUOTA: {
    status: 413,
    message: 'You have too much uploaded for now. Try again when older uploads have expired.',
  },
  CHAT_ERR_FILE_QUOTA: {
    status: 413,
    message: 'You have stored too many files. Delete some of your messages with files first.',
  },
  CHAT_ERR_FILE_TYPE: {
    status: 415,
    message: 'Files of this type cannot be sent here.',
  },
  CHAT_ERR_INTERNAL: { status: 500, message: 'Something went wrong on the server.' },
  CHAT_ERR_UNAVAILABLE: { status: 503, message: 'The server is busy. Try again shortly.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ErrorCatalogue;

export const ERROR_CODES = Object.keys(ErrorCatalogue) as ErrorCode[];

/** The body of every error answer. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** Seconds until a retry may succeed (rate limits). */
  retryAfter?: number;
  /** Which input field was wrong, when one was (validation). */
  field?: string;
  /** With CHAT_ERR_STALE_EPOCH: the room's current epoch. */
  epoch?: number;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCatalogue, value);
}

/** An error with a catalogue code, thrown by server domain code and by the sdk alike. */
export class ChatError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfter: number | undefined;
  readonly field: string | undefined;
  readonly epoch: number | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    extra: { retryAfter?: number; field?: string; epoch?: number } = {},
  ) {
    super(message ?? ErrorCatalogue[code].message);
    this.name = 'ChatError';
    this.code = code;
    this.status = ErrorCatalogue[code].status;
    this.retryAfter = extra.retryAfter;
    this.field = extra.field;
    this.epoch = extra.epoch;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.retryAfter !== undefined) body.retryAfter = this.retryAfter;
    if (this.field !== undefined) body.field = this.field;
    if (this.epoch !== undefined) body.epoch = this.epoch;
    return body;
  }
}
