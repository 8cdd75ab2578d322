/**
 * Accounts: OPAQUE registration and sign-in, sessions, devices, password change, invitations,
 * administrator setup links and roles. Every write records an audit event. The server sees
 * only OPAQUE messages, never a password.
 *
 * Sign-in does the same work for an unknown username as for a known one (a fake OPAQUE
 * record, a stored attempt) and fails at the same step with the same answer, so neither the
 * response nor its timing tells whether an account exists.
 */
import * as opaque from '@serenity-kit/opaque';
import {
  ChatError,
  Limits,
  normalizeUsername,
  canonicalUsername,
  usernameSkeleton,
  type DeviceInfo,
  type InviteInfo,
  type PublicUser,
} from '@securechat/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import type { RegistrationMode } from '../config.js';
import type { Database, DevicesTable, UsersTable } from '../storage/types.js';
import { audit } from './audit.js';
import { deviceNameFromUserAgent } from './device-name.js';
import { hashToken, newId, newToken } from './crypto.js';

export interface AccountsDeps {
  db: Kysely<Database>;
  now: () => number;
  opaqueServerSetup: string;
  registration: RegistrationMode;
  publicOrigin: string;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** Who is asking, as far as the transport knows. */
export interface RequestContext {
  ip: string;
  userAgent?: string | undefined;
}

/** A valid session, as resolved from its cookie. */
export interface AuthContext {
  sessionId: string;
  user: PublicUser;
  device: Omit<DeviceInfo, 'current'>;
  reauthAt: number | null;
}

export interface RegistrationInput {
  username: string;
  inviteToken?: string | undefined;
  setupToken?: string | undefined;
}

const FIRST_RUN_SETUP_TTL_MS = 7 * 24 * 3600 * 1000;
const CLI_SETUP_TTL_MS = 24 * 3600 * 1000;
const SESSION_TOUCH_INTERVAL_MS = 60_000;

const iso = (ms: number) => new Date(ms).toISOString();

function toPublicUser(
  row: Pick<Selectable<UsersTable>, 'id' | 'username' | 'role' | 'created_at'>,
): PublicUser {
  return { id: row.id, username: row.username, role: row.role, createdAt: iso(row.created_at) };
}

function toDevice(row: Selectable<DevicesTable>): Omit<DeviceInfo, 'current'> {
  return {
    id: row.id,
    name: row.name,
    createdAt: iso(row.created_at),
    lastSeenAt: iso(row.last_seen_at),
  };
}

/** The username as stored, or a clear validation error. */
function validUsername(input: string): { username: string; skeleton: string } {
  const check = normalizeUsername(input);
  if (!check.ok) {
    throw new ChatError('CHAT_ERR_USERNAME_INVALID', check.message, { field: 'username' });
  }
  return { username: check.username, skeleton: check.skeleton };
}

export function createAccounts(deps: AccountsDeps) {
  const { db, now } = deps;

  async function usernameTaken(
    executor: Kysely<Database>,
    username: string,
    skeleton: string,
  ): Promise<boolean> {
    const row = await executor
      .selectFrom('users')
      .select('id')
      .where((eb) => eb.or([eb('username', '=', username), eb('username_skeleton', '=', skeleton)]))
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Check the invitation or setup token a registration presents; returns what it grants. */
  async function checkRegistrationProof(
    executor: Kysely<Database>,
    input: RegistrationInput,
  ): Promise<{ role: 'admin' | 'member'; invite: string | null; setup: string | null }> {
    const at = now();
    if (input.setupToken !== undefined) {
      const row = await executor
        .selectFrom('setup_tokens')
        .select('token_hash')
        .where('token_hash', '=', hashToken(input.setupToken))
        .where('used_at', 'is', null)
        .where('expires_at', '>', at)
        .executeTakeFirst();
      if (!row) throw new ChatError('CHAT_ERR_SETUP_TOKEN_INVALID');
      return { role: 'admin', invite: null, setup: row.token_hash };
    }
    if (input.inviteToken !== undefined) {
      const row = await executor
        .selectFrom('invites')
        .select('id')
        .where('token_hash', '=', hashToken(input.inviteToken))
        .where('used_at', 'is', null)
        .where('expires_at', '>', at)
        .executeTakeFirst();
      if (!row) throw new ChatError('CHAT_ERR_INVITE_INVALID');
      return { role: 'member', invite: row.id, setup: null };
    }
    if (deps.registration === 'invite') throw new ChatError('CHAT_ERR_REGISTRATION_CLOSED');
    return { role: 'member', invite: null, setup: null };
  }

  async function startOpaqueLogin(
    userId: string | null,
    userIdentifier: string,
    record: string | null,
    startLoginRequest: string,
    purpose: 'login' | 'reauth',
    sessionId: string | null,
  ): Promise<{ attemptId: string; loginResponse: string }> {
    await opaque.ready;
    let result: { serverLoginState: string; loginResponse: string };
    try {
      result = opaque.server.startLogin({
        serverSetup: deps.opaqueServerSetup,
        userIdentifier,
        registrationRecord: record,
        startLoginRequest,
      });
    } catch {
      throw new ChatError('CHAT_ERR_VALIDATION', 'The sign-in request is not valid.');
    }
    const token = newToken();
    const at = now();
    await db.deleteFrom('login_attempts').where('expires_at', '<=', at).execute();
    await db
      .insertInto('login_attempts')
      .values({
        id: hashToken(token),
        user_id: userId,
        purpose,
        session_id: sessionId,
        server_login_state: result.serverLoginState,
        expires_at: at + Limits.LOGIN_ATTEMPT_TTL_SECONDS * 1000,
      })
      .execute();
    return { attemptId: token, loginResponse: result.loginResponse };
  }

  /** Consume an attempt and verify the client's proof; returns the user id on success. */
  async function finishOpaqueLogin(
    attemptToken: string,
    finishLoginRequest: string,
    purpose: 'login' | 'reauth',
    sessionId: string | null,
  ): Promise<string> {
    const id = hashToken(attemptToken);
    const attempt = await db
      .deleteFrom('login_attempts')
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!attempt || attempt.purpose !== purpose || attempt.session_id !== sessionId) {
      throw new ChatError('CHAT_ERR_LOGIN_EXPIRED');
    }
    if (attempt.expires_at <= now()) throw new ChatError('CHAT_ERR_LOGIN_EXPIRED');
    await opaque.ready;
    try {
      opaque.server.finishLogin({
        serverLoginState: attempt.server_login_state,
        finishLoginRequest,
      });
    } catch {
      throw new ChatError('CHAT_ERR_LOGIN_FAILED');
    }
    // An attempt for an unknown user can't get here with a valid proof; refuse it anyway.
    if (attempt.user_id === null) throw new ChatError('CHAT_ERR_LOGIN_FAILED');
    return attempt.user_id;
  }

  async function findUser(username: string) {
    return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  async function adminCount(executor: Kysely<Database> = db): Promise<number> {
    const row = await executor
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'admin')
      .where('suspended_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async function createSetupToken(origin: 'first-run' | 'cli', ttlMs: number): Promise<string> {
    const token = newToken();
    const at = now();
    await db
      .insertInto('setup_tokens')
      .values({
        token_hash: hashToken(token),
        origin,
        created_at: at,
        expires_at: at + ttlMs,
        used_at: null,
      })
      .execute();
    await audit(db, at, 'setup.link_created', {}, { origin });
    return `${deps.publicOrigin}/setup#token=${token}`;
  }

  return {
    /** Step 1 of registration: check the name and the proof, answer the OPAQUE request. */
    async registerStart(
      input: RegistrationInput & { registrationRequest: string },
    ): Promise<{ registrationResponse: string }> {
      const { username, skeleton } = validUsername(input.username);
      await checkRegistrationProof(db, input);
      if (await usernameTaken(db, username, skeleton))
        throw new ChatError('CHAT_ERR_USERNAME_TAKEN', undefined, { field: 'username' });
      await opaque.ready;
      try {
        return opaque.server.createRegistrationResponse({
          serverSetup: deps.opaqueServerSetup,
          userIdentifier: username,
          registrationRequest: input.registrationRequest,
        });
      } catch {
        throw new ChatError('CHAT_ERR_VALIDATION', 'The registration request is not valid.');
      }
    },

    /** Step 2: store the OPAQUE record; consume the invitation or setup link in the same transaction. */
    async registerFinish(
      input: RegistrationInput & { registrationRecord: string },
      context: RequestContext,
    ): Promise<PublicUser> {
      const { username, skeleton } = validUsername(input.username);
      const at = now();
      const user = await db.transaction().execute(async (trx) => {
        const proof = await checkRegistrationProof(trx, input);
        if (await usernameTaken(trx, username, skeleton)) {
          throw new ChatError('CHAT_ERR_USERNAME_TAKEN', undefined, { field: 'username' });
        }
        const row = {
          id: newId(),
          username,
          username_skeleton: skeleton,
          opaque_record: input.registrationRecord,
          role: proof.role,
          created_at: at,
          password_changed_at: at,
          suspended_at: null,
        };
        try {
          await trx.insertInto('users').values(row).execute();
        } catch {
          // The unique indexes decide a race between two registrations of one name.
          throw new ChatError('CHAT_ERR_USERNAME_TAKEN', undefined, { field: 'username' });
        }
        if (proof.invite) {
          const used = await trx
            .updateTable('invites')
            .set({ used_at: at, used_by: row.id })
            .where('id', '=', proof.invite)
            .where('used_at', 'is', null)
            .executeTakeFirst();
          if (Number(used.numUpdatedRows) !== 1) throw new ChatError('CHAT_ERR_INVITE_INVALID');
        }
        if (proof.setup) {
          const used = await trx
            .updateTable('setup_tokens')
            .set({ used_at: at })
            .where('token_hash', '=', proof.setup)
            .where('used_at', 'is', null)
            .executeTakeFirst();
          if (Number(used.numUpdatedRows) !== 1)
            throw new ChatError('CHAT_ERR_SETUP_TOKEN_INVALID');
          // A first-run link is for the first administrator only: the others die with it.
          await trx
            .updateTable('setup_tokens')
            .set({ used_at: at })
            .where('origin', '=', 'first-run')
            .where('used_at', 'is', null)
            .execute();
        }
        return row;
      });
      await audit(
        db,
        at,
        'account.register',
        { userId: user.id, ip: context.ip },
        { role: user.role },
      );
      if (input.setupToken !== undefined) {
        await audit(db, at, 'setup.link_used', { userId: user.id, ip: context.ip });
      }
      return toPublicUser(user);
    },

    /** Step 1 of sign-in. The caller has already counted the attempt against the rate limits. */
    async loginStart(input: {
      username: string;
      startLoginRequest: string;
    }): Promise<{ attemptId: string; loginResponse: string }> {
      const identifier = canonicalUsername(input.username);
      const user = await findUser(identifier);
      const usable = user && user.suspended_at === null ? user : undefined;
      return startOpaqueLogin(
        usable?.id ?? null,
        identifier,
        usable?.opaque_record ?? null,
        input.startLoginRequest,
        'login',
        null,
      );
    },

    /** Step 2 of sign-in: verify, then create a device and a session. Returns the cookie token. */
    async loginFinish(
      input: { attemptId: string; finishLoginRequest: string },
      context: RequestContext,
    ): Promise<{ token: string; auth: AuthContext }> {
      let userId: string;
      try {
        userId = await finishOpaqueLogin(input.attemptId, input.finishLoginRequest, 'login', null);
      } catch (error) {
        if (error instanceof ChatError && error.code === 'CHAT_ERR_LOGIN_FAILED') {
          await audit(db, now(), 'account.login_failed', { ip: context.ip });
        }
        throw error;
      }
      const at = now();
      const user = await db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', userId)
        .executeTakeFirstOrThrow();
      if (user.suspended_at !== null) throw new ChatError('CHAT_ERR_LOGIN_FAILED');
      const device = {
        id: newId(),
        user_id: user.id,
        name: deviceNameFromUserAgent(context.userAgent),
        created_at: at,
        last_seen_at: at,
        revoked_at: null,
      };
      const token = newToken();
      const sessionId = hashToken(token);
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('devices').values(device).execute();
        await trx
          .insertInto('sessions')
          .values({
            id: sessionId,
            user_id: user.id,
            device_id: device.id,
            created_at: at,
            last_seen_at: at,
            expires_at: at + Limits.SESSION_ABSOLUTE_SECONDS * 1000,
            reauth_at: null,
          })
          .execute();
      });
      await audit(
        db,
        at,
        'account.login',
        { userId: user.id, ip: context.ip },
        { device: device.id },
      );
      return {
        token,
        auth: { sessionId, user: toPublicUser(user), device: toDevice(device), reauthAt: null },
      };
    },

    /** Resolve a session cookie; null when missing, expired, revoked or suspended. */
    async authenticate(token: string): Promise<AuthContext | null> {
      const at = now();
      const row = await db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .innerJoin('devices', 'devices.id', 'sessions.device_id')
        .select([
          'sessions.id as session_id',
          'sessions.last_seen_at as session_seen',
          'sessions.expires_at',
          'sessions.reauth_at',
          'users.id as user_id',
          'users.username',
          'users.role',
          'users.created_at as user_created',
          'users.suspended_at',
          'devices.id as device_id',
          'devices.name as device_name',
          'devices.created_at as device_created',
          'devices.last_seen_at as device_seen',
          'devices.revoked_at',
        ])
        .where('sessions.id', '=', hashToken(token))
        .executeTakeFirst();
      if (!row) return null;
      const idleExpired = row.session_seen + Limits.SESSION_IDLE_SECONDS * 1000 <= at;
      if (
        idleExpired ||
        row.expires_at <= at ||
        row.revoked_at !== null ||
        row.suspended_at !== null
      ) {
        await db.deleteFrom('sessions').where('id', '=', row.session_id).execute();
        return null;
      }
      let seen = row.session_seen;
      if (at - row.session_seen >= SESSION_TOUCH_INTERVAL_MS) {
        seen = at;
        await db
          .updateTable('sessions')
          .set({ last_seen_at: at })
          .where('id', '=', row.session_id)
          .execute();
        await db
          .updateTable('devices')
          .set({ last_seen_at: at })
          .where('id', '=', row.device_id)
          .execute();
      }
      return {
        sessionId: row.session_id,
        user: toPublicUser({
          id: row.user_id,
          username: row.username,
          role: row.role,
          created_at: row.user_created,
        }),
        device: {
          id: row.device_id,
          name: row.device_name,
          createdAt: iso(row.device_created),
          lastSeenAt: iso(Math.max(seen, row.device_seen)),
        },
        reauthAt: row.reauth_at,
      };
    },

    async logout(auth: AuthContext, context: RequestContext): Promise<void> {
      await db.deleteFrom('sessions').where('id', '=', auth.sessionId).execute();
      await audit(db, now(), 'account.logout', { userId: auth.user.id, ip: context.ip });
    },

    async devices(auth: AuthContext): Promise<DeviceInfo[]> {
      const rows = await db
        .selectFrom('devices')
        .selectAll()
        .where('user_id', '=', auth.user.id)
        .where('revoked_at', 'is', null)
        .orderBy('created_at', 'asc')
        .execute();
      return rows.map((row) => ({ ...toDevice(row), current: row.id === auth.device.id }));
    },

    /** Revoke one of the user's own devices; anyone else's device is "not found". */
    async revokeDevice(
      auth: AuthContext,
      deviceId: string,
      context: RequestContext,
    ): Promise<void> {
      const at = now();
      const updated = await db
        .updateTable('devices')
        .set({ revoked_at: at })
        .where('id', '=', deviceId)
        .where('user_id', '=', auth.user.id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw new ChatError('CHAT_ERR_NOT_FOUND');
      await db.deleteFrom('sessions').where('device_id', '=', deviceId).execute();
      await audit(
        db,
        at,
        'device.revoke',
        { userId: auth.user.id, ip: context.ip },
        { device: deviceId },
      );
    },

    /** Re-authentication before a password change: an OPAQUE sign-in bound to this session. */
    async reauthStart(auth: AuthContext, startLoginRequest: string) {
      const user = await db
        .selectFrom('users')
        .select(['opaque_record'])
        .where('id', '=', auth.user.id)
        .executeTakeFirstOrThrow();
      return startOpaqueLogin(
        auth.user.id,
        auth.user.username,
        user.opaque_record,
        startLoginRequest,
        'reauth',
        auth.sessionId,
      );
    },

    async reauthFinish(
      auth: AuthContext,
      input: { attemptId: string; finishLoginRequest: string },
    ) {
      const userId = await finishOpaqueLogin(
        input.attemptId,
        input.finishLoginRequest,
        'reauth',
        auth.sessionId,
      );
      if (userId !== auth.user.id) throw new ChatError('CHAT_ERR_LOGIN_FAILED');
      await db
        .updateTable('sessions')
        .set({ reauth_at: now() })
        .where('id', '=', auth.sessionId)
        .execute();
    },

    async passwordStart(
      auth: AuthContext,
      registrationRequest: string,
    ): Promise<{ registrationResponse: string }> {
      requireRecentReauth(auth, now());
      await opaque.ready;
      try {
        return opaque.server.createRegistrationResponse({
          serverSetup: deps.opaqueServerSetup,
          userIdentifier: auth.user.username,
          registrationRequest,
        });
      } catch {
        throw new ChatError('CHAT_ERR_VALIDATION', 'The registration request is not valid.');
      }
    },

    /** Replace the OPAQUE record and end every other session of the user. */
    async passwordFinish(
      auth: AuthContext,
      registrationRecord: string,
      context: RequestContext,
    ): Promise<void> {
      const at = now();
      requireRecentReauth(auth, at);
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({ opaque_record: registrationRecord, password_changed_at: at })
          .where('id', '=', auth.user.id)
          .execute();
        await trx
          .deleteFrom('sessions')
          .where('user_id', '=', auth.user.id)
          .where('id', '!=', auth.sessionId)
          .execute();
        await trx
          .updateTable('sessions')
          .set({ reauth_at: null })
          .where('id', '=', auth.sessionId)
          .execute();
      });
      await audit(db, at, 'account.password_change', { userId: auth.user.id, ip: context.ip });
    },

