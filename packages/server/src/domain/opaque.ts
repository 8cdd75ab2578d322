/**
 * The server side of OPAQUE (RFC 9807, @serenity-kit/opaque): registration responses and
 * two-step logins. Between the two login steps the server's state waits in `login_attempts`
 * under the SHA-256 of a single-use attempt token that lives Limits.LOGIN_ATTEMPT_TTL_SECONDS.
 *
 * An unknown (or suspended) user gets the same treatment as a real one: the same query, a
 * fake record that OPAQUE turns into an indistinguishable response, a stored attempt, and a
 * failure at the same step. OPAQUE messages and states are never logged.
 */
import * as opaque from '@serenity-kit/opaque';
import { ChatError, Limits } from '@securechat/protocol';
import type { AccountsDeps } from './context.js';
import { openNullable, sealNullable } from './vault.js';
import { hashToken, newToken } from './crypto.js';

export type LoginPurpose = 'login' | 'reauth';

export interface LoginStart {
  /** The user the attempt is for, or null for an unknown or suspended one. */
  userId: string | null;
  /** The normalized username: OPAQUE's credential identifier. */
  userIdentifier: string;
  /** The stored registration record, or null to answer with a fake one. */
  record: string | null;
  startLoginRequest: string;
  purpose: LoginPurpose;
  /** For a re-authentication: the session it is bound to. */
  sessionId: string | null;
  /** The client address, kept for the audit log should the attempt be left unfinished. */
  ip: string | null;
}

/** How the second step ended; `userId` is who the attempt was for (null if nobody). */
export type LoginVerdict = { ok: true; userId: string } | { ok: false; userId: string | null };

export function createOpaque(
  deps: Pick<AccountsDeps, 'db' | 'now' | 'opaqueServerSetup' | 'vault'>,
) {
  const { db, now, vault } = deps;

  return {
    /** Answer a registration (or password change) request for this identifier. */
    async registrationResponse(
      userIdentifier: string,
      registrationRequest: string,
    ): Promise<{ registrationResponse: string }> {
      await opaque.ready;
      try {
        const { registrationResponse } = opaque.server.createRegistrationResponse({
          serverSetup: deps.opaqueServerSetup,
          userIdentifier,
          registrationRequest,
        });
        return { registrationResponse };
      } catch {
        throw new ChatError('CHAT_ERR_VALIDATION', 'The registration request is not valid.');
      }
    },

    /** First login step: answer the client and store the state for the second. */
    async startLogin(start: LoginStart): Promise<{ attemptId: string; loginResponse: string }> {
      await opaque.ready;
      let result: { serverLoginState: string; loginResponse: string };
      try {
        result = opaque.server.startLogin({
          serverSetup: deps.opaqueServerSetup,
          userIdentifier: start.userIdentifier,
          registrationRecord: start.record,
          startLoginRequest: start.startLoginRequest,
        });
      } catch {
        throw new ChatError('CHAT_ERR_VALIDATION', 'The sign-in request is not valid.');
      }
      const token = newToken();
      const at = now();
      // Expired attempts are swept by the caller (accounts.ts), which audits each as a failure.
      await db
        .insertInto('login_attempts')
        .values({
          id: hashToken(token),
          user_id: start.userId,
          purpose: start.purpose,
          session_id: start.sessionId,
          server_login_state: result.serverLoginState,
          expires_at: at + Limits.LOGIN_ATTEMPT_TTL_SECONDS * 1000,
          ip: await sealNullable(vault, 'audit-address', start.ip),
        })
        .execute();
      return { attemptId: token, loginResponse: result.loginResponse };
    },

    /**
     * Take every attempt whose lifetime is over, unfinished: a wrong password ends in the
     * client (OPAQUE refuses to build the proof), so this is how the server learns of it.
     * Each is deleted once, whichever node sweeps (DELETE … RETURNING).
     */
    async takeExpired(): Promise<
      { userId: string | null; purpose: LoginPurpose; ip: string | null }[]
    > {
      const rows = await db
        .deleteFrom('login_attempts')
        .where('expires_at', '<=', now())
        .returning(['user_id', 'purpose', 'ip'])
        .execute();
      return Promise.all(
        rows.map(async (row) => ({
          userId: row.user_id,
          purpose: row.purpose,
          ip: await openNullable(vault, 'audit-address', row.ip),
        })),
      );
    },

    /**
     * Second login step: consume the attempt (single use, whatever the outcome) and verify
     * the client's proof. A missing, expired, or foreign attempt is CHAT_ERR_LOGIN_EXPIRED;
     * a wrong proof is a verdict with `ok: false`, for the caller to audit and refuse.
     */
    async finishLogin(
      attemptToken: string,
      finishLoginRequest: string,
      purpose: LoginPurpose,
      sessionId: string | null,
    ): Promise<LoginVerdict> {
      const attempt = await db
        .deleteFrom('login_attempts')
        .where('id', '=', hashToken(attemptToken))
        .returningAll()
        .executeTakeFirst();
      if (
        !attempt ||
        attempt.purpose !== purpose ||
        attempt.session_id !== sessionId ||
        attempt.expires_at <= now()
      ) {
        throw new ChatError('CHAT_ERR_LOGIN_EXPIRED');
      }
      await opaque.ready;
      try {
        opaque.server.finishLogin({
          serverLoginState: attempt.server_login_state,
          finishLoginRequest,
        });
      } catch {
        return { ok: false, userId: attempt.user_id };
      }
      // An attempt for nobody can't carry a valid proof; refuse it anyway.
      if (attempt.user_id === null) return { ok: false, userId: null };
      return { ok: true, userId: attempt.user_id };
    },
  };
}
