/**
 * Two-factor sign-in: TOTP (RFC 6238, the `otpauth` library) with single-use recovery codes.
 *
 * A sign-in whose OPAQUE proof is right gets no session yet when the account has TOTP (or,
 * with REQUIRE_2FA, has none and must enrol): it gets a ticket (Limits.SECOND_FACTOR_TTL_SECONDS,
 * only its SHA-256 stored) that only the second step accepts. The session is made by that
 * step, after a right code — nothing else can be done with the ticket.
 *
 * - The secret is sealed by the vault (`totp-secret`); it is shown once, at enrolment.
 * - A code is accepted for one time step only once: `last_step` moves forward atomically, so
 *   a replayed code (or one older than the last accepted) is refused, on every node.
 * - Wrong codes count per account (Limits.SECOND_FACTOR_FAILURES_MAX per
 *   SECOND_FACTOR_FAILURE_WINDOW_SECONDS), reserved atomically before the check and given
 *   back when the code is right, so parallel guesses can't overrun the budget.
 * - Recovery codes: Limits.RECOVERY_CODES, each ~50 random bits, only SHA-256 stored, spent
 *   once by a conditional update.
 * - Turning TOTP off or making new recovery codes needs a fresh code (or a recovery code).
 *
 * Every change and every wrong code is audited (and shown on the user's account activity).
 * (docs/decisions/0021-two-factor.md)
 */
import {
  ChatError,
  Limits,
  type DeviceCredential,
  type SecondFactorMethod,
} from '@securechat/protocol';
import { randomInt } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { Secret, TOTP } from 'otpauth';
import type { Database, UsersTable } from '../storage/types.js';
import { accessAdmin } from './access.js';
import { adminUser } from './administration.js';
import { audit } from './audit.js';
import { iso, type AccountsDeps, type AuthContext, type RequestContext } from './context.js';
import { hashToken, newToken } from './crypto.js';
import type { createSessions } from './sessions.js';
import { sealNullable } from './vault.js';

export type Sessions = ReturnType<typeof createSessions>;
export type SignedIn = Awaited<ReturnType<Sessions['start']>>;

/** A sign-in's answer: a session, or the second step it waits for. */
export type SignInOutcome =
  | { kind: 'session'; signedIn: SignedIn }
  | {
      kind: 'second-factor';
      challenge: {
        ticket: string;
        step: 'verify' | 'enrol';
        expiresAt: string;
        methods: SecondFactorMethod[];
      };
    };

/** A second-factor proof: a TOTP code or a recovery code (exactly one). */
export interface Proof {
  code?: string | undefined;
  recoveryCode?: string | undefined;
}

type ProofPurpose = 'login' | 'enrol' | 'disable' | 'regenerate';

const PERIOD_MS = Limits.TOTP_PERIOD_SECONDS * 1000;
const RECOVERY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

const failed = () => new ChatError('CHAT_ERR_SECOND_FACTOR_FAILED');
const expired = () => new ChatError('CHAT_ERR_SECOND_FACTOR_EXPIRED');
const state = (message?: string) => new ChatError('CHAT_ERR_TWO_FACTOR_STATE', message);

/** One recovery code: ten base32 characters from the CSPRNG, `abcde-fgh23`. */
function recoveryCode(): string {
  let code = '';
  for (let i = 0; i < 10; i += 1) {
    if (i === 5) code += '-';
    code += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  }
  return code;
}

/** The unexpired ticket of this step, with its user (still able to sign in). */
export async function usableTicket(
  db: Kysely<Database>,
  at: number,
  ticket: string,
  step: 'verify' | 'enrol',
): Promise<Selectable<UsersTable>> {
  const row = await db
    .selectFrom('second_factor_tickets')
    .innerJoin('users', 'users.id', 'second_factor_tickets.user_id')
    .selectAll('users')
    .where('second_factor_tickets.id', '=', hashToken(ticket))
    .where('second_factor_tickets.purpose', '=', step)
    .where('second_factor_tickets.expires_at', '>', at)
    .executeTakeFirst();
  if (!row || row.suspended_at !== null) throw expired();
  return row;
}

/** Spend the ticket (of two racing second steps, one wins) and open the session. */
export async function spendTicket(
  db: Kysely<Database>,
  sessions: Sessions,
  ticket: string,
  user: Selectable<UsersTable>,
  context: RequestContext,
  device: DeviceCredential | undefined,
): Promise<SignedIn> {
  const spent = await db
    .deleteFrom('second_factor_tickets')
    .where('id', '=', hashToken(ticket))
    .executeTakeFirst();
  if (Number(spent.numDeletedRows) !== 1) throw expired();
  return sessions.start(user, context, device);
}

