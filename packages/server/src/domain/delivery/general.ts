/** #general: the room every account is in, created on first use. */
import { GENERAL_ROOM_ID, Limits } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Dialect } from '../../storage/dialect.js';
import type { Database } from '../../storage/types.js';
import type { Vault } from '../vault.js';
import { isMember, lockRows, markPendingAdd, memberIds, membersChanged } from '../membership.js';
import { appendNotice, type Accepted, type Sender } from './events.js';

/**
 * Make sure #general exists and this user is in it (every account is, up to
 * GENERAL_MEMBERS_MAX: past it an account is simply not added, and a later connection tries
 * again). The first time, a join notice tells everyone there.
 */
export async function joinGeneral(
  db: Kysely<Database>,
  vault: Vault,
  dialect: Dialect,
  now: () => number,
  sender: Sender,
): Promise<Accepted | null> {
  // Every connection after an account's first: one read, no write.
  if (await isMember(db, GENERAL_ROOM_ID, sender.userId)) return null;
  const at = now();
  await db
    .insertInto('rooms')
    .values({
      id: GENERAL_ROOM_ID,
      kind: 'general',
      name: await vault.seal('room-name', 'general'),
      topic: null,
      password_hash: null,
      direct_key: null,
      group_info_blob: null,
      created_at: at,
      last_seq: 0,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return db.transaction().execute(async (trx) => {
    // The cap is counted with the room locked (PostgreSQL; SQLite's writers are serialized).
    await lockRows(trx, dialect, 'rooms', [GENERAL_ROOM_ID]);
    const { n } = await trx
      .selectFrom('room_members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('room_id', '=', GENERAL_ROOM_ID)
      .executeTakeFirstOrThrow();
    if (Number(n) >= Limits.GENERAL_MEMBERS_MAX) return null;
    const added = await trx
      .insertInto('room_members')
      .values({
        room_id: GENERAL_ROOM_ID,
        user_id: sender.userId,
        role: 'member',
        joined_at: at,
      })
      .onConflict((oc) => oc.columns(['room_id', 'user_id']).doNothing())
      .executeTakeFirst();
    // Two first connections at once: only the one that added the member tells.
    if (Number(added.numInsertedOrUpdatedRows ?? 0) === 0) return null;
    await membersChanged(trx, GENERAL_ROOM_ID);
    await markPendingAdd(trx, at, GENERAL_ROOM_ID, sender.userId);
    const event = await appendNotice(trx, vault, at, GENERAL_ROOM_ID, sender, {
      type: 'join',
      user: sender.userId,
    });
    return { event, duplicate: false, recipients: await memberIds(trx, GENERAL_ROOM_ID) };
  });
}
