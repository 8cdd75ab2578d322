/** Blocking people: who may not start a direct room with you, write to you or invite you. */
import { ChatError, Limits, type UserRef } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/types.js';
import { openUserRefs } from '../people.js';
import type { Vault } from '../vault.js';
import { userByName } from './kit.js';

export async function block(
  db: Kysely<Database>,
  vault: Vault,
  now: () => number,
  userId: string,
  username: string,
  on: boolean,
): Promise<void> {
  const other = await userByName(db, vault, username);
  if (other.id === userId) throw new ChatError('CHAT_ERR_VALIDATION', 'You cannot block yourself.');
  if (!on) {
    await db
      .deleteFrom('blocks')
      .where('user_id', '=', userId)
      .where('blocked_id', '=', other.id)
      .execute();
    return;
  }
  const { n } = await db
    .selectFrom('blocks')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  if (Number(n) >= Limits.BLOCKS_PER_USER_MAX)
    throw new ChatError('CHAT_ERR_VALIDATION', 'You have blocked as many people as you can.');
  await db
    .insertInto('blocks')
    .values({ user_id: userId, blocked_id: other.id, at: now() })
    .onConflict((oc) => oc.columns(['user_id', 'blocked_id']).doNothing())
    .execute();
}

export async function blocked(
  db: Kysely<Database>,
  vault: Vault,
  userId: string,
): Promise<UserRef[]> {
  const rows = await db
    .selectFrom('blocks as b')
    .innerJoin('users as u', 'u.id', 'b.blocked_id')
    .select(['u.id', 'u.username'])
    .where('b.user_id', '=', userId)
    .execute();
  return openUserRefs(vault, rows);
}
