/**
 * The admin console's account actions and figures: every account with its state, suspending
 * and restoring one (a suspension ends every session at once; the sockets close at the
 * gateway's next session check), changing a role, and the server at a glance. Each action is
 * behind `accessAdmin` and audited under the account it touched, with `by` naming the actor.
 */
import {
  ChatError,
  canonicalUsername,
  type AdminUser,
  type ServerStats,
} from '@securechat/protocol';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../storage/dialect.js';
import type { Database } from '../storage/types.js';
import { accessAdmin } from './access.js';
import { audit } from './audit.js';
import { iso, type AccountsDeps, type AuthContext, type RequestContext } from './context.js';
import { openUsernames } from './people.js';
import { adminCount } from './setup.js';
import type { Vault } from './vault.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

export async function adminUser(
  db: Kysely<Database>,
  vault: Vault,
  userId: string,
): Promise<AdminUser | undefined> {
  return (await adminUsers(db, vault, userId))[0];
}

/** Every account (or one), with when its devices were last seen and how many it has. */
async function adminUsers(db: Kysely<Database>, vault: Vault, only?: string): Promise<AdminUser[]> {
  let query = db
    .selectFrom('users')
    .leftJoin('devices', (join) =>
      join.onRef('devices.user_id', '=', 'users.id').on('devices.revoked_at', 'is', null),
    )
    .leftJoin('totp', (join) =>
      join.onRef('totp.user_id', '=', 'users.id').on('totp.enabled_at', 'is not', null),
    )
    .select((eb) => [
      'users.id',
      'users.username',
      'users.role',
      'users.created_at',
      'users.suspended_at',
      'users.deleted_at',
      eb.fn.max('devices.last_seen_at').as('last_seen'),
      eb.fn.count<number | string>('devices.id').as('devices'),
      eb.fn.max('totp.enabled_at').as('totp_on'),
    ])
    .groupBy([
      'users.id',
      'users.username',
      'users.role',
      'users.created_at',
      'users.suspended_at',
      'users.deleted_at',
    ]);
  if (only !== undefined) query = query.where('users.id', '=', only);
  const rows = await openUsernames(vault, await query.execute());
  return rows
    .map((row) => ({
      id: row.id,
      username: row.username,
      role: row.role,
      createdAt: iso(row.created_at),
      suspendedAt: row.suspended_at === null ? null : iso(row.suspended_at),
      deletedAt: row.deleted_at === null ? null : iso(row.deleted_at),
      lastSeenAt: row.last_seen === null ? null : iso(Number(row.last_seen)),
      devices: Number(row.devices),
      twoFactor: row.totp_on !== null,
    }))
    .sort((a, b) => a.username.localeCompare(b.username));
}

