/** Direct rooms: one per pair of people, made on first use. */
import { ChatError } from '@securechat/protocol';
import type { Accepted, Sender } from '../delivery/events.js';
import { accessOpen } from '../access.js';
import { newId } from '../crypto.js';
import { blockedBetween, directKey, lockRows, memberIds } from '../membership.js';
import { isUniqueViolation } from '../../storage/errors.js';
import {
  addMember,
  checkCapacity,
  notify,
  userByName,
  type Changed,
  type RoomsDeps,
} from './kit.js';
import { summary } from './summaries.js';

/** The direct room with this person: the existing one, or a new one. One per pair. */
export async function direct(deps: RoomsDeps, actor: Sender, username: string): Promise<Changed> {
  const { db, now, dialect } = deps;
  const open = () =>
    db.transaction().execute(async (trx) => {
      const peer = await userByName(trx, deps.vault, username);
      if (peer.id === actor.userId)
        throw new ChatError('CHAT_ERR_VALIDATION', 'Start a conversation with someone else.');
      const blocks = await blockedBetween(trx, actor.userId, peer.id);
      if (blocks.bBlockedA || blocks.aBlockedB) throw new ChatError('CHAT_ERR_BLOCKED');
      // PostgreSQL: the pair's two user rows, locked first, make two people opening their room
      // at once take turns, so the second finds the first one's room.
      await lockRows(trx, dialect, 'users', [actor.userId, peer.id]);
      const key = directKey(actor.userId, peer.id);
      const existing = await trx
        .selectFrom('rooms')
        .select(['id', 'closed_at'])
        .where('direct_key', '=', key)
        .executeTakeFirst();
      const notices: Accepted[] = [];
      let id = existing?.id;
      if (!id) {
        id = newId();
        await checkCapacity(trx, null, [actor.userId, peer.id], dialect);
        await trx
          .insertInto('rooms')
          .values({
            id,
            kind: 'direct',
            name: null,
            topic: null,
            visibility: 'shared',
            password_hash: null,
            direct_key: key,
            group_info_blob: null,
            created_at: now(),
            last_seq: 0,
          })
          .execute();
        await addMember(trx, now, id, actor.userId, 'member');
        await addMember(trx, now, id, peer.id, 'member');
        notices.push(await notify(trx, deps, id, actor, { type: 'create', kind: 'direct' }));
      } else {
        // Someone who left comes back when the conversation is started again.
        const present = await memberIds(trx, id);
        for (const userId of [actor.userId, peer.id]) {
          if (present.includes(userId)) continue;
          // A closed room takes no one back in: it is reopened first.
          accessOpen({ closedAt: existing?.closed_at ?? null });
          await checkCapacity(trx, null, [userId], dialect);
          await addMember(trx, now, id, userId, 'member');
          notices.push(await notify(trx, deps, id, actor, { type: 'join', user: userId }));
        }
      }
      return { id, notices };
    });
  let result: Awaited<ReturnType<typeof open>>;
  try {
    result = await open();
  } catch (error) {
    // Whatever got past the locks to the pair's unique direct_key: the room exists now.
    if (!isUniqueViolation(error)) throw error;
    result = await open();
  }
  return { room: await summary(db, deps.vault, actor.userId, result.id), notices: result.notices };
}
