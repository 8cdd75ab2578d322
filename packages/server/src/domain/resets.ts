/**
 * Password reset without email: an administrator (web or `securechat admin reset-link`)
 * makes a single-use, expiring link for one user; whoever opens it sets a new password by
 * OPAQUE re-registration. Only the token's SHA-256 is stored, and a user has at most one
 * unused link: a new one replaces the old.
 *
 * A reset proves nothing about the old password, so nothing it protected survives it: every
 * session ends, every device is revoked (its MLS credentials were vouched for by the old
 * identity key), and the identity key and its backup (sealed under the old password) are
 * cleared. The next sign-in makes a new identity; the people the user talks to see their
 * safety number change. Two-factor settings stay: a reset link is not a second factor.
 * (docs/decisions/0020-password-reset.md)
 */
import { ChatError, Limits } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/types.js';
import { accessAdmin } from './access.js';
import { audit } from './audit.js';
import { iso, type AccountsDeps, type AuthContext, type RequestContext } from './context.js';
import { hashToken, newToken } from './crypto.js';
import { publishEvents } from './delivery/events.js';
import { createOpaque } from './opaque.js';
import { userByName } from './rooms/kit.js';
import type { Vault } from './vault.js';
import { revokeAllDevices } from './sessions.js';

export interface ResetLink {
  username: string;
  url: string;
  expiresAt: string;
}

const invalid = () => new ChatError('CHAT_ERR_RESET_LINK_INVALID');

/** The user an unused, unexpired link is for, or CHAT_ERR_RESET_LINK_INVALID. */
async function usableLink(
  db: Kysely<Database>,
  vault: Vault,
  token: string,
  at: number,
): Promise<{ userId: string; username: string; expiresAt: number }> {
  const row = await db
    .selectFrom('reset_links')
    .innerJoin('users', 'users.id', 'reset_links.user_id')
    .select(['users.id', 'users.username', 'reset_links.expires_at'])
    .where('reset_links.token_hash', '=', hashToken(token))
    .where('reset_links.used_at', 'is', null)
    .where('reset_links.expires_at', '>', at)
    .executeTakeFirst();
  if (!row) throw invalid();
  return {
    userId: row.id,
    username: await vault.open('username', row.username),
    expiresAt: row.expires_at,
  };
}

export function createResets(
  deps: Pick<AccountsDeps, 'db' | 'now' | 'opaqueServerSetup' | 'publicOrigin' | 'bus' | 'vault'>,
) {
  const { db, now, vault } = deps;
  const server = createOpaque(deps);

  async function makeLink(
    user: { id: string; username: string },
    by: { adminId: string | null; ip: string | null },
    ttlSeconds: number | undefined,
  ): Promise<ResetLink> {
    const at = now();
    const ttl = Math.min(
      ttlSeconds ?? Limits.RESET_LINK_DEFAULT_TTL_SECONDS,
      Limits.RESET_LINK_MAX_TTL_SECONDS,
    );
    const token = newToken();
    const expiresAt = at + ttl * 1000;
    await db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('reset_links')
        .where('user_id', '=', user.id)
        .where('used_at', 'is', null)
        .execute();
      await trx
        .insertInto('reset_links')
        .values({
          token_hash: hashToken(token),
          user_id: user.id,
          // Who made it is sealed metadata (0012), not a readable column.
          meta: await vault.seal('link-meta', JSON.stringify({ createdBy: by.adminId })),
          created_at: at,
          expires_at: expiresAt,
          used_at: null,
        })
        .execute();
    });
    await audit(
      db,
      vault,
      at,
      'reset.link_created',
      { userId: user.id, ip: by.ip },
      { by: by.adminId ?? 'cli', ttlSeconds: ttl },
    );
    return {
      username: user.username,
      url: `${deps.publicOrigin}/reset#token=${token}`,
      expiresAt: iso(expiresAt),
    };
  }

  return {
    /** An administrator's reset link for one user (by id), from the web console. */
    async createResetLink(
      auth: AuthContext,
      userId: string,
      ttlSeconds: number | undefined,
      context: RequestContext,
    ): Promise<ResetLink> {
      accessAdmin(auth);
      const user = await db
        .selectFrom('users')
        .select(['id', 'username'])
        .where('id', '=', userId)
        .executeTakeFirst();
      if (!user) throw new ChatError('CHAT_ERR_NOT_FOUND');
      const username = await vault.open('username', user.username);
      return makeLink(
        { id: user.id, username },
        { adminId: auth.user.id, ip: context.ip },
        ttlSeconds,
      );
    },

    /** `securechat admin reset-link <username>`: the operator's shell is the authority. */
    async createResetLinkFor(username: string): Promise<ResetLink> {
      const user = await userByName(db, vault, username);
      return makeLink(
        { id: user.id, username: user.username },
        { adminId: null, ip: null },
        undefined,
      );
    },

    /** What the link is for, before anything changes (it stays usable). */
    async resetCheck(token: string): Promise<{ username: string; expiresAt: string }> {
      const link = await usableLink(db, vault, token, now());
      return { username: link.username, expiresAt: iso(link.expiresAt) };
    },

    /** Step 1: the OPAQUE registration response for the link's user. */
    async resetStart(
      token: string,
      registrationRequest: string,
    ): Promise<{ registrationResponse: string }> {
      const link = await usableLink(db, vault, token, now());
      return server.registrationResponse(link.username, registrationRequest);
    },

    /**
     * Step 2, in one transaction: the link is spent (once: of two racing finishes one wins),
     * the record replaced, the identity cleared, every device revoked and every session and
     * unfinished sign-in ended. Nobody is signed in by it: the next sign-in asks for the new
     * password (and the second factor, when the user has one).
     */
    async resetFinish(
      token: string,
      registrationRecord: string,
      context: RequestContext,
    ): Promise<void> {
      const at = now();
      const outcome = await db.transaction().execute(async (trx) => {
        const spent = await trx
          .updateTable('reset_links')
          .set({ used_at: at })
          .where('token_hash', '=', hashToken(token))
          .where('used_at', 'is', null)
          .where('expires_at', '>', at)
          .returning('user_id')
          .executeTakeFirst();
        if (!spent) throw invalid();
        const userId = spent.user_id;
        await trx
          .updateTable('users')
          .set({
            opaque_record: registrationRecord,
            password_changed_at: at,
            identity_key: null,
            identity_backup: null,
            identity_set_at: null,
          })
          .where('id', '=', userId)
          .execute();
        await trx.deleteFrom('login_attempts').where('user_id', '=', userId).execute();
        return { userId, ...(await revokeAllDevices(trx, vault, userId, at)) };
      });
      if (deps.bus) publishEvents(deps.bus, outcome.notices);
      await audit(
        db,
        vault,
        at,
        'account.password_reset',
        { userId: outcome.userId, ip: context.ip },
        { endedSessions: outcome.sessions, revokedDevices: outcome.devices },
      );
    },
  };
}
