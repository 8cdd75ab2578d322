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
  logout: '/api/auth/logout',
  session: '/api/auth/session',
  reauthStart: '/api/account/reauth/start',
  reauthFinish: '/api/account/reauth/finish',
  passwordStart: '/api/account/password/start',
  passwordFinish: '/api/account/password/finish',
  /** GET: the signed-in user's identity key and backup; PUT: set them once. */
  identity: '/api/account/identity',
  devices: '/api/devices',
  device: '/api/devices/:deviceId',
  adminUsers: '/api/admin/users',
  adminInvites: '/api/admin/invites',
  adminInvite: '/api/admin/invites/:inviteId',
  /** The realtime WebSocket (GET upgrade). */
  socket: '/api/ws',
} as const;

/** Web paths the server knows (the single-page app handles the rest of `/`). */
export const WebPaths = {
  setup: '/setup',
  invite: '/invite',
} as const;
