/**
 * The SecureChat client facade: one object per signed-in browser tab or Node process. It
 * covers accounts for now; the realtime connection and end-to-end encryption join it later.
 * Every method rejects with a ChatError (see ./errors.ts).
 */
import {
  ActivityResponse,
  ApiRoutes,
  AuditResponse,
  canonicalUsername,
  ChatError,
  DevicesResponse,
  IdentityResponse,
  InviteCreateResponse,
  InvitesResponse,
  LoginStartResponse,
  normalizeUsername,
  SessionResponse,
  RegisterStartResponse,
  ResetCheckResponse,
  ResetLinkResponse,
  ServerInfo,
  SignOutOthersResponse,
  AdminRoomsResponse,
  type AdminRoomsQuery,
  AdminUser,
  AdminUsersResponse,
  EnrolFinishResponse,
  RecoveryCodesResponse,
  ServerStats,
  SignInResponse,
  TotpSetupResponse,
  TwoFactorStatus,
  type SecondFactorChallenge,
  type SecondFactorMethod,
  PasskeyInfo,
  PasskeyOptionsResponse,
  PasskeysResponse,
  type PasskeyAssertion,
  type PasskeyRegistration,
  type AuditQuery,
  type DeviceInfo,
  type InviteInfo,
} from '@securechat/protocol';
import { fromBase64url, toBase64url } from './base64url.js';
import { opaqueLogin, opaqueRegistration } from './accounts/opaque.js';
import {
  identityFromPrivate,
  newIdentity,
  openIdentityBackup,
  sealIdentityBackup,
  type IdentityKeyPair,
} from './mls/identity.js';
import { BlobTransport } from './transport/blobs.js';
import { checkPassword } from './accounts/password-policy.js';
import { guarded } from './errors.js';
import { HttpTransport } from './transport/http.js';
import { RealtimeConnection, type SocketLike } from './transport/realtime.js';
import { openConversations, type Conversations } from './conversations/conversations.js';
import type { ConversationStore } from './store/store.js';
import { MlsEngine, type EngineTransport } from './mls/engine.js';

/** How to reach the server. */
export interface ClientOptions {
  /**
   * The server's origin, e.g. `https://chat.example.org`. Default `''`: the page's own origin,
   * which only exists in a browser, so it is required in Node.
   */
  baseUrl?: string;
  /** A fetch implementation; default the global one. */
  fetch?: typeof fetch;
  /**
   * Who keeps the session cookies: the browser, or an in-memory jar private to this client.
   * Default `'browser'` in browsers, `'memory'` elsewhere.
   */
  cookies?: 'browser' | 'memory';
  /**
   * The WebSocket implementation for the realtime connection; default the global one. Node 20
   * has none: pass the `ws` package's WebSocket there.
   */
  WebSocket?: WebSocketConstructor;
}

/**
 * A WebSocket constructor: the browser's, or `ws`'s (which also takes upgrade headers). Their
 * event types differ, so the instance is typed loosely here and adapted in `connect`.
 */
export type WebSocketConstructor = new (
  url: string,
  options?: { headers: Record<string, string> },
) => object;

/** Options for `connect`. */
export interface ConnectOptions {
  /** The last seq this device has per room (from its local store), to resume from. */
  positions?: Map<string, number>;
  /**
   * The signed-in user's id (from `login` or `session`): a notice that this user left or was
   * removed from a room then drops that room's position at once.
   */
  userId?: string;
}

/** A successful sign-in. */
export interface LoginResult extends SessionResponse {
  /**
   * The OPAQUE export key (64 bytes): a secret only this password yields; the identity key
   * backup is encrypted under a key derived from it. Never sent anywhere.
   */
  exportKey: Uint8Array;
}

/** A new TOTP secret for the authenticator app: as text (base32) and as an otpauth:// URI. */
export interface TotpSetup {
  secret: string;
  uri: string;
}

/** A second factor: the authenticator app's code, or one of the recovery codes. */
export type SecondFactorProof = { code: string } | { recoveryCode: string };

/**
 * A sign-in whose password was right, waiting for its second step; no session exists yet.
 * `verify`: give a code. `enrol` (REQUIRE_2FA, an account without a second factor): set up
 * the authenticator app, then confirm with its first code. Every method signs in on success.
 */
