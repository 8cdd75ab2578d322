/**
 * Passkeys (WebAuthn) as a second factor, with @simplewebauthn/server: a user registers
 * several (Limits.PASSKEYS_PER_USER_MAX), names, renames and removes them; a sign-in whose
 * password was right may then be finished with one instead of a TOTP code.
 *
 * - The relying party is PUBLIC_ORIGIN: its host name is the RP id, the origin itself the
 *   only origin accepted.
 * - User verification is required (a PIN or biometric on the authenticator), in the options
 *   and when the answer is checked.
 * - Each ceremony's challenge is stored once (per session for adding, per ticket for signing
 *   in), lives Limits.PASSKEY_CHALLENGE_TTL_SECONDS and is spent by the answer, right or not.
 * - The signature counter must grow (when the authenticator keeps one): a cloned credential's
 *   older counter is refused, and the stored counter only moves forward (a conditional update).
 * - Removing a passkey needs a fresh password confirmation (re-authentication), and on a
 *   REQUIRE_2FA server is refused for the last second factor.
 *
 * Adding, renaming and removing are audited, as is a refused passkey at sign-in.
 */
import { ChatError, Limits, type DeviceCredential, type PasskeyInfo } from '@securechat/protocol';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Kysely, Selectable } from 'kysely';
import type { Database, PasskeysTable } from '../storage/types.js';
import { audit } from './audit.js';
import { iso, type AccountsDeps, type AuthContext, type RequestContext } from './context.js';
import { hashToken } from './crypto.js';
import { spendTicket, usableTicket, type Sessions, type SignedIn } from './two-factor.js';

const toInfo = (row: Selectable<PasskeysTable>): PasskeyInfo => ({
  id: row.id,
  name: row.name,
  createdAt: iso(row.created_at),
  lastUsedAt: row.last_used_at === null ? null : iso(row.last_used_at),
});

const transportsOf = (text: string): AuthenticatorTransport[] => {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? (value as AuthenticatorTransport[]) : [];
  } catch {
    return [];
  }
};

const refused = () =>
  new ChatError('CHAT_ERR_SECOND_FACTOR_FAILED', 'That passkey could not be verified.');

/** Store a ceremony's challenge for its owner (replacing an older one). */
async function putChallenge(
  db: Kysely<Database>,
  owner: string,
  challenge: string,
  at: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('passkey_challenges').where('expires_at', '<=', at).execute();
    await trx.deleteFrom('passkey_challenges').where('owner', '=', owner).execute();
    await trx
      .insertInto('passkey_challenges')
      .values({
        owner,
        challenge,
        expires_at: at + Limits.PASSKEY_CHALLENGE_TTL_SECONDS * 1000,
      })
      .execute();
  });
}

/** Take (spend) the owner's unexpired challenge, or null. */
async function takeChallenge(
  db: Kysely<Database>,
  owner: string,
  at: number,
): Promise<string | null> {
  const row = await db
    .deleteFrom('passkey_challenges')
    .where('owner', '=', owner)
    .returning(['challenge', 'expires_at'])
    .executeTakeFirst();
  return row && row.expires_at > at ? row.challenge : null;
}