/** The role and suspension of one account, or CHAT_ERR_NOT_FOUND. */
async function accountState(db: Kysely<Database>, userId: string) {
  const row = await db
    .selectFrom('users')
    .select(['id', 'role', 'suspended_at', 'deleted_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!row) throw new ChatError('CHAT_ERR_NOT_FOUND');
  return row;
}

async function databaseBytes(db: Kysely<Database>, dialect: Dialect): Promise<number | null> {
  try {
    if (dialect === 'postgres') {
      const { rows } = await sql<{
        bytes: string | number;
      }>`select pg_database_size(current_database()) as bytes`.execute(db);
      return Number(rows[0]?.bytes ?? 0);
    }
    const pages = await sql<{ page_count: number }>`pragma page_count`.execute(db);
    const size = await sql<{ page_size: number }>`pragma page_size`.execute(db);
    return (pages.rows[0]?.page_count ?? 0) * (size.rows[0]?.page_size ?? 0);
  } catch {
    return null;
  }
}

export function createAdministration(
  deps: Pick<AccountsDeps, 'db' | 'now' | 'vault'> & { dialect?: Dialect | undefined },
) {
  const { db, now, vault } = deps;

  return {
    /** `securechat admin …`: the account with this username, suspended or not. */
    async accountNamed(username: string): Promise<AdminUser> {
      const row = await db
        .selectFrom('users')
        .select('id')
        .where('username_index', '=', vault.index('username', canonicalUsername(username)))
        .executeTakeFirst();
      const user = row ? await adminUser(db, vault, row.id) : undefined;
      if (!user) throw new ChatError('CHAT_ERR_NOT_FOUND', `There is no user named "${username}".`);
      return user;
    },

    /** Every account with its state, for the console and the CLI (sorted by username). */
    async adminUsers(auth: AuthContext | null): Promise<AdminUser[]> {
      if (auth) accessAdmin(auth);
      return adminUsers(db, vault);
    },

    /**
     * Suspend (`on`) or restore an account. A suspension ends its sessions and unfinished
     * sign-ins in the same transaction and refuses every later sign-in; nobody suspends
     * themselves or the last active administrator.
     */
    async setSuspended(
      auth: AuthContext | null,
      userId: string,
      on: boolean,
      context: RequestContext | null,
    ): Promise<AdminUser> {
      if (auth) accessAdmin(auth);
      if (auth && on && userId === auth.user.id) throw new ChatError('CHAT_ERR_SELF_SUSPEND');
      const at = now();
      const changed = await db.transaction().execute(async (trx) => {
        const row = await accountState(trx, userId);
        if (row.deleted_at !== null)
          throw new ChatError('CHAT_ERR_FORBIDDEN', 'A deleted account can’t be restored.');
        if ((row.suspended_at !== null) === on) return null;
        if (on && row.role === 'admin' && (await adminCount(trx)) <= 1) {
          throw new ChatError('CHAT_ERR_LAST_ADMIN', 'The last administrator can’t be suspended.');
        }
        await trx
          .updateTable('users')
          .set({ suspended_at: on ? at : null })
          .where('id', '=', userId)
          .execute();
        if (!on) return 0;
        await trx.deleteFrom('login_attempts').where('user_id', '=', userId).execute();
        const ended = await trx
          .deleteFrom('sessions')
          .where('user_id', '=', userId)
          .executeTakeFirst();
        return Number(ended.numDeletedRows);
      });
      if (changed !== null) {
        await audit(
          db,
          vault,
          at,
          on ? 'account.suspend' : 'account.unsuspend',
          { userId, ip: context?.ip ?? null },
          { by: auth?.user.id ?? 'cli', ...(on ? { endedSessions: changed } : {}) },
        );
      }
      const user = await adminUser(db, vault, userId);
      if (!user) throw new ChatError('CHAT_ERR_NOT_FOUND');
      return user;
    },

    /** Make an account an administrator or a member, from the console; never the last admin. */
    async changeRole(
      auth: AuthContext,
      userId: string,
      role: 'admin' | 'member',
      context: RequestContext,
    ): Promise<AdminUser> {
      accessAdmin(auth);
      const at = now();
      const changed = await db.transaction().execute(async (trx) => {
        const row = await accountState(trx, userId);
        if (row.deleted_at !== null)
          throw new ChatError('CHAT_ERR_FORBIDDEN', 'A deleted account has no role to change.');
        if (row.role === role) return false;
        if (row.role === 'admin' && row.suspended_at === null && (await adminCount(trx)) <= 1) {
          throw new ChatError('CHAT_ERR_LAST_ADMIN');
        }
        await trx.updateTable('users').set({ role }).where('id', '=', userId).execute();
        return true;
      });
      if (changed) {
        await audit(
          db,
          vault,
          at,
          'account.role_change',
          { userId, ip: context.ip },
          { role, by: auth.user.id },
        );
      }
      const user = await adminUser(db, vault, userId);
      if (!user) throw new ChatError('CHAT_ERR_NOT_FOUND');
      return user;
    },

    /** The server at a glance; `connectionsOnThisNode` comes from the gateway. */
    async serverStats(
      auth: AuthContext | null,
      connectionsOnThisNode: number,
    ): Promise<ServerStats> {
      if (auth) accessAdmin(auth);
      const at = now();
      const count = (n: unknown) => Number(n ?? 0);
      const users = await db
        .selectFrom('users')
        .select((eb) => [
          eb.fn.countAll<number | string>().as('all'),
          eb.fn.count<number | string>('suspended_at').as('suspended'),
        ])
        .executeTakeFirstOrThrow();
      const rooms = await db
        .selectFrom('rooms')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      const messages = await db
        .selectFrom('events')
        .select((eb) => [
          eb.fn.countAll<number | string>().as('day'),
          eb.fn
            .count<number | string>(
              eb
                .case()
                .when('at', '>=', at - MINUTE)
                .then(1)
                .end(),
            )
            .as('minute'),
        ])
        .where('kind', 'in', ['message', 'edit', 'reaction'])
        .where('at', '>=', at - DAY)
        .executeTakeFirstOrThrow();
      const files = await db
        .selectFrom('files')
        .select((eb) => eb.fn.sum<number | string | null>('size').as('bytes'))
        .executeTakeFirstOrThrow();
      const blobs = await db
        .selectFrom('blobs')
        .select((eb) => eb.fn.sum<number | string | null>('size').as('bytes'))
        .executeTakeFirstOrThrow();
      return {
        users: count(users.all),
        suspendedUsers: count(users.suspended),
        rooms: count(rooms.n),
        connectionsOnThisNode,
        messagesLastMinute: count(messages.minute),
        messagesLastDay: count(messages.day),
        storage: {
          databaseBytes: deps.dialect ? await databaseBytes(db, deps.dialect) : null,
          filesBytes: count(files.bytes),
          blobsBytes: count(blobs.bytes),
        },
      };
    },
  };
}
