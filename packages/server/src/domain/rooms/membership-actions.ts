/**
 * Changing who is in a room and with which role: leave, invite, kick, role, transfer. In a
 * closed room only inviting is refused: people may still leave, be removed, and hand on the
 * ownership that leaving needs.
 */
import { ChatError, type UserId } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/types.js';
import type { Sender } from '../delivery/events.js';
import { accessOpenRoom, accessRank, accessRoom, rank } from '../access.js';
import {
  blockedBetween,
  clearPendingAdd,
  isMember,
  lockRows,
  memberIds,
  membersChanged,
} from '../membership.js';
import {
  addMember,
  checkCapacity,
  notify,
  requireManaged,
  userByName,
  type Changed,
  type RoomsDeps,
} from './kit.js';
import { summary } from './summaries.js';

export async function leave(deps: RoomsDeps, actor: Sender, roomId: string): Promise<Changed> {
  const { db } = deps;
  const notices = await db.transaction().execute(async (trx) => {
    const member = await accessRoom(trx, roomId, actor.userId);
    if (member.kind === 'general')
      throw new ChatError('CHAT_ERR_FORBIDDEN', 'Everyone is in #general.');
    const others = (await memberIds(trx, roomId)).filter((id) => id !== actor.userId);
    if (member.role === 'owner' && others.length > 0)
      throw new ChatError('CHAT_ERR_OWNER_MUST_TRANSFER');
    await trx
      .deleteFrom('room_members')
      .where('room_id', '=', roomId)
      .where('user_id', '=', actor.userId)
      .execute();
    await membersChanged(trx, roomId);
    await clearPendingAdd(trx, roomId, actor.userId);
    await trx
      .deleteFrom('delete_codes')
      .where('room_id', '=', roomId)
      .where('user_id', '=', actor.userId)
      .execute();
    if (others.length === 0 && member.kind !== 'direct') {
      // The last one out: the room and its history go with them.
      await trx.deleteFrom('rooms').where('id', '=', roomId).execute();
      return [];
    }
    return [
      await notify(trx, deps, roomId, actor, { type: 'leave', user: actor.userId }, [actor.userId]),
    ];
  });
  return { room: null, notices };
}

async function isProtected(db: Kysely<Database>, roomId: string): Promise<boolean> {
  const room = await db
    .selectFrom('rooms')
    .select('password_hash')
    .where('id', '=', roomId)
    .executeTakeFirstOrThrow();
  return room.password_hash !== null;
}

export async function invite(
  deps: RoomsDeps,
  actor: Sender,
  roomId: string,
  username: string,
): Promise<Changed> {
  const { db, now } = deps;
  const notices = await db.transaction().execute(async (trx) => {
    const member = await accessOpenRoom(trx, roomId, actor.userId);
    requireManaged(member);
    // Groups are invitation-only; a protected channel's password is not to be walked past:
    // in both, only moderators and the owner invite.
    if (member.kind === 'group' || (await isProtected(trx, roomId)))
      accessRank(member, 'moderator');
    const invitee = await userByName(trx, deps.vault, username);
    if ((await blockedBetween(trx, invitee.id, actor.userId)).aBlockedB)
      throw new ChatError('CHAT_ERR_BLOCKED');
    await lockRows(trx, deps.dialect, 'rooms', [roomId]);
    if (await isMember(trx, roomId, invitee.id)) return [];
    await checkCapacity(trx, roomId, [invitee.id], deps.dialect);
    await addMember(trx, now, roomId, invitee.id, 'member');
    return [
      await notify(trx, deps, roomId, actor, {
        type: 'invite',
        user: invitee.id,
      }),
    ];
  });
  return { room: await summary(db, deps.vault, actor.userId, roomId), notices };
}

export async function kick(
  deps: RoomsDeps,
  actor: Sender,
  roomId: string,
  userId: UserId,
): Promise<Changed> {
  const { db } = deps;
  const notices = await db.transaction().execute(async (trx) => {
    const member = await accessRoom(trx, roomId, actor.userId);
    requireManaged(member);
    accessRank(member, 'moderator');
    const target = await trx
      .selectFrom('room_members')
      .select('role')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!target || userId === actor.userId)
      throw new ChatError('CHAT_ERR_NOT_FOUND', 'That person is not in this room.');
    if (rank(target.role) >= rank(member.role))
      throw new ChatError('CHAT_ERR_FORBIDDEN', 'You can only remove members below you.');
    await trx
      .deleteFrom('room_members')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .execute();
    await membersChanged(trx, roomId);
    await clearPendingAdd(trx, roomId, userId);
    return [await notify(trx, deps, roomId, actor, { type: 'kick', user: userId }, [userId])];
  });
  return { room: await summary(db, deps.vault, actor.userId, roomId), notices };
}

export async function setRole(
  deps: RoomsDeps,
  actor: Sender,
  roomId: string,
  userId: UserId,
  role: 'moderator' | 'member',
): Promise<Changed> {
  const { db } = deps;
  const notices = await db.transaction().execute(async (trx) => {
    const member = await accessRoom(trx, roomId, actor.userId);
    requireManaged(member);
    accessRank(member, 'owner');
    const updated = await trx
      .updateTable('room_members')
      .set({ role })
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .where('role', '!=', 'owner')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0)
      throw new ChatError('CHAT_ERR_NOT_FOUND', 'That person is not in this room.');
    return [await notify(trx, deps, roomId, actor, { type: 'role', user: userId, role })];
  });
  return { room: await summary(db, deps.vault, actor.userId, roomId), notices };
}

export async function transfer(
  deps: RoomsDeps,
  actor: Sender,
  roomId: string,
  userId: UserId,
): Promise<Changed> {
  const { db } = deps;
  const notices = await db.transaction().execute(async (trx) => {
    const member = await accessRoom(trx, roomId, actor.userId);
    requireManaged(member);
    accessRank(member, 'owner');
    if (userId === actor.userId)
      throw new ChatError('CHAT_ERR_VALIDATION', 'You already own this room.');
    const updated = await trx
      .updateTable('room_members')
      .set({ role: 'owner' })
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0)
      throw new ChatError('CHAT_ERR_NOT_FOUND', 'That person is not in this room.');
    await trx
      .updateTable('room_members')
      .set({ role: 'moderator' })
      .where('room_id', '=', roomId)
      .where('user_id', '=', actor.userId)
      .execute();
    return [await notify(trx, deps, roomId, actor, { type: 'transfer', user: userId })];
  });
  return { room: await summary(db, deps.vault, actor.userId, roomId), notices };
}