export interface PendingSignIn {
  step: 'verify' | 'enrol';
  /** The second factors this account has (`verify`), or can set up now (`enrol`). */
  methods: SecondFactorMethod[];
  /** After this the sign-in must start again (CHAT_ERR_SECOND_FACTOR_EXPIRED). */
  expiresAt: string;
  /** A wrong code rejects with CHAT_ERR_SECOND_FACTOR_FAILED; the step can be retried. */
  verify(proof: SecondFactorProof): Promise<LoginResult>;
  /**
   * Sign in with a passkey instead of a code: `get` runs the browser's ceremony
   * (`navigator.credentials.get`, e.g. @simplewebauthn/browser's startAuthentication) on the
   * server's options. A refused passkey rejects with CHAT_ERR_SECOND_FACTOR_FAILED.
   */
  verifyPasskey(
    get: (options: Record<string, unknown>) => Promise<PasskeyAssertion>,
  ): Promise<LoginResult>;
  enrolStart(): Promise<TotpSetup>;
  /** The recovery codes are shown once: let the user keep them. */
  enrolFinish(code: string): Promise<LoginResult & { recoveryCodes: string[] }>;
}

/** How a sign-in (or registration) ended: signed in, or waiting for the second factor. */
export type SignInOutcome =
  { kind: 'signed-in'; result: LoginResult } | { kind: 'second-factor'; pending: PendingSignIn };

/**
 * A recovery code as people type it (any case, spaces, with or without the dash) in the form
 * the server takes (`abcde-fgh23`); anything else is left for the server to refuse.
 */
export function normalizeRecoveryCode(input: string): string {
  const bare = input.toLowerCase().replace(/[\s-]/g, '');
  return bare.length === 10 ? `${bare.slice(0, 5)}-${bare.slice(5)}` : input.trim();
}

const proofBody = (proof: SecondFactorProof) =>
  'code' in proof
    ? { code: proof.code.replace(/\s/g, '') }
    : { recoveryCode: normalizeRecoveryCode(proof.recoveryCode) };

/** A device this browser keeps across sign-outs: sign in on it again with its secret. */
export interface KnownDevice {
  id: string;
  secret: string;
}

/** What `register` needs. */
export interface RegisterInput {
  username: string;
  password: string;
  /** From an invitation link, on invite-only servers. */
  inviteToken?: string;
  /** From the one-time setup link that creates the first administrator. */
  setupToken?: string;
}

