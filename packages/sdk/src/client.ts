/**
 * The SecureChat client: one object per signed-in browser tab or Node process. Accounts for
 * now; the realtime connection and end-to-end encryption join it in later versions.
 */
import * as opaque from '@serenity-kit/opaque';
import {
  ApiRoutes,
  ChatError,
  DevicesResponse,
  InviteCreateResponse,
  InvitesResponse,
  LoginStartResponse,
  normalizeUsername,
  RegisterFinishResponse,
  RegisterStartResponse,
  ServerInfo,
  SessionResponse,
  UsersResponse,
  type DeviceInfo,
  type InviteInfo,
  type PublicUser,
} from '@securechat/protocol';
import { checkPassword } from './accounts/password-policy.js';
import { HttpTransport } from './transport/http.js';

export interface ClientOptions {
  /** The server's origin, e.g. https://chat.example.org. Default '' (same origin, browsers only). */
  baseUrl?: string;
  /** A fetch implementation; default the global one. */
  fetch?: typeof fetch;
  /** Who keeps cookies: the browser, or an in-memory jar (default outside browsers). */
  cookies?: 'browser' | 'memory';
}

/** A successful sign-in. */
export interface LoginResult extends SessionResponse {
  /**
   * The OPAQUE export key: a secret only this password yields, used to encrypt the key
   * backup (a later version). Never sent anywhere.
   */
  exportKey: Uint8Array;
}

export interface SecureChatClient {
  serverInfo(): Promise<ServerInfo>;
  /** Register with OPAQUE. Does not sign in. Refuses weak passwords before sending anything. */
  register(input: {
    username: string;
    password: string;
    inviteToken?: string;
    setupToken?: string;
  }): Promise<PublicUser>;
  /** Sign in with OPAQUE; the server sets the session cookie and registers this device. */
  login(input: { username: string; password: string }): Promise<LoginResult>;
  logout(): Promise<void>;
  /** The current session, or null when signed out. */
  session(): Promise<SessionResponse | null>;
  devices(): Promise<DeviceInfo[]>;
  revokeDevice(deviceId: string): Promise<void>;
  /** Confirm the current password, then re-register with the new one (other sessions end). */
  changePassword(input: { currentPassword: string; newPassword: string }): Promise<void>;
  admin: {
    users(): Promise<PublicUser[]>;
    invites(): Promise<InviteInfo[]>;
    createInvite(input?: { ttlSeconds?: number }): Promise<InviteCreateResponse>;
    revokeInvite(inviteId: string): Promise<void>;
  };
}

const isBrowser = typeof window !== 'undefined' && typeof document !== 'undefined';

function localUsername(input: string): string {
  const check = normalizeUsername(input);
  if (!check.ok) {
    throw new ChatError('CHAT_ERR_USERNAME_INVALID', check.message, { field: 'username' });
  }
  return check.username;
}