    async listUsers(): Promise<PublicUser[]> {
      const rows = await db
        .selectFrom('users')
        .select(['id', 'username', 'role', 'created_at'])
        .orderBy('username')
        .execute();
      return rows.map(toPublicUser);
    },

    async listInvites(): Promise<InviteInfo[]> {
      const rows = await db
        .selectFrom('invites')
        .innerJoin('users', 'users.id', 'invites.created_by')
        .select([
          'invites.id',
          'invites.created_at',
          'invites.expires_at',
          'invites.used_at',
          'users.username',
        ])
        .orderBy('invites.created_at', 'desc')
        .execute();
      return rows.map((r) => ({
        id: r.id,
        createdAt: iso(r.created_at),
        expiresAt: iso(r.expires_at),
        usedAt: r.used_at === null ? null : iso(r.used_at),
        createdBy: r.username,
      }));
    },

    async createInvite(auth: AuthContext, ttlSeconds: number | undefined, context: RequestContext) {
      const at = now();
      const token = newToken();
      const row = {
        id: newId(),
        token_hash: hashToken(token),
        created_by: auth.user.id,
        created_at: at,
        expires_at: at + (ttlSeconds ?? Limits.INVITE_DEFAULT_TTL_SECONDS) * 1000,
        used_at: null,
        used_by: null,
      };
      await db.insertInto('invites').values(row).execute();
      await audit(
        db,
        at,
        'invite.create',
        { userId: auth.user.id, ip: context.ip },
        { invite: row.id },
      );
      return {
        invite: {
          id: row.id,
          createdAt: iso(row.created_at),
          expiresAt: iso(row.expires_at),
          usedAt: null,
          createdBy: auth.user.username,
        },
        token,
        url: `${deps.publicOrigin}/invite#token=${token}`,
      };
    },