export function createPasskeys(
  deps: Pick<AccountsDeps, 'db' | 'now' | 'vault' | 'publicOrigin' | 'requireSecondFactor'>,
  sessions: Sessions,
) {
  const { db, now, vault } = deps;
  const origin = deps.publicOrigin;
  const rpID = new URL(origin).hostname;

  const listOf = (userId: string) =>
    db
      .selectFrom('passkeys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();

  async function ownPasskey(auth: AuthContext, id: string): Promise<Selectable<PasskeysTable>> {
    const row = await db
      .selectFrom('passkeys')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', auth.user.id)
      .executeTakeFirst();
    if (!row) throw new ChatError('CHAT_ERR_NOT_FOUND');
    return row;
  }

  return {
    async passkeys(auth: AuthContext): Promise<PasskeyInfo[]> {
      return (await listOf(auth.user.id)).map(toInfo);
    },

    /** The options for `navigator.credentials.create`; the challenge is kept for this session. */
    async passkeyAddStart(auth: AuthContext): Promise<Record<string, unknown>> {
      const existing = await listOf(auth.user.id);
      if (existing.length >= Limits.PASSKEYS_PER_USER_MAX) {
        throw new ChatError(
          'CHAT_ERR_CONFLICT',
          `An account can have at most ${Limits.PASSKEYS_PER_USER_MAX} passkeys. Remove one first.`,
        );
      }
      const options = await generateRegistrationOptions({
        rpName: 'SecureChat',
        rpID,
        userName: auth.user.username,
        userID: new TextEncoder().encode(auth.user.id),
        attestationType: 'none',
        excludeCredentials: existing.map((p) => ({
          id: p.id,
          transports: transportsOf(p.transports),
        })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
        timeout: Limits.PASSKEY_CHALLENGE_TTL_SECONDS * 1000,
      });
      await putChallenge(db, `session:${auth.sessionId}`, options.challenge, now());
      return options as unknown as Record<string, unknown>;
    },

    /** Check the browser's answer against the challenge, then keep the credential. */
    async passkeyAddFinish(
      auth: AuthContext,
      input: { name: string; credential: RegistrationResponseJSON },
      context: RequestContext,
    ): Promise<PasskeyInfo> {
      const at = now();
      const challenge = await takeChallenge(db, `session:${auth.sessionId}`, at);
      if (challenge === null) {
        throw new ChatError('CHAT_ERR_TWO_FACTOR_STATE', 'Start adding the passkey again.');
      }
      let verified;
      try {
        verified = await verifyRegistrationResponse({
          response: input.credential,
          expectedChallenge: challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: true,
        });
      } catch {
        throw refused();
      }
      if (!verified.verified) throw refused();
      const { credential } = verified.registrationInfo;
      const row = {
        id: credential.id,
        user_id: auth.user.id,
        name: input.name.trim() || 'Passkey',
        public_key: Buffer.from(credential.publicKey).toString('base64url'),
        counter: credential.counter,
        transports: JSON.stringify(credential.transports ?? []),
        created_at: at,
        last_used_at: null,
      };
      await db.transaction().execute(async (trx) => {
        const count = await trx
          .selectFrom('passkeys')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('user_id', '=', auth.user.id)
          .executeTakeFirstOrThrow();
        if (Number(count.n) >= Limits.PASSKEYS_PER_USER_MAX) {
          throw new ChatError('CHAT_ERR_CONFLICT', 'Remove a passkey first.');
        }
        const taken = await trx
          .selectFrom('passkeys')
          .select('id')
          .where('id', '=', row.id)
          .executeTakeFirst();
        if (taken) throw new ChatError('CHAT_ERR_CONFLICT', 'This passkey is already registered.');
        await trx.insertInto('passkeys').values(row).execute();
      });
      await audit(db, vault, at, 'passkey.add', { userId: auth.user.id, ip: context.ip });
      return toInfo(row);
    },

    async renamePasskey(
      auth: AuthContext,
      id: string,
      name: string,
      context: RequestContext,
    ): Promise<PasskeyInfo> {
      const row = await ownPasskey(auth, id);
      const renamed = name.trim() || row.name;
      await db.updateTable('passkeys').set({ name: renamed }).where('id', '=', id).execute();
      await audit(db, vault, now(), 'passkey.rename', { userId: auth.user.id, ip: context.ip });
      return toInfo({ ...row, name: renamed });
    },

    /** Remove a passkey; the caller has checked a recent re-authentication. */
    async removePasskey(auth: AuthContext, id: string, context: RequestContext): Promise<void> {
      await ownPasskey(auth, id);
      if (deps.requireSecondFactor) {
        const others = (await listOf(auth.user.id)).length - 1;
        const totp = await db
          .selectFrom('totp')
          .select('user_id')
          .where('user_id', '=', auth.user.id)
          .where('enabled_at', 'is not', null)
          .executeTakeFirst();
        if (others === 0 && !totp) {
          throw new ChatError(
            'CHAT_ERR_FORBIDDEN',
            'This server requires two-factor sign-in: set up another second factor first.',
          );
        }
      }
      await db
        .deleteFrom('passkeys')
        .where('id', '=', id)
        .where('user_id', '=', auth.user.id)
        .execute();
      await audit(db, vault, now(), 'passkey.remove', { userId: auth.user.id, ip: context.ip });
    },

    /** A sign-in's second step with a passkey: the options for `navigator.credentials.get`. */
    async passkeySignInStart(ticket: string): Promise<Record<string, unknown>> {
      const user = await usableTicket(db, now(), ticket, 'verify');
      const mine = await listOf(user.id);
      if (mine.length === 0) {
        throw new ChatError('CHAT_ERR_TWO_FACTOR_STATE', 'This account has no passkey.');
      }
      const options = await generateAuthenticationOptions({
        rpID,
        allowCredentials: mine.map((p) => ({ id: p.id, transports: transportsOf(p.transports) })),
        userVerification: 'required',
        timeout: Limits.PASSKEY_CHALLENGE_TTL_SECONDS * 1000,
      });
      await putChallenge(db, `ticket:${hashToken(ticket)}`, options.challenge, now());
      return options as unknown as Record<string, unknown>;
    },

    /** Verify the assertion (user verified, counter grown), then the session. */
    async passkeySignInFinish(
      input: {
        ticket: string;
        credential: AuthenticationResponseJSON;
        device?: DeviceCredential | undefined;
      },
      context: RequestContext,
    ): Promise<SignedIn> {
      const at = now();
      const user = await usableTicket(db, at, input.ticket, 'verify');
      const challenge = await takeChallenge(db, `ticket:${hashToken(input.ticket)}`, at);
      const stored = await db
        .selectFrom('passkeys')
        .selectAll()
        .where('id', '=', input.credential.id)
        .where('user_id', '=', user.id)
        .executeTakeFirst();
      let newCounter: number | null = null;
      if (challenge !== null && stored) {
        try {
          const result = await verifyAuthenticationResponse({
            response: input.credential,
            expectedChallenge: challenge,
            expectedOrigin: origin,
            expectedRPID: rpID,
            credential: {
              id: stored.id,
              publicKey: new Uint8Array(Buffer.from(stored.public_key, 'base64url')),
              counter: Number(stored.counter),
              transports: transportsOf(stored.transports),
            },
            requireUserVerification: true,
          });
          if (result.verified) newCounter = result.authenticationInfo.newCounter;
        } catch {
          newCounter = null;
        }
      }
      // The counter moves forward once: of two racing uses of one signature, one wins.
      const moved =
        newCounter !== null && stored
          ? await db
              .updateTable('passkeys')
              .set({ counter: newCounter, last_used_at: at })
              .where('id', '=', stored.id)
              .where('counter', '=', stored.counter)
              .executeTakeFirst()
          : null;
      if (!moved || Number(moved.numUpdatedRows) !== 1) {
        await audit(
          db,
          vault,
          at,
          'account.second_factor_failed',
          { userId: user.id, ip: context.ip },
          { purpose: 'login', method: 'passkey' },
        );
        throw refused();
      }
      return spendTicket(db, sessions, input.ticket, user, context, input.device);
    },
  };
}
