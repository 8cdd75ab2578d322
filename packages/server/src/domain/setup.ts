/**
 * Administrators. Nobody becomes one by registering first: the first administrator
 * registers through a one-time setup link, which the server logs on start while there is
 * no administrator ('first-run', 7 days) or `securechat admin create` prints ('cli', 24
 * hours). The link carries its token in the URL fragment, so it never reaches an access log;
 * only the token's SHA-256 is stored, and the link dies once used. After that, roles change
 * from the shell (`securechat admin promote|demote`), never below one administrator.
 */
import { ChatError, canonicalUsername, type PublicUser } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/types.js';
import { audit } from './audit.js';
import type { AccountsDeps } from './context.js';
import { hashToken, newToken } from './crypto.js';
import { toPublicUser } from './sessions.js';

const FIRST_RUN_TTL_MS = 7 * 24 * 3600 * 1000;
const CLI_TTL_MS = 24 * 3600 * 1000;

/** Administrators who can act (not suspended). */
export async function adminCount(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('role', '=', 'admin')
    .where('suspended_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The hash of the unused, unexpired setup token, or CHAT_ERR_SETUP_TOKEN_INVALID. */
export async function usableSetupToken(
  db: Kysely<Database>,
  token: string,
  at: number,
): Promise<string> {
  const row = await db
    .selectFrom('setup_tokens')
    .select('token_hash')
    .where('token_hash', '=', hashToken(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', at)
    .executeTakeFirst();
  if (!row) throw new ChatError('CHAT_ERR_SETUP_TOKEN_INVALID');
  return row.token_hash;
}

/**
 * Use the setup link, in the registration's transaction; once only. The other first-run
 * links die with it: they were for the first administrator, who now exists.
 */
export async function consumeSetupToken(
  trx: Kysely<Database>,
  tokenHash: string,
  at: number,
): Promise<void> {
  const used = await trx
    .updateTable('setup_tokens')
    .set({ used_at: at })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  if (Number(used.numUpdatedRows) !== 1) throw new ChatError('CHAT_ERR_SETUP_TOKEN_INVALID');
  await trx
    .updateTable('setup_tokens')
    .set({ used_at: at })
    .where('origin', '=', 'first-run')
    .where('used_at', 'is', null)
    .execute();
}

export function createSetup(
  deps: Pick<AccountsDeps, 'db' | 'now' | 'publicOrigin' | 'log' | 'vault'>,
) {
  const { db, now, vault } = deps;

  async function createLink(origin: 'first-run' | 'cli', ttlMs: number): Promise<string> {
    const token = newToken();
    const at = now();
    await db.transaction().execute(async (trx) => {
      if (origin === 'first-run') {
        await trx
          .deleteFrom('setup_tokens')
          .where('origin', '=', 'first-run')
          .where('used_at', 'is', null)
          .execute();
      }
      await trx
        .insertInto('setup_tokens')
        .values({
          token_hash: hashToken(token),
          origin,
          created_at: at,
          expires_at: at + ttlMs,
          used_at: null,
        })
        .execute();
    });
    await audit(db, vault, at, 'setup.link_created', {}, { origin });
    return `${deps.publicOrigin}/setup#token=${token}`;
  }

  async function firstRunSetupLink(): Promise<string | null> {
    if ((await adminCount(db)) > 0) return null;
    return createLink('first-run', FIRST_RUN_TTL_MS);
  }

  return {
    /**
     * While there is no administrator: a fresh first-run link (older unused ones die).
     * Null once an administrator exists.
     */
    firstRunSetupLink,

    /**
     * Called once the server listens: logs the first-run link in ONE warn line, by design
     * the only secret that is ever logged (the operator needs it; it dies once used).
     */
    async announceFirstRunSetup(): Promise<string | null> {
      const link = await firstRunSetupLink();
      if (link) {
        deps.log.warn(
          `No administrator yet. Open this one-time link to create the administrator account: ${link}`,
        );
      }
      return link;
    },

    /** `securechat admin create`: a one-time link (24 hours) that registers an administrator. */
    createAdminSetupLink: (): Promise<string> => createLink('cli', CLI_TTL_MS),

    /** `securechat admin promote|demote`. Refuses to demote the last administrator. */
    async setRole(usernameInput: string, role: 'admin' | 'member'): Promise<PublicUser> {
      const username = canonicalUsername(usernameInput);
      const at = now();
      const result = await db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('users')
          .selectAll()
          .where('username_index', '=', vault.index('username', username))
          .executeTakeFirst();
        if (!row) {
          throw new ChatError('CHAT_ERR_NOT_FOUND', `There is no user named "${username}".`);
        }
        if (row.role === role) return { user: row, changed: false };
        if (row.role === 'admin' && (await adminCount(trx)) <= 1) {
          throw new ChatError('CHAT_ERR_LAST_ADMIN');
        }
        await trx.updateTable('users').set({ role }).where('id', '=', row.id).execute();
        return { user: { ...row, role }, changed: true };
      });
      if (result.changed) {
        await audit(
          db,
          vault,
          at,
          'account.role_change',
          { userId: result.user.id },
          { role, by: 'cli' },
        );
      }
      return toPublicUser({ ...result.user, username });
    },
  };
}