    async revokeInvite(
      auth: AuthContext,
      inviteId: string,
      context: RequestContext,
    ): Promise<void> {
      const deleted = await db.deleteFrom('invites').where('id', '=', inviteId).executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1) throw new ChatError('CHAT_ERR_NOT_FOUND');
      await audit(
        db,
        now(),
        'invite.revoke',
        { userId: auth.user.id, ip: context.ip },
        { invite: inviteId },
      );
    },

    /**
     * On start: while there is no administrator, make a fresh one-time setup link (older
     * first-run links die) and return it for the operator's log. Null once an admin exists.
     */
    async firstRunSetupLink(): Promise<string | null> {
      if ((await adminCount()) > 0) return null;
      await db
        .deleteFrom('setup_tokens')
        .where('origin', '=', 'first-run')
        .where('used_at', 'is', null)
        .execute();
      return createSetupToken('first-run', FIRST_RUN_SETUP_TTL_MS);
    },

    /** `securechat admin create`: a one-time link that registers an administrator. */
    createAdminSetupLink: () => createSetupToken('cli', CLI_SETUP_TTL_MS),

    /** `securechat admin promote|demote`. Refuses to demote the last administrator. */
    async setRole(usernameInput: string, role: 'admin' | 'member'): Promise<PublicUser> {
      const username = canonicalUsername(usernameInput);
      const at = now();
      const user = await db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('users')
          .selectAll()
          .where('username', '=', username)
          .executeTakeFirst();
        if (!row)
          throw new ChatError('CHAT_ERR_NOT_FOUND', `There is no user named "${username}".`);
        if (row.role === 'admin' && role === 'member' && (await adminCount(trx)) <= 1) {
          throw new ChatError('CHAT_ERR_LAST_ADMIN');
        }
        await trx.updateTable('users').set({ role }).where('id', '=', row.id).execute();
        return { ...row, role };
      });
      await audit(db, at, 'account.role_change', { userId: user.id }, { role });
      return toPublicUser(user);
    },

    /** Used by tests and the CLI: the skeleton a login attempt is rate-limited under. */
    rateLimitKey(username: string): string {
      return usernameSkeleton(canonicalUsername(username));
    },
  };
}

function requireRecentReauth(auth: AuthContext, at: number): void {
  if (auth.reauthAt === null || at - auth.reauthAt > Limits.REAUTH_TTL_SECONDS * 1000) {
    throw new ChatError('CHAT_ERR_REAUTH_REQUIRED');
  }
}

export type Accounts = ReturnType<typeof createAccounts>;
