/**
 * The HTTP API's paths, in one place for the server's routes and the sdk's calls.
 * State-changing routes (POST, PUT, DELETE) need the CSRF token in `CSRF_HEADER` and a same-site
 * `Origin`; JSON bodies must be sent as `application/json`.
 */
export const CSRF_HEADER = 'x-csrf-token';

export const ApiRoutes = {
  health: '/api/health',
  server: '/api/server',
  csrf: '/api/csrf',
  registerStart: '/api/auth/register/start',
  registerFinish: '/api/auth/register/finish',
  loginStart: '/api/auth/login/start',
  loginFinish: '/api/auth/login/finish',
  /** A sign-in's second step: a TOTP or recovery code with the challenge's ticket. */
  loginSecondFactor: '/api/auth/login/second-factor',
  /** REQUIRE_2FA: enrol TOTP during the sign-in (ticket of step `enrol`), then a session. */
  loginEnrolStart: '/api/auth/login/enrol/start',
  loginEnrolFinish: '/api/auth/login/enrol/finish',
  /** A sign-in's second step with a passkey: the options, then the browser's assertion. */
  loginPasskeyStart: '/api/auth/login/passkey/start',
  loginPasskeyFinish: '/api/auth/login/passkey/finish',
  logout: '/api/auth/logout',
  session: '/api/auth/session',
  reauthStart: '/api/account/reauth/start',
  reauthFinish: '/api/account/reauth/finish',
  passwordStart: '/api/account/password/start',
  passwordFinish: '/api/account/password/finish',
  /** GET: the signed-in user's identity key and backup; PUT: set them once. */
  identity: '/api/account/identity',
  /** GET: the signed-in user's second factors. */
  twoFactor: '/api/account/two-factor',
  /** POST: a new TOTP secret, pending until confirmed by its first code. */
  totpStart: '/api/account/two-factor/totp/start',
  totpConfirm: '/api/account/two-factor/totp/confirm',
  /** POST: turn TOTP off (and spend the recovery codes); a fresh code first. */
  totpDisable: '/api/account/two-factor/totp/disable',
  /** POST: new recovery codes (the old ones stop working); a fresh code first. */
  recoveryCodes: '/api/account/two-factor/recovery-codes',
  /** GET: the signed-in user's passkeys. */
  passkeys: '/api/account/passkeys',
  /** Adding a passkey: the creation options, then the browser's answer with a name. */
  passkeyAddStart: '/api/account/passkeys/add/start',
  passkeyAddFinish: '/api/account/passkeys/add/finish',
  /** PUT `{name}`: rename; DELETE: remove (after re-entering the password). */
  passkey: '/api/account/passkeys/:passkeyId',
  devices: '/api/devices',
  device: '/api/devices/:deviceId',
  adminUsers: '/api/admin/users',
  adminInvites: '/api/admin/invites',
  adminInvite: '/api/admin/invites/:inviteId',
  /** POST: a single-use password-reset link for this user (older unused ones stop working). */
  adminResetLink: '/api/admin/users/:userId/reset-link',
  /** POST `{suspended}`: suspend (every session ends) or restore an account. */
  adminSuspend: '/api/admin/users/:userId/suspend',
  /** POST `{role}`: make an account an administrator or a member (never the last admin). */
  adminRole: '/api/admin/users/:userId/role',
  /** DELETE: an account — sessions, devices, memberships, keys; the name stays taken. */
  adminUser: '/api/admin/users/:userId',
  /** POST: remove every second factor of this user (they sign in with the password alone). */
  adminResetTwoFactor: '/api/admin/users/:userId/reset-2fa',
  /** GET: users, rooms, connections, messages per minute, storage. */
  adminStats: '/api/admin/stats',
  /** GET: the server-wide audit log, filtered and paged. */
  adminAudit: '/api/admin/audit',
  /** GET: rooms with their member counts and last activity, most recently active first. */
  adminRooms: '/api/admin/rooms',
  /** DELETE: a room, its history and its files, for everyone in it (never #general). */
  adminRoom: '/api/admin/rooms/:roomId',
  /** POST: close a room — a read-only archive its members keep (never #general). */
  adminCloseRoom: '/api/admin/rooms/:roomId/close',
  /** POST: reopen a closed room: its members may write in it again. */
  adminReopenRoom: '/api/admin/rooms/:roomId/reopen',
  /** The reset link's three steps: what it is for, then OPAQUE re-registration. */
  resetCheck: '/api/auth/reset/check',
  resetStart: '/api/auth/reset/start',
  resetFinish: '/api/auth/reset/finish',
  /** POST: end every session of the signed-in user except this one. */
  signOutOthers: '/api/account/sessions/sign-out-others',
  /** GET: the signed-in user's own security events, newest first. */
  activity: '/api/account/activity',
  /** GET: this API described in OpenAPI 3.1 (public, cacheable). */
  openapi: '/api/openapi.json',
  /** The realtime WebSocket (GET upgrade). */
  socket: '/api/ws',
} as const;

/** Web paths the server knows (the single-page app handles the rest of `/`). */
export const WebPaths = {
  setup: '/setup',
  invite: '/invite',
  /** A password-reset link: `/reset#token=…` (a fragment, never in an access log). */
  reset: '/reset',
} as const;