export function createTwoFactor(
  deps: Pick<AccountsDeps, 'db' | 'now' | 'vault' | 'publicOrigin' | 'requireSecondFactor'>,
  sessions: Sessions,
) {
  const { db, now, vault } = deps;
  const issuer = `SecureChat (${new URL(deps.publicOrigin).host})`;

  const totpOf = (username: string, secret: string) =>
    new TOTP({
      issuer,
      label: username,
      algorithm: 'SHA1',
      digits: Limits.TOTP_DIGITS,
      period: Limits.TOTP_PERIOD_SECONDS,
      secret: Secret.fromBase32(secret),
    });

  async function totpRow(userId: string) {
    return db.selectFrom('totp').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  const enabled = async (userId: string): Promise<boolean> =>
    (await totpRow(userId))?.enabled_at != null;

  async function passkeyCount(userId: string): Promise<number> {
    const row = await db
      .selectFrom('passkeys')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Reserve one attempt of the account's budget (atomically); refuse when it is spent. The
   * budget lives on the TOTP row: accounts without one have no code to guess.
   */
  async function reserveAttempt(userId: string, at: number): Promise<void> {
    const cutoff = at - Limits.SECOND_FACTOR_FAILURE_WINDOW_SECONDS * 1000;
    const row = await db
      .updateTable('totp')
      .set({
        failures: sql<number>`case when failures_since <= ${cutoff} then 1 else failures + 1 end`,
        failures_since: sql<number>`case when failures_since <= ${cutoff} then ${at} else failures_since end`,
      })
      .where('user_id', '=', userId)
      .returning(['failures', 'failures_since'])
      .executeTakeFirst();
    // No authenticator app (passkeys only): no code can be right.
    if (!row) return;
    if (Number(row.failures) > Limits.SECOND_FACTOR_FAILURES_MAX) {
      const retryAfter = Math.ceil(
        (Number(row.failures_since) + Limits.SECOND_FACTOR_FAILURE_WINDOW_SECONDS * 1000 - at) /
          1000,
      );
      throw new ChatError(
        'CHAT_ERR_RATE_LIMITED',
        'Too many wrong codes for this account. Wait a while, then try again.',
        { retryAfter: Math.max(1, retryAfter) },
      );
    }
  }

  /** A right code gives its reserved attempt back. */
  async function refundAttempt(userId: string): Promise<void> {
    await db
      .updateTable('totp')
      .set({ failures: sql<number>`case when failures > 0 then failures - 1 else 0 end` })
      .where('user_id', '=', userId)
      .execute();
  }

  /**
   * Whether `code` is right for the user's secret (enabled or, for `pending`, the one being
   * enrolled) and newer than the last accepted: the step it matched is recorded in the same
   * statement, so a replay is refused even by another node at the same moment.
   */
  async function acceptCode(
    user: { id: string; username: string },
    code: string,
    pending: boolean,
    at: number,
  ): Promise<boolean> {
    const row = await totpRow(user.id);
    if (!row || (row.enabled_at === null) !== pending) return false;
    const secret = await vault.open('totp-secret', row.secret);
    const delta = totpOf(user.username, secret).validate({
      token: code,
      timestamp: at,
      window: Limits.TOTP_WINDOW_STEPS,
    });
    if (delta === null) return false;
    const step = Math.floor(at / PERIOD_MS) + delta;
    const moved = await db
      .updateTable('totp')
      .set({ last_step: step })
      .where('user_id', '=', user.id)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
      .executeTakeFirst();
    return Number(moved.numUpdatedRows) === 1;
  }

  /** Spend one unused recovery code of this user. */
  async function spendRecoveryCode(userId: string, code: string, at: number): Promise<boolean> {
    const spent = await db
      .updateTable('recovery_codes')
      .set({ used_at: at })
      .where('code_hash', '=', hashToken(code))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(spent.numUpdatedRows) === 1;
  }

  /**
   * Check a second-factor proof for this user, within the account's budget; a wrong one is
   * audited and refused with CHAT_ERR_SECOND_FACTOR_FAILED.
   */
  async function verify(
    user: { id: string; username: string },
    proof: Proof,
    purpose: ProofPurpose,
    context: RequestContext,
  ): Promise<void> {
    if ((proof.code === undefined) === (proof.recoveryCode === undefined)) {
      throw new ChatError('CHAT_ERR_VALIDATION', 'Give a code or a recovery code.', {
        field: 'code',
      });
    }
    const at = now();
    await reserveAttempt(user.id, at);
    const ok =
      proof.code !== undefined
        ? await acceptCode(user, proof.code, purpose === 'enrol', at)
        : purpose !== 'enrol' && (await spendRecoveryCode(user.id, proof.recoveryCode ?? '', at));
    const who = { userId: user.id, ip: context.ip };
    if (!ok) {
      await audit(db, vault, at, 'account.second_factor_failed', who, {
        purpose,
        method: proof.code !== undefined ? 'totp' : 'recovery',
      });
      throw failed();
    }
    await refundAttempt(user.id);
    if (proof.recoveryCode !== undefined) {
      const left = await recoveryCodesLeft(user.id);
      await audit(db, vault, at, 'totp.recovery_used', who, { purpose, left });
    }
  }

  async function recoveryCodesLeft(userId: string): Promise<number> {
    const row = await db
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** New recovery codes for the user (the old ones are deleted): shown once. */
  async function replaceRecoveryCodes(userId: string): Promise<string[]> {
    const codes = Array.from({ length: Limits.RECOVERY_CODES }, recoveryCode);
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      await trx
        .insertInto('recovery_codes')
        .values(
          codes.map((code) => ({ code_hash: hashToken(code), user_id: userId, used_at: null })),
        )
        .execute();
    });
    return codes;
  }

  /** A new pending secret for the user (replacing a pending one): shown once. */
  async function newPendingSecret(user: {
    id: string;
    username: string;
  }): Promise<{ secret: string; uri: string }> {
    const secret = new Secret({ size: 20 }).base32;
    const sealed = await vault.seal('totp-secret', secret);
    const at = now();
    await db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('totp')
        .select('enabled_at')
        .where('user_id', '=', user.id)
        .executeTakeFirst();
      if (row && row.enabled_at !== null) throw state('Two-factor sign-in is already on.');
      await trx.deleteFrom('totp').where('user_id', '=', user.id).execute();
      await trx
        .insertInto('totp')
        .values({
          user_id: user.id,
          secret: sealed,
          created_at: at,
          enabled_at: null,
          last_step: null,
          failures: 0,
          failures_since: 0,
        })
        .execute();
    });
    return { secret, uri: totpOf(user.username, secret).toString() };
  }

  /** Confirm the pending secret with its first code: TOTP is on, with new recovery codes. */
  async function confirm(
    user: { id: string; username: string },
    code: string,
    context: RequestContext,
  ): Promise<string[]> {
    const row = await totpRow(user.id);
    if (!row || row.enabled_at !== null) {
      throw state('Start again: there is no new secret waiting for its first code.');
    }
    await verify(user, { code }, 'enrol', context);
    const at = now();
    await db
      .updateTable('totp')
      .set({ enabled_at: at })
      .where('user_id', '=', user.id)
      .where('enabled_at', 'is', null)
      .execute();
    const codes = await replaceRecoveryCodes(user.id);
    await audit(db, vault, at, 'totp.enable', { userId: user.id, ip: context.ip });
    return codes;
  }

  /** Remove every second factor of the user (TOTP, recovery codes, passkeys; waiting sign-ins). */
  async function removeAll(userId: string): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      const removed = await trx.deleteFrom('totp').where('user_id', '=', userId).executeTakeFirst();
      await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      await trx.deleteFrom('second_factor_tickets').where('user_id', '=', userId).execute();
      const passkeys = await trx
        .deleteFrom('passkeys')
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(removed.numDeletedRows) + Number(passkeys.numDeletedRows) > 0;
    });
  }

  async function adminRemove(
    userId: string,
    by: { adminId: string | null; ip: string | null },
  ): Promise<void> {
    const removed = await removeAll(userId);
    await audit(
      db,
      vault,
      now(),
      'admin.second_factor_removed',
      { userId, ip: by.ip },
      { by: by.adminId ?? 'cli', removed },
    );
  }

  return {
    /**
     * After a right OPAQUE proof (or a registration): a session, or — with TOTP on, or with
     * REQUIRE_2FA and none — a ticket for the second step, and no session.
     */
    async signInOrChallenge(
      user: Selectable<UsersTable>,
      context: RequestContext,
      device: DeviceCredential | undefined,
    ): Promise<SignInOutcome> {
      const totp = await enabled(user.id);
      const passkeys = (await passkeyCount(user.id)) > 0;
      const on = totp || passkeys;
      if (!on && !deps.requireSecondFactor) {
        return { kind: 'session', signedIn: await sessions.start(user, context, device) };
      }
      const methods: SecondFactorMethod[] = on
        ? [...(totp ? ['totp' as const] : []), ...(passkeys ? ['passkey' as const] : [])]
        : ['totp'];
      const at = now();
      const ticket = newToken();
      const expiresAt = at + Limits.SECOND_FACTOR_TTL_SECONDS * 1000;
      const step = on ? 'verify' : 'enrol';
      await db.deleteFrom('second_factor_tickets').where('expires_at', '<=', at).execute();
      await db
        .insertInto('second_factor_tickets')
        .values({
          id: hashToken(ticket),
          user_id: user.id,
          purpose: step,
          created_at: at,
          expires_at: expiresAt,
          ip: await sealNullable(vault, 'audit-address', context.ip),
        })
        .execute();
      return {
        kind: 'second-factor',
        challenge: { ticket, step, expiresAt: iso(expiresAt), methods },
      };
    },

    /** A sign-in's second step: a TOTP or recovery code, then the session. */
    async secondFactor(
      input: Proof & { ticket: string; device?: DeviceCredential | undefined },
      context: RequestContext,
    ): Promise<SignedIn> {
      const user = await usableTicket(db, now(), input.ticket, 'verify');
      await verify(user, input, 'login', context);
      return spendTicket(db, sessions, input.ticket, user, context, input.device);
    },

    /** REQUIRE_2FA, at sign-in: a secret for the account that has none. */
    async enrolStart(ticket: string): Promise<{ secret: string; uri: string }> {
      const user = await usableTicket(db, now(), ticket, 'enrol');
      // The authenticator app shows the username: the stored one is sealed.
      return newPendingSecret({ ...user, username: await vault.open('username', user.username) });
    },

    /** REQUIRE_2FA, at sign-in: the first code turns TOTP on and opens the session. */
    async enrolFinish(
      input: { ticket: string; code: string; device?: DeviceCredential | undefined },
      context: RequestContext,
    ): Promise<{ signedIn: SignedIn; recoveryCodes: string[] }> {
      const user = await usableTicket(db, now(), input.ticket, 'enrol');
      const recoveryCodes = await confirm(user, input.code, context);
      const signedIn = await spendTicket(db, sessions, input.ticket, user, context, input.device);
      return { signedIn, recoveryCodes };
    },

    /** The signed-in user's second factors. */
    async twoFactorStatus(
      auth: AuthContext,
    ): Promise<{ totp: boolean; passkeys: number; recoveryCodesLeft: number; required: boolean }> {
      const on = await enabled(auth.user.id);
      return {
        totp: on,
        passkeys: await passkeyCount(auth.user.id),
        recoveryCodesLeft: on ? await recoveryCodesLeft(auth.user.id) : 0,
        required: deps.requireSecondFactor,
      };
    },

    /** Start enrolling TOTP: a new secret, pending until its first code confirms it. */
    async totpStart(auth: AuthContext): Promise<{ secret: string; uri: string }> {
      return newPendingSecret(auth.user);
    },

    /** Confirm the pending secret: TOTP on, and the recovery codes (shown once). */
    async totpConfirm(auth: AuthContext, code: string, context: RequestContext): Promise<string[]> {
      return confirm(auth.user, code, context);
    },

    /** Turn TOTP off with a fresh code; refused while REQUIRE_2FA is on. */
    async totpDisable(auth: AuthContext, proof: Proof, context: RequestContext): Promise<void> {
      if (!(await enabled(auth.user.id))) throw state('Two-factor sign-in is not on.');
      if (deps.requireSecondFactor && (await passkeyCount(auth.user.id)) === 0) {
        throw new ChatError(
          'CHAT_ERR_FORBIDDEN',
          'This server requires two-factor sign-in: add a passkey before turning this off.',
        );
      }
      await verify(auth.user, proof, 'disable', context);
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('totp').where('user_id', '=', auth.user.id).execute();
        await trx.deleteFrom('recovery_codes').where('user_id', '=', auth.user.id).execute();
      });
      await audit(db, vault, now(), 'totp.disable', { userId: auth.user.id, ip: context.ip });
    },

    /** New recovery codes with a fresh code; the old ones stop working. */
    async regenerateRecoveryCodes(
      auth: AuthContext,
      proof: Proof,
      context: RequestContext,
    ): Promise<string[]> {
      if (!(await enabled(auth.user.id))) throw state('Two-factor sign-in is not on.');
      await verify(auth.user, proof, 'regenerate', context);
      const codes = await replaceRecoveryCodes(auth.user.id);
      await audit(db, vault, now(), 'totp.recovery_regenerated', {
        userId: auth.user.id,
        ip: context.ip,
      });
      return codes;
    },

    /** An administrator removes a user's second factors (they sign in with the password). */
    async adminResetTwoFactor(auth: AuthContext, userId: string, context: RequestContext) {
      accessAdmin(auth);
      const exists = await db
        .selectFrom('users')
        .select('id')
        .where('id', '=', userId)
        .executeTakeFirst();
      if (!exists) throw new ChatError('CHAT_ERR_NOT_FOUND');
      await adminRemove(userId, { adminId: auth.user.id, ip: context.ip });
      const user = await adminUser(db, vault, userId);
      if (!user) throw new ChatError('CHAT_ERR_NOT_FOUND');
      return user;
    },

    /** `securechat admin reset-2fa <username>`: the operator's shell is the authority. */
    async resetTwoFactorOf(userId: string): Promise<void> {
      await adminRemove(userId, { adminId: null, ip: null });
    },
  };
}
