/**
 * Accounts: OPAQUE registration and sign-in, and password change. The server sees only
 * OPAQUE messages, never a password, and stores only the registration record.
 *
 * `createAccounts` is the capability's one service (`app.services.accounts`): it composes
 * this file's actions with sessions and devices (sessions.ts), invitations (invites.ts) and
 * administrator setup and roles (setup.ts). Authorization lives in access.ts; every write
 * records an audit event (audit.ts).
 */
import {
  ChatError,
  Limits,
  canonicalUsername,
  normalizeUsername,
  usernameSkeleton,
  type DeviceCredential,
} from '@securechat/protocol';
import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../storage/errors.js';
import type { Database } from '../storage/types.js';
import { createActivity } from './activity.js';
import { createAdministration } from './administration.js';
import { audit } from './audit.js';
import type { AccountsDeps, AuthContext, RequestContext } from './context.js';
import { newId } from './crypto.js';
import {
  createIdentity,
  decodeBackup,
  decodeIdentity,
  keyNotTaken,
  replaceIdentityBackup,
} from './identity.js';
import { consumeInvite, createInvites, usableInvite } from './invites.js';
import { createOpaque, type LoginVerdict } from './opaque.js';
import { createResets } from './resets.js';
import { createRoomAdministration } from './room-administration.js';
import { createAccountDeletion } from './account-deletion.js';
import { createSessions } from './sessions.js';
import { createPasskeys } from './passkeys.js';
import { createTwoFactor, type SignInOutcome } from './two-factor.js';
import { consumeSetupToken, createSetup, usableSetupToken } from './setup.js';
import type { Vault } from './vault.js';

export type { AccountsDeps, AuthContext, RequestContext } from './context.js';
export type { SignInOutcome } from './two-factor.js';

export interface RegistrationInput {
  username: string;
  inviteToken?: string | undefined;
  setupToken?: string | undefined;
}

/** What a new session answers: the cookie token, the session, a new device's secret. */
export interface SignedIn {
  token: string;
  auth: AuthContext;
  /** Only when this sign-in created its device: shown once, never stored. */
  deviceSecret: string | null;
}

/** What a registration's proof grants. */
interface Grant {
  role: 'admin' | 'member';
  invite: string | null;
  setup: string | null;
}

/** The username as stored, or a clear validation error naming the field. */
function validUsername(input: string): { username: string; skeleton: string } {
  const check = normalizeUsername(input);
  if (!check.ok) {
    throw new ChatError('CHAT_ERR_USERNAME_INVALID', check.message, { field: 'username' });
  }
  return { username: check.username, skeleton: check.skeleton };
}

const taken = () => new ChatError('CHAT_ERR_USERNAME_TAKEN', undefined, { field: 'username' });

