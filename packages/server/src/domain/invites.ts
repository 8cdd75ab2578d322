/**
 * Invitations: single-use links an administrator makes so someone can register on an
 * invite-only server. Only the token's SHA-256 is stored; the token appears once, in the
 * creating administrator's answer, as `${publicOrigin}/invite#token=…` (a fragment, so it
 * never reaches a server's access log).
 */
import { ChatError, Limits, type InviteInfo } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/types.js';
import { accessAdmin, accessInvite } from './access.js';
import { audit } from './audit.js';
import { iso, type AccountsDeps, type AuthContext, type RequestContext } from './context.js';
import { openUsernames } from './people.js';
import type { Vault } from './vault.js';
import { hashToken, newId, newToken } from './crypto.js';

/** The id of the unused, unexpired invitation this token opens, or CHAT_ERR_INVITE_INVALID. */
export async function usableInvite(
  db: Kysely<Database>,
  token: string,
  at: number,
): Promise<string> {
  const row = await db
    .selectFrom('invites')
    .select('id')
    .where('token_hash', '=', hashToken(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', at)
    .executeTakeFirst();
  if (!row) throw new ChatError('CHAT_ERR_INVITE_INVALID');
  return row.id;
}

/** Mark the invitation used by `userId`, in the registration's transaction; once only. */
export async function consumeInvite(
  trx: Kysely<Database>,
  vault: Vault,
  inviteId: string,
  userId: string,
  at: number,
): Promise<void> {
  const used = await trx
    .updateTable('invites')
    // Who used it is sealed metadata (0012), not a readable column.
    .set({ used_at: at, meta: await vault.seal('link-meta', JSON.stringify({ usedBy: userId })) })
    .where('id', '=', inviteId)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  if (Number(used.numUpdatedRows) !== 1) throw new ChatError('CHAT_ERR_INVITE_INVALID');
}

export function createInvites(deps: Pick<AccountsDeps, 'db' | 'now' | 'publicOrigin' | 'vault'>) {
  const { db, now, vault } = deps;

  return {
    async listInvites(auth: AuthContext): Promise<InviteInfo[]> {
      accessAdmin(auth);
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
        .orderBy('invites.id', 'asc')
        .execute();
      return (await openUsernames(vault, rows)).map((r) => ({
        id: r.id,
        createdAt: iso(r.created_at),
        expiresAt: iso(r.expires_at),
        usedAt: r.used_at === null ? null : iso(r.used_at),
        createdBy: r.username,
      }));
    },

    async createInvite(
      auth: AuthContext,
      ttlSeconds: number | undefined,
      context: RequestContext,
    ): Promise<{ invite: InviteInfo; token: string; url: string }> {
      accessAdmin(auth);
      const at = now();
      const ttl = Math.min(
        ttlSeconds ?? Limits.INVITE_DEFAULT_TTL_SECONDS,
        Limits.INVITE_MAX_TTL_SECONDS,
      );
      const token = newToken();
      const row = {
        id: newId(),
        token_hash: hashToken(token),
        created_by: auth.user.id,
        created_at: at,
        expires_at: at + ttl * 1000,
        used_at: null,
        meta: null,
      };
      await db.insertInto('invites').values(row).execute();
      await audit(
        db,
        vault,
        at,
        'invite.create',
        { userId: auth.user.id, ip: context.ip },
        { invite: row.id, ttlSeconds: ttl },
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

    /** Withdraw an invitation; a used one disappears from the list too. */
    async revokeInvite(
      auth: AuthContext,
      inviteId: string,
      context: RequestContext,
    ): Promise<void> {
      const invite = await accessInvite(db, auth, inviteId);
      const deleted = await db.deleteFrom('invites').where('id', '=', invite.id).executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1) throw new ChatError('CHAT_ERR_NOT_FOUND');
      await audit(
        db,
        vault,
        now(),
        'invite.revoke',
        { userId: auth.user.id, ip: context.ip },
        { invite: invite.id, used: invite.used_at !== null },
      );
    },
  };
}