export interface SecureChatClient {
  /**
   * The signed-in device's conversations: a realtime connection resuming from the positions
   * kept in `store`, with typed content and the local timelines. What apps use.
   */
  conversations(options: {
    store: ConversationStore;
    userId: string;
    /** Where failures of background work (the store, encryption upkeep) are reported. */
    onError?: (error: unknown) => void;
  }): Promise<Conversations>;
  /** The server's name, version, registration mode and input limits. Needs no session. */
  serverInfo(): Promise<ServerInfo>;
  /**
   * Registers (OPAQUE) and, in the same answer, signs in: a session (cookie) and a device, as
   * `login` would give — there is no separate sign-in a limit could refuse after the account
   * exists. Refuses an invalid username (CHAT_ERR_USERNAME_INVALID, field `username`) and a
   * weak password (CHAT_ERR_VALIDATION, field `password`, with the reason) before sending
   * anything; a refusal from the server (taken, rate limited, closed) means no account.
   */
  register(input: RegisterInput): Promise<LoginResult>;
  /**
   * OPAQUE login; creates a session (cookie) and a device. Wrong password and unknown user
   * both reject with CHAT_ERR_LOGIN_FAILED.
   */
  login(input: { username: string; password: string; device?: KnownDevice }): Promise<LoginResult>;
  /**
   * As `login`, but an account with a second factor (or one that must enrol, REQUIRE_2FA)
   * resolves to the pending second step instead of rejecting with
   * CHAT_ERR_SECOND_FACTOR_REQUIRED. What apps with a sign-in page use.
   */
  signIn(input: {
    username: string;
    password: string;
    device?: KnownDevice;
  }): Promise<SignInOutcome>;
  /** As `register`, but on a REQUIRE_2FA server resolves to the enrolment step. */
  signUp(input: RegisterInput): Promise<SignInOutcome>;
  /** The signed-in account's two-factor sign-in (TOTP and recovery codes). */
  twoFactor: {
    status(): Promise<TwoFactorStatus>;
    /** A new secret, pending until `confirmTotp` gives its first code. */
    startTotp(): Promise<TotpSetup>;
    /** Turns TOTP on; resolves to the recovery codes, shown once. */
    confirmTotp(code: string): Promise<string[]>;
    /** Turns TOTP off; needs a fresh code (or a recovery code). */
    disableTotp(proof: SecondFactorProof): Promise<void>;
    /** New recovery codes (the old ones stop working); needs a fresh code. */
    regenerateRecoveryCodes(proof: SecondFactorProof): Promise<string[]>;
    passkeys(): Promise<PasskeyInfo[]>;
    /**
     * Register a passkey: `create` runs the browser's ceremony (`navigator.credentials.create`,
     * e.g. @simplewebauthn/browser's startRegistration) on the server's options.
     */
    addPasskey(
      name: string,
      create: (options: Record<string, unknown>) => Promise<PasskeyRegistration>,
    ): Promise<PasskeyInfo>;
    renamePasskey(passkeyId: string, name: string): Promise<void>;
    /** Remove a passkey, after confirming the current password (CHAT_ERR_LOGIN_FAILED if wrong). */
    removePasskey(passkeyId: string, currentPassword: string): Promise<void>;
  };
  /**
   * Ends this session. The device stays (its keys stay in this browser's store, to sign in on
   * it again with `device`) unless `removeDevice`, which removes it from every conversation.
   */
  logout(options?: { removeDevice?: boolean }): Promise<void>;
  /** The current session, or null when not signed in. */
  session(): Promise<SessionResponse | null>;
  /** This account's devices; the one making the call has `current: true`. */
  devices(): Promise<DeviceInfo[]>;
  /** Removes a device and signs it out. */
  revokeDevice(deviceId: string): Promise<void>;
  /**
   * Re-authenticates with the current password (OPAQUE login, purpose reauth) and
   * re-registers with the new one; other sessions end. A wrong current password rejects with
   * CHAT_ERR_LOGIN_FAILED, a weak new one with CHAT_ERR_VALIDATION and field `newPassword`.
   */
  changePassword(input: { currentPassword: string; newPassword: string }): Promise<void>;
  /**
   * Ends every other session of this account (other browsers sign in again; their devices
   * stay). Resolves to how many ended.
   */
  signOutOthers(): Promise<number>;
  /** This account's security events, newest first; `before` is a previous page's `next`. */
  activity(before?: number): Promise<ActivityResponse>;
  /** Whose password a reset link resets; CHAT_ERR_RESET_LINK_INVALID when it can't. */
  checkResetLink(token: string): Promise<ResetCheckResponse>;
  /**
   * Sets a new password with a reset link (OPAQUE re-registration). Signs nobody in: every
   * session and device of the account ends, and its encryption identity starts anew at the
   * next sign-in. A weak password rejects with CHAT_ERR_VALIDATION and field `newPassword`.
   */
  resetPassword(input: { token: string; newPassword: string }): Promise<void>;
  /** Administration; every call rejects with CHAT_ERR_FORBIDDEN for non-admins. */
  admin: {
    /** Every account with its state: suspended, devices, last seen. */
    users(): Promise<AdminUser[]>;
    /** Suspend (every session ends at once, sign-in refused) or restore an account. */
    setSuspended(userId: string, suspended: boolean): Promise<AdminUser>;
    /** Make an account an administrator or a member; the last administrator stays one. */
    setRole(userId: string, role: 'admin' | 'member'): Promise<AdminUser>;
    /** Users, rooms, connections on this node, messages per minute and day, storage used. */
    stats(): Promise<ServerStats>;
    invites(): Promise<InviteInfo[]>;
    /** A new single-use invitation; its token and url are shown once, never again. */
    createInvite(input?: { ttlSeconds?: number }): Promise<InviteCreateResponse>;
    revokeInvite(inviteId: string): Promise<void>;
    /** A single-use password-reset link for a user, shown once; it replaces an unused one. */
    createResetLink(userId: string, input?: { ttlSeconds?: number }): Promise<ResetLinkResponse>;
    /** Remove every second factor of a user: they sign in with their password alone. */
    resetTwoFactor(userId: string): Promise<AdminUser>;
    /** The audit log, newest first, filtered; pass `next` as `before` for older entries. */
    audit(query?: AuditQuery): Promise<AuditResponse>;
    /**
     * Delete an account: its sessions, devices, room memberships and keys go; its messages
     * stay under its name, which stays taken. Never one's own or the last administrator.
     */
    deleteUser(userId: string): Promise<void>;
    /** Rooms with their member counts and last activity, most recently active first. */
    rooms(query?: AdminRoomsQuery): Promise<AdminRoomsResponse>;
    /**
     * Close a room (never #general): a read-only archive its members keep reading and may
     * leave; their sends, edits, reactions, joins, invitations and setting changes are refused
     * with CHAT_ERR_ROOM_CLOSED until it is reopened. Closing a closed room changes nothing.
     */
    closeRoom(roomId: string): Promise<void>;
    /** Reopen a closed room: its members may write in it again. Reopening an open one: nothing. */
    reopenRoom(roomId: string): Promise<void>;
    /** Delete a room, its history and its files for everyone in it (never #general). */
    deleteRoom(roomId: string): Promise<void>;
  };
}