function fromBase64Url(text: string): Uint8Array {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function createClient(options: ClientOptions = {}): SecureChatClient {
  const baseUrl = (options.baseUrl ?? '').replace(/\/$/, '');
  if (!isBrowser && baseUrl === '') {
    throw new TypeError('createClient: baseUrl is required outside a browser');
  }
  const http = new HttpTransport({
    baseUrl,
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    cookies: options.cookies ?? (isBrowser ? 'browser' : 'memory'),
  });

  /** An OPAQUE sign-in against a start/finish route pair; returns the finish proof's result. */
  async function opaqueLogin(
    password: string,
    start: (startLoginRequest: string) => Promise<LoginStartResponse>,
  ) {
    await opaque.ready;
    const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password });
    const { attemptId, loginResponse } = await start(startLoginRequest);
    const finished = opaque.client.finishLogin({ clientLoginState, loginResponse, password });
    // Wrong password and unknown user end here alike; the server learns nothing more.
    if (!finished) throw new ChatError('CHAT_ERR_LOGIN_FAILED');
    return { attemptId, finished };
  }

  return {
    serverInfo: () => http.get(ApiRoutes.server, ServerInfo),

    async register({ username, password, inviteToken, setupToken }) {
      const name = localUsername(username);
      const policy = await checkPassword(password, { username: name });
      if (!policy.ok) {
        throw new ChatError('CHAT_ERR_VALIDATION', policy.message ?? undefined, {
          field: 'password',
        });
      }
      const proofs = {
        ...(inviteToken ? { inviteToken } : {}),
        ...(setupToken ? { setupToken } : {}),
      };
      await opaque.ready;
      const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({
        password,
      });
      const { registrationResponse } = await http.post(
        ApiRoutes.registerStart,
        { username: name, registrationRequest, ...proofs },
        RegisterStartResponse,
      );
      const { registrationRecord } = opaque.client.finishRegistration({
        clientRegistrationState,
        registrationResponse,
        password,
      });
      const { user } = await http.post(
        ApiRoutes.registerFinish,
        { username: name, registrationRecord, ...proofs },
        RegisterFinishResponse,
      );
      return user;
    },

    async login({ username, password }) {
      const name = localUsername(username);
      const { attemptId, finished } = await opaqueLogin(password, (startLoginRequest) =>
        http.post(ApiRoutes.loginStart, { username: name, startLoginRequest }, LoginStartResponse),
      );
      const session = await http.post(
        ApiRoutes.loginFinish,
        { attemptId, finishLoginRequest: finished.finishLoginRequest },
        SessionResponse,
      );
      return { ...session, exportKey: fromBase64Url(finished.exportKey) };
    },

    logout: () => http.post(ApiRoutes.logout, {}),

    async session() {
      try {
        return await http.get(ApiRoutes.session, SessionResponse);
      } catch (error) {
        if (error instanceof ChatError && error.code === 'CHAT_ERR_UNAUTHENTICATED') return null;
        throw error;
      }
    },

    devices: async () => (await http.get(ApiRoutes.devices, DevicesResponse)).devices,

    revokeDevice: (deviceId) =>
      http.delete(ApiRoutes.device.replace(':deviceId', encodeURIComponent(deviceId))),

    async changePassword({ currentPassword, newPassword }) {
      const session = await http.get(ApiRoutes.session, SessionResponse);
      const policy = await checkPassword(newPassword, { username: session.user.username });
      if (!policy.ok) {
        throw new ChatError('CHAT_ERR_VALIDATION', policy.message ?? undefined, {
          field: 'newPassword',
        });
      }
      const { attemptId, finished } = await opaqueLogin(currentPassword, (startLoginRequest) =>
        http.post(ApiRoutes.reauthStart, { startLoginRequest }, LoginStartResponse),
      );
      await http.post(ApiRoutes.reauthFinish, {
        attemptId,
        finishLoginRequest: finished.finishLoginRequest,
      });
      const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({
        password: newPassword,
      });
      const { registrationResponse } = await http.post(
        ApiRoutes.passwordStart,
        { registrationRequest },
        RegisterStartResponse,
      );
      const { registrationRecord } = opaque.client.finishRegistration({
        clientRegistrationState,
        registrationResponse,
        password: newPassword,
      });
      await http.post(ApiRoutes.passwordFinish, { registrationRecord });
    },

    admin: {
      users: async () => (await http.get(ApiRoutes.adminUsers, UsersResponse)).users,
      invites: async () => (await http.get(ApiRoutes.adminInvites, InvitesResponse)).invites,
      createInvite: (input = {}) =>
        http.post(
          ApiRoutes.adminInvites,
          input.ttlSeconds === undefined ? {} : { ttlSeconds: input.ttlSeconds },
          InviteCreateResponse,
        ),
      revokeInvite: (inviteId) =>
        http.delete(ApiRoutes.adminInvite.replace(':inviteId', encodeURIComponent(inviteId))),
    },
  };
}