/** True when the name, or a name that looks like it, is already registered. */
async function usernameTaken(
  db: Kysely<Database>,
  vault: Vault,
  username: string,
  skeleton: string,
): Promise<boolean> {
  // Both are matched by their blind indexes: the database holds neither in the clear.
  const row = await db
    .selectFrom('users')
    .select('id')
    .where((eb) =>
      eb.or([
        eb('username_index', '=', vault.index('username', username)),
        eb('username_skeleton', '=', vault.index('username-skeleton', skeleton)),
      ]),
    )
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * A setup link always works and grants admin; otherwise an invitation is checked when
 * given, and required on an invite-only server.
 */
async function checkProof(
  db: Kysely<Database>,
  deps: Pick<AccountsDeps, 'registration'>,
  input: RegistrationInput,
  at: number,
): Promise<Grant> {
  if (input.setupToken !== undefined) {
    return { role: 'admin', invite: null, setup: await usableSetupToken(db, input.setupToken, at) };
  }
  if (input.inviteToken !== undefined) {
    return { role: 'member', invite: await usableInvite(db, input.inviteToken, at), setup: null };
  }
  if (deps.registration === 'invite') throw new ChatError('CHAT_ERR_REGISTRATION_CLOSED');
  return { role: 'member', invite: null, setup: null };
}

function requireRecentReauth(auth: AuthContext, at: number): void {
  if (auth.reauthAt === null || at - auth.reauthAt > Limits.REAUTH_TTL_SECONDS * 1000) {
    throw new ChatError('CHAT_ERR_REAUTH_REQUIRED');
  }
}

export function createAccounts(deps: AccountsDeps) {
  const { db, now, vault } = deps;
  const server = createOpaque(deps);
  const sessions = createSessions(deps);
  const twoFactor = createTwoFactor(deps, sessions);
  const passkeys = createPasskeys(deps, sessions);

  /** Audit a refused proof, then refuse with the one answer both unknown and wrong get. */
  async function refuseLogin(
    verdict: LoginVerdict,
    purpose: 'login' | 'reauth',
    context: RequestContext,
  ): Promise<never> {
    await audit(
      db,
      vault,
      now(),
      'account.login_failed',
      { userId: verdict.userId, ip: context.ip },
      { purpose },
    );
    throw new ChatError('CHAT_ERR_LOGIN_FAILED');
  }

  /**
   * Every sign-in (or re-authentication) left unfinished past its lifetime counts as a failed
   * one: audited like a wrong proof, with reason `unfinished`. Run before each login step and
   * by a timer (http/auth.ts); returns how many it found.
   */
  async function sweepUnfinishedLogins(): Promise<number> {
    const expired = await server.takeExpired();
    const at = now();
    for (const attempt of expired) {
      await audit(
        db,
        vault,
        at,
        'account.login_failed',
        { userId: attempt.userId, ip: attempt.ip },
        { purpose: attempt.purpose, reason: 'unfinished' },
      );
    }
    return expired.length;
  }

  return {
    ...sessions,
    ...createIdentity(deps),
    ...createInvites(deps),
    ...createResets(deps),
    ...createRoomAdministration(deps),
    ...createAccountDeletion(deps),
    ...createActivity(deps),
    ...createAdministration(deps),
    sweepUnfinishedLogins,
    ...createSetup(deps),
    ...twoFactor,
    ...passkeys,

    /** Remove a passkey: like changing the password, it needs a recent re-authentication. */
    async removePasskey(auth: AuthContext, id: string, context: RequestContext): Promise<void> {
      requireRecentReauth(auth, now());
      await passkeys.removePasskey(auth, id, context);
    },

    /** Step 1 of registration: check the name and the proof, answer the OPAQUE request. */
    async registerStart(
      input: RegistrationInput & { registrationRequest: string },
    ): Promise<{ registrationResponse: string }> {
      const { username, skeleton } = validUsername(input.username);
      // The proof first: without one, an invite-only server says nothing about names.
      await checkProof(db, deps, input, now());
      if (await usernameTaken(db, vault, username, skeleton)) throw taken();
      return server.registrationResponse(username, input.registrationRequest);
    },

    /**
     * Step 2: store the OPAQUE record and consume the invitation or setup link, all in one
     * transaction: of two registrations racing for one name (or one invitation), one wins.
     * Then the new account is signed in on this device: registration and its first sign-in
     * are one outcome, never "created, but the sign-in was refused". (The registrant chose
     * the password the record was made from; there is nothing older to authenticate against,
     * and the client already holds the OPAQUE export key from its registration.)
     * Returns the session cookie's token.
     */
    async registerFinish(
      input: RegistrationInput & {
        registrationRecord: string;
        identity?: { key: string; backup: string } | undefined;
      },
      context: RequestContext,
    ): Promise<SignInOutcome> {
      const { username, skeleton } = validUsername(input.username);
      const identity = input.identity ? decodeIdentity(input.identity, 'identity.') : null;
      const at = now();
      const user = await db.transaction().execute(async (trx) => {
        const grant = await checkProof(trx, deps, input, at);
        if (await usernameTaken(trx, vault, username, skeleton)) throw taken();
        if (identity) await keyNotTaken(trx, identity.key, null, 'identity.key');
        const row = {
          id: newId(),
          username: await vault.seal('username', username),
          username_index: vault.index('username', username),
          username_skeleton: vault.index('username-skeleton', skeleton),
          opaque_record: input.registrationRecord,
          role: grant.role,
          created_at: at,
          password_changed_at: at,
          suspended_at: null,
          deleted_at: null,
          identity_key: identity?.key ?? null,
          identity_backup: identity?.backup ?? null,
          identity_set_at: identity ? at : null,
        };
        try {
          await trx.insertInto('users').values(row).execute();
        } catch (error) {
          // The unique indexes on username and skeleton decide a race for one name.
          if (isUniqueViolation(error)) throw taken();
          throw error;
        }
        if (grant.invite !== null) await consumeInvite(trx, vault, grant.invite, row.id, at);
        if (grant.setup !== null) await consumeSetupToken(trx, grant.setup, at);
        return row;
      });
      const who = { userId: user.id, ip: context.ip };
      await audit(db, vault, at, 'account.register', who, {
        role: user.role,
        invited: input.inviteToken !== undefined,
      });
      if (input.setupToken !== undefined) await audit(db, vault, at, 'setup.link_used', who);
      if (identity) await audit(db, vault, at, 'identity.set', who, { registration: true });
      // With REQUIRE_2FA the new account enrols before its first session.
      return twoFactor.signInOrChallenge(user, context, undefined);
    },

    /**
     * Step 1 of sign-in; the caller has counted it against the rate limits. Unknown and
     * suspended users run the very same path with a fake record.
     */
    async loginStart(
      input: {
        username: string;
        startLoginRequest: string;
      },
      context: RequestContext,
    ): Promise<{ attemptId: string; loginResponse: string }> {
      await sweepUnfinishedLogins();
      const identifier = canonicalUsername(input.username);
      const user = await db
        .selectFrom('users')
        .select(['id', 'opaque_record', 'suspended_at'])
        .where('username_index', '=', vault.index('username', identifier))
        .executeTakeFirst();
      const usable = user?.suspended_at === null ? user : undefined;
      return server.startLogin({
        userId: usable?.id ?? null,
        userIdentifier: identifier,
        record: usable?.opaque_record ?? null,
        startLoginRequest: input.startLoginRequest,
        purpose: 'login',
        sessionId: null,
        ip: context.ip,
      });
    },

    /**
     * Step 2 of sign-in: verify, then a session, on the device `input.device` names when it
     * is a live device of this user with that secret, else on a new device. Returns the cookie
     * token (and a new device's secret) — or, when the account has a second factor (or must
     * enrol one), the ticket of the second step and no session (two-factor.ts).
     */
    async loginFinish(
      input: {
        attemptId: string;
        finishLoginRequest: string;
        device?: DeviceCredential | undefined;
      },
      context: RequestContext,
    ): Promise<SignInOutcome> {
      // An attempt finished too late is swept (and audited) here, then refused as expired.
      await sweepUnfinishedLogins();
      const verdict = await server.finishLogin(
        input.attemptId,
        input.finishLoginRequest,
        'login',
        null,
      );
      if (!verdict.ok) return refuseLogin(verdict, 'login', context);
      const user = await db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', verdict.userId)
        .executeTakeFirst();
      // Deleted or suspended between the two steps: the same answer as a wrong password.
      if (!user || user.suspended_at !== null) return refuseLogin(verdict, 'login', context);
      return twoFactor.signInOrChallenge(user, context, input.device);
    },

    /** The rate-limit key of a sign-in: the lookalike skeleton of the normalized name. */
    rateLimitKey(username: string): string {
      return usernameSkeleton(canonicalUsername(username));
    },

    /** Re-authentication before a password change: an OPAQUE sign-in bound to this session. */
    async reauthStart(
      auth: AuthContext,
      startLoginRequest: string,
      context: RequestContext,
    ): Promise<{ attemptId: string; loginResponse: string }> {
      await sweepUnfinishedLogins();
      const user = await db
        .selectFrom('users')
        .select('opaque_record')
        .where('id', '=', auth.user.id)
        .executeTakeFirstOrThrow();
      return server.startLogin({
        userId: auth.user.id,
        userIdentifier: auth.user.username,
        record: user.opaque_record,
        startLoginRequest,
        purpose: 'reauth',
        sessionId: auth.sessionId,
        ip: context.ip,
      });
    },

    async reauthFinish(
      auth: AuthContext,
      input: { attemptId: string; finishLoginRequest: string },
      context: RequestContext,
    ): Promise<void> {
      await sweepUnfinishedLogins();
      const verdict = await server.finishLogin(
        input.attemptId,
        input.finishLoginRequest,
        'reauth',
        auth.sessionId,
      );
      if (!verdict.ok || verdict.userId !== auth.user.id) {
        return refuseLogin(verdict, 'reauth', context);
      }
      await sessions.markReauthenticated(auth);
    },

    /** Step 1 of a password change (OPAQUE re-registration); needs a recent re-authentication. */
    async passwordStart(
      auth: AuthContext,
      registrationRequest: string,
    ): Promise<{ registrationResponse: string }> {
      requireRecentReauth(auth, now());
      return server.registrationResponse(auth.user.username, registrationRequest);
    },

    /**
     * Step 2: replace the record (and, when given, the identity backup the client
     * re-encrypted under the new password) and end every other session of the user, in one
     * transaction. This session stays, its confirmation spent.
     */
    async passwordFinish(
      auth: AuthContext,
      input: { registrationRecord: string; identityBackup?: string | undefined },
      context: RequestContext,
    ): Promise<void> {
      const at = now();
      requireRecentReauth(auth, at);
      const backup =
        input.identityBackup === undefined
          ? null
          : decodeBackup(input.identityBackup, 'identityBackup');
      const ended = await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({ opaque_record: input.registrationRecord, password_changed_at: at })
          .where('id', '=', auth.user.id)
          .execute();
        if (backup) await replaceIdentityBackup(trx, auth.user.id, backup);
        const deleted = await trx
          .deleteFrom('sessions')
          .where('user_id', '=', auth.user.id)
          .where('id', '!=', auth.sessionId)
          .executeTakeFirst();
        await trx
          .updateTable('sessions')
          .set({ reauth_at: null })
          .where('id', '=', auth.sessionId)
          .execute();
        await trx.deleteFrom('login_attempts').where('user_id', '=', auth.user.id).execute();
        return Number(deleted.numDeletedRows);
      });
      await audit(
        db,
        vault,
        at,
        'account.password_change',
        { userId: auth.user.id, ip: context.ip },
        { endedSessions: ended, identityBackup: backup !== null },
      );
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