/** `login` and `register`, for callers that can't give a second factor. */
function signedInOrRefused(outcome: SignInOutcome): LoginResult {
  if (outcome.kind === 'signed-in') return outcome.result;
  throw new ChatError('CHAT_ERR_SECOND_FACTOR_REQUIRED');
}

const isBrowser = typeof window !== 'undefined' && typeof document !== 'undefined';

/**
 * Normalize a username as the server will, refusing an invalid one before any request. For a
 * sign-in, a name that is well-formed but reserved passes: the reserved list grows, and an
 * account made before its name was added must still sign in.
 */
function localUsername(input: string, purpose: 'register' | 'login' = 'register'): string {
  const check = normalizeUsername(input);
  if (!check.ok && check.problem === 'reserved' && purpose === 'login') {
    return canonicalUsername(input);
  }
  if (!check.ok) {
    throw new ChatError('CHAT_ERR_USERNAME_INVALID', check.message, { field: 'username' });
  }
  return check.username;
}

/** Refuse a password the policy refuses, naming the field it came from. */
async function requireStrongPassword(
  password: string,
  username: string,
  field: string,
): Promise<void> {
  const policy = await checkPassword(password, { username });
  if (!policy.ok) {
    throw new ChatError('CHAT_ERR_VALIDATION', policy.message ?? undefined, { field });
  }
}

/** A path with one `:name` parameter filled in. */
function withParam(route: string, name: string, value: string): string {
  return route.replace(`:${name}`, encodeURIComponent(value));
}

/** `route` with the given query parameters (those set), or as it is without any. */
function withQuery(route: string, query: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams(
    Object.entries(query).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])),
  ).toString();
  return search === '' ? route : `${route}?${search}`;
}

/** Where a device store keeps its user's identity private key. */
const IDENTITY_SECRET = 'identity';

/** The MLS engine's view of the server: the realtime connection and the blob store. */
function engineTransport(connection: RealtimeConnection, blobs: BlobTransport): EngineTransport {
  return {
    groupInfo: async (room) => {
      const reply = await connection.groupInfo(room);
      return { epoch: reply.epoch, blob: reply.blob };
    },
    uploadKeyPackages: (packages, lastResort) => connection.uploadKeyPackages(packages, lastResort),
    claimKeyPackages: (room, users) => connection.claimKeyPackages(room, users),
    sendToDevice: (room, device, payload, cmid) =>
      connection.sendToDevice(room, device, payload, cmid),
    fetchInbox: () => connection.fetchInbox(),
    ackInbox: (ids) => connection.ackInbox(ids),
    onInbox: (listener) => connection.onInbox(listener),
    commit: (room, epoch, payload, groupInfo) => connection.commit(room, epoch, payload, groupInfo),
    identityKeys: async (users) => (await connection.identityKeys(users)).keys,
    members: (room) => connection.members(room),
    rooms: () => connection.rooms(),
    history: (room, limit, before) => connection.history(room, limit, before),
    uploadBlob: (room, bytes) => blobs.uploadBlob(room, bytes),
    downloadBlob: (room, id) => blobs.downloadBlob(room, id),
  };
}

/**
 * Each client's raw realtime connector, reachable only through `@securechat/sdk/raw` (tests,
 * benchmarks and tools that drive the wire protocol). Apps use `conversations`.
 */
export const rawConnections = new WeakMap<
  SecureChatClient,
  (options?: ConnectOptions) => RealtimeConnection
>();

/**
 * Create a client. Throws a TypeError (a programming mistake, not a ChatError) when `baseUrl`
 * is missing outside a browser or is not a URL.
 */
export function createClient(options: ClientOptions = {}): SecureChatClient {
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
  if (!isBrowser && baseUrl === '') {
    throw new TypeError('createClient: baseUrl is required outside a browser');
  }
  const http = new HttpTransport({
    baseUrl,
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    cookies: options.cookies ?? (isBrowser ? 'browser' : 'memory'),
  });

  /**
   * The realtime connection for the signed-in device: it reconnects by itself, resumes from
   * the last position per room and re-sends unacknowledged messages until closed.
   */
  function connect(connectOptions: ConnectOptions = {}): RealtimeConnection {
    const Impl =
      options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Impl) throw new TypeError('connect: no WebSocket implementation; pass options.WebSocket');
    const origin = baseUrl === '' ? window.location.origin : baseUrl;
    const connection = new RealtimeConnection({
      url: `${origin.replace(/^http/, 'ws')}${ApiRoutes.socket}`,
      // Both implementations have the members SocketLike names (binaryType, send, on*).
      openSocket: (url, headers) =>
        (Object.keys(headers).length > 0
          ? new Impl(url, { headers })
          : new Impl(url)) as unknown as SocketLike,
      headers: () => http.socketHeaders(),
      ...(connectOptions.positions ? { positions: connectOptions.positions } : {}),
      ...(connectOptions.userId ? { userId: connectOptions.userId } : {}),
    });
    connection.start();
    return connection;
  }

  const blobs = new BlobTransport(http, {
    baseUrl,
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
  });
  /** The identity this client signed in with (the store keeps it for later sessions). */
  let unlocked: { userId: string; identity: IdentityKeyPair } | null = null;

  /** The identity after a sign-in: from the backup, or made now for an account without one. */
  async function restoreIdentity(userId: string, exportKey: Uint8Array): Promise<void> {
    const stored = await http.get(ApiRoutes.identity, IdentityResponse);
    if (stored.backup !== null) {
      const identity = openIdentityBackup(fromBase64url(stored.backup), exportKey);
      if (!identity)
        throw new ChatError(
          'CHAT_ERR_INTERNAL',
          'Your encryption key backup could not be opened with this password.',
        );
      unlocked = { userId, identity };
      return;
    }
    const identity = newIdentity();
    await http.put(ApiRoutes.identity, {
      key: toBase64url(identity.publicKey),
      backup: toBase64url(sealIdentityBackup(identity, exportKey)),
    });
    unlocked = { userId, identity };
  }

  /** The identity for this store: the one just unlocked, or the one the store kept. */
  async function identityFor(store: ConversationStore, userId: string) {
    if (unlocked?.userId === userId) {
      await store.putSecrets(new Map([[IDENTITY_SECRET, unlocked.identity.privateKey]]));
      return unlocked.identity;
    }
    const kept = await store.secret(IDENTITY_SECRET);
    if (kept) return identityFromPrivate(kept);
    throw new ChatError(
      'CHAT_ERR_UNAUTHENTICATED',
      'Sign in again on this device to unlock its end-to-end encryption keys.',
    );
  }

  /**
   * A sign-in's (or registration's) answer as an outcome: the session, finished by `done`
   * (the identity), or the pending second step, which `done` finishes when it succeeds.
   */
  async function outcomeOf(
    answer: SessionResponse | SecondFactorChallenge,
    device: KnownDevice | undefined,
    done: (session: SessionResponse) => Promise<LoginResult>,
  ): Promise<SignInOutcome> {
    if (!('secondFactor' in answer)) return { kind: 'signed-in', result: await done(answer) };
    const { ticket, step, expiresAt, methods } = answer.secondFactor;
    const withDevice = device ? { device } : {};
    const pending: PendingSignIn = {
      step,
      methods,
      expiresAt,
      verifyPasskey: (get) =>
        guarded(async () => {
          const { options } = await http.post(
            ApiRoutes.loginPasskeyStart,
            { ticket },
            PasskeyOptionsResponse,
          );
          const credential = await get(options);
          return done(
            await http.post(
              ApiRoutes.loginPasskeyFinish,
              { ticket, credential, ...withDevice },
              SessionResponse,
            ),
          );
        }),
      verify: (proof) =>
        guarded(async () =>
          done(
            await http.post(
              ApiRoutes.loginSecondFactor,
              { ticket, ...proofBody(proof), ...withDevice },
              SessionResponse,
            ),
          ),
        ),
      enrolStart: () =>
        guarded(() => http.post(ApiRoutes.loginEnrolStart, { ticket }, TotpSetupResponse)),
      enrolFinish: (code) =>
        guarded(async () => {
          const { recoveryCodes, ...session } = await http.post(
            ApiRoutes.loginEnrolFinish,
            { ticket, code: code.replace(/\s/g, ''), ...withDevice },
            EnrolFinishResponse,
          );
          return { ...(await done(session)), recoveryCodes };
        }),
    };
    return { kind: 'second-factor', pending };
  }

  const client: SecureChatClient = {
    conversations: (conversationOptions) =>
      guarded(async () => {
        const { store, userId } = conversationOptions;
        const identity = await identityFor(store, userId);
        const session = await http.get(ApiRoutes.session, SessionResponse);
        return openConversations({
          ...conversationOptions,
          files: blobs,
          connect: (positions) => connect({ positions, userId }),
          encryption: (hooks, connection) =>
            MlsEngine.open({
              ...hooks,
              store,
              user: userId,
              device: session.device.id,
              identity,
              transport: engineTransport(connection as RealtimeConnection, blobs),
            }),
        });
      }),

    serverInfo: () => guarded(() => http.get(ApiRoutes.server, ServerInfo)),

    signUp: ({ username, password, inviteToken, setupToken }) =>
      guarded(async () => {
        const name = localUsername(username);
        await requireStrongPassword(password, name, 'password');
        const proofs = {
          ...(inviteToken ? { inviteToken } : {}),
          ...(setupToken ? { setupToken } : {}),
        };
        const { registrationRecord, exportKey } = await opaqueRegistration(
          password,
          async (registrationRequest) =>
            (
              await http.post(
                ApiRoutes.registerStart,
                { username: name, registrationRequest, ...proofs },
                RegisterStartResponse,
              )
            ).registrationResponse,
        );
        const identity = newIdentity();
        const answer = await http.post(
          ApiRoutes.registerFinish,
          {
            username: name,
            registrationRecord,
            ...proofs,
            identity: {
              key: toBase64url(identity.publicKey),
              backup: toBase64url(sealIdentityBackup(identity, exportKey)),
            },
          },
          SignInResponse,
        );
        // The identity is stored with the account; the session may wait for the enrolment.
        return outcomeOf(answer, undefined, async (session) => {
          unlocked = { userId: session.user.id, identity };
          return { ...session, exportKey };
        });
      }),

    register: async (input) => signedInOrRefused(await client.signUp(input)),

    signIn: ({ username, password, device }) =>
      guarded(async () => {
        const name = localUsername(username, 'login');
        const proof = await opaqueLogin(password, (startLoginRequest) =>
          http.post(
            ApiRoutes.loginStart,
            { username: name, startLoginRequest },
            LoginStartResponse,
          ),
        );
        const answer = await http.post(
          ApiRoutes.loginFinish,
          {
            attemptId: proof.attemptId,
            finishLoginRequest: proof.finishLoginRequest,
            ...(device ? { device } : {}),
          },
          SignInResponse,
        );
        return outcomeOf(answer, device, async (session) => {
          await restoreIdentity(session.user.id, proof.exportKey);
          return { ...session, exportKey: proof.exportKey };
        });
      }),

    login: async (input) => signedInOrRefused(await client.signIn(input)),

    twoFactor: {
      status: () => guarded(() => http.get(ApiRoutes.twoFactor, TwoFactorStatus)),
      startTotp: () => guarded(() => http.post(ApiRoutes.totpStart, {}, TotpSetupResponse)),
      confirmTotp: (code) =>
        guarded(
          async () =>
            (
              await http.post(
                ApiRoutes.totpConfirm,
                { code: code.replace(/\s/g, '') },
                RecoveryCodesResponse,
              )
            ).recoveryCodes,
        ),
      disableTotp: (proof) => guarded(() => http.post(ApiRoutes.totpDisable, proofBody(proof))),
      regenerateRecoveryCodes: (proof) =>
        guarded(
          async () =>
            (await http.post(ApiRoutes.recoveryCodes, proofBody(proof), RecoveryCodesResponse))
              .recoveryCodes,
        ),
      passkeys: () =>
        guarded(async () => (await http.get(ApiRoutes.passkeys, PasskeysResponse)).passkeys),
      addPasskey: (name, create) =>
        guarded(async () => {
          const { options } = await http.post(
            ApiRoutes.passkeyAddStart,
            {},
            PasskeyOptionsResponse,
          );
          const credential = await create(options);
          return http.post(ApiRoutes.passkeyAddFinish, { name, credential }, PasskeyInfo);
        }),
      renamePasskey: (passkeyId, name) =>
        guarded(() => http.put(withParam(ApiRoutes.passkey, 'passkeyId', passkeyId), { name })),
      removePasskey: (passkeyId, currentPassword) =>
        guarded(async () => {
          const proof = await opaqueLogin(currentPassword, (startLoginRequest) =>
            http.post(ApiRoutes.reauthStart, { startLoginRequest }, LoginStartResponse),
          );
          await http.post(ApiRoutes.reauthFinish, {
            attemptId: proof.attemptId,
            finishLoginRequest: proof.finishLoginRequest,
          });
          await http.delete(withParam(ApiRoutes.passkey, 'passkeyId', passkeyId));
        }),
    },

    logout: (logoutOptions = {}) =>
      guarded(async () => {
        await http.post(ApiRoutes.logout, logoutOptions.removeDevice ? { removeDevice: true } : {});
        unlocked = null;
      }),

    session: () =>
      guarded(async () => {
        try {
          return await http.get(ApiRoutes.session, SessionResponse);
        } catch (error) {
          if (error instanceof ChatError && error.code === 'CHAT_ERR_UNAUTHENTICATED') return null;
          throw error;
        }
      }),

    devices: () =>
      guarded(async () => (await http.get(ApiRoutes.devices, DevicesResponse)).devices),

    revokeDevice: (deviceId) =>
      guarded(() => http.delete(withParam(ApiRoutes.device, 'deviceId', deviceId))),

    changePassword: ({ currentPassword, newPassword }) =>
      guarded(async () => {
        const { user } = await http.get(ApiRoutes.session, SessionResponse);
        await requireStrongPassword(newPassword, user.username, 'newPassword');
        const proof = await opaqueLogin(currentPassword, (startLoginRequest) =>
          http.post(ApiRoutes.reauthStart, { startLoginRequest }, LoginStartResponse),
        );
        await http.post(ApiRoutes.reauthFinish, {
          attemptId: proof.attemptId,
          finishLoginRequest: proof.finishLoginRequest,
        });
        // The identity backup is opened with the old password's export key and sealed again
        // under the new one, in the same request that changes the password.
        const stored = await http.get(ApiRoutes.identity, IdentityResponse);
        const identity =
          stored.backup === null
            ? null
            : openIdentityBackup(fromBase64url(stored.backup), proof.exportKey);
        const { registrationRecord, exportKey } = await opaqueRegistration(
          newPassword,
          async (registrationRequest) =>
            (
              await http.post(
                ApiRoutes.passwordStart,
                { registrationRequest },
                RegisterStartResponse,
              )
            ).registrationResponse,
        );
        await http.post(ApiRoutes.passwordFinish, {
          registrationRecord,
          ...(identity
            ? { identityBackup: toBase64url(sealIdentityBackup(identity, exportKey)) }
            : {}),
        });
      }),

    signOutOthers: () =>
      guarded(
        async () => (await http.post(ApiRoutes.signOutOthers, {}, SignOutOthersResponse)).ended,
      ),

    activity: (before) =>
      guarded(() => http.get(withQuery(ApiRoutes.activity, { before }), ActivityResponse)),

    checkResetLink: (token) =>
      guarded(() => http.post(ApiRoutes.resetCheck, { token }, ResetCheckResponse)),

    resetPassword: ({ token, newPassword }) =>
      guarded(async () => {
        const { username } = await http.post(ApiRoutes.resetCheck, { token }, ResetCheckResponse);
        await requireStrongPassword(newPassword, username, 'newPassword');
        const { registrationRecord } = await opaqueRegistration(
          newPassword,
          async (registrationRequest) =>
            (
              await http.post(
                ApiRoutes.resetStart,
                { token, registrationRequest },
                RegisterStartResponse,
              )
            ).registrationResponse,
        );
        await http.post(ApiRoutes.resetFinish, { token, registrationRecord });
        unlocked = null;
      }),

    admin: {
      users: () =>
        guarded(async () => (await http.get(ApiRoutes.adminUsers, AdminUsersResponse)).users),
      setSuspended: (userId, suspended) =>
        guarded(() =>
          http.post(withParam(ApiRoutes.adminSuspend, 'userId', userId), { suspended }, AdminUser),
        ),
      setRole: (userId, role) =>
        guarded(() =>
          http.post(withParam(ApiRoutes.adminRole, 'userId', userId), { role }, AdminUser),
        ),
      stats: () => guarded(() => http.get(ApiRoutes.adminStats, ServerStats)),
      invites: () =>
        guarded(async () => (await http.get(ApiRoutes.adminInvites, InvitesResponse)).invites),
      createInvite: (input = {}) =>
        guarded(() =>
          http.post(
            ApiRoutes.adminInvites,
            input.ttlSeconds === undefined ? {} : { ttlSeconds: input.ttlSeconds },
            InviteCreateResponse,
          ),
        ),
      revokeInvite: (inviteId) =>
        guarded(() => http.delete(withParam(ApiRoutes.adminInvite, 'inviteId', inviteId))),
      createResetLink: (userId, input = {}) =>
        guarded(() =>
          http.post(
            withParam(ApiRoutes.adminResetLink, 'userId', userId),
            input.ttlSeconds === undefined ? {} : { ttlSeconds: input.ttlSeconds },
            ResetLinkResponse,
          ),
        ),
      rooms: (query = {}) =>
        guarded(() => http.get(withQuery(ApiRoutes.adminRooms, query), AdminRoomsResponse)),
      deleteUser: (userId) =>
        guarded(() => http.delete(withParam(ApiRoutes.adminUser, 'userId', userId))),
      closeRoom: (roomId) =>
        guarded(() => http.post(withParam(ApiRoutes.adminCloseRoom, 'roomId', roomId), {})),
      reopenRoom: (roomId) =>
        guarded(() => http.post(withParam(ApiRoutes.adminReopenRoom, 'roomId', roomId), {})),
      deleteRoom: (roomId) =>
        guarded(() => http.delete(withParam(ApiRoutes.adminRoom, 'roomId', roomId))),
      resetTwoFactor: (userId) =>
        guarded(() =>
          http.post(withParam(ApiRoutes.adminResetTwoFactor, 'userId', userId), {}, AdminUser),
        ),
      audit: (query = {}) =>
        guarded(() => http.get(withQuery(ApiRoutes.adminAudit, query), AuditResponse)),
    },
  };
  rawConnections.set(client, connect);
  return client;
}
