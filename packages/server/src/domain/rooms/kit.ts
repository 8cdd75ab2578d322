/**
 * What every rooms action is built from: its dependencies, what a change returns, and the
 * shared steps (find a user by name, check capacity, add a member, check a channel name,
 * require a rank, write a notice).
 */
import {
  canonicalUsername,
  ChatError,
  Limits,
  type RoomRole,
  type RoomSummary,
  type UserRef,
} from '@securechat/protocol';
import type { Kysely, Transaction } from 'kysely';
import type { RealtimeLimiter } from '../../events/limits.js';
import type { Dialect } from '../../storage/dialect.js';
import { isUniqueViolation } from '../../storage/errors.js';
import type { Database } from '../../storage/types.js';
import { appendNotice, type Accepted, type NoticeInput, type Sender } from '../delivery/events.js';
import type { Membership } from '../access.js';
import { userIdOf } from '../ids.js';
import { lockRows, markPendingAdd, memberIds, membersChanged } from '../membership.js';
import type { Vault } from '../vault.js';
import type { RoomPasswords } from './passwords.js';

export interface RoomsDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  now: () => number;
  limiter: RealtimeLimiter;
  /** Room-password hashing under the process's cap. */
  passwords: RoomPasswords;
  /** Channel names and topics, usernames and notices are sealed at rest. */
  vault: Vault;
}

/** What a change returns: the room as the actor now sees it, and the notices to fan out. */
export interface Changed {
  room: RoomSummary | null;
  notices: Accepted[];
}

export const CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** An active account by its username (matched by its blind index). */
export async function userByName(
  trx: Kysely<Database>,
  vault: Vault,
  username: string,
): Promise<UserRef> {
  const canonical = canonicalUsername(username);
  const row = await trx
    .selectFrom('users')
    .select('id')
    .where('username_index', '=', vault.index('username', canonical))
    .where('suspended_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw new ChatError('CHAT_ERR_NOT_FOUND', 'There is no one with that username.');
  return { id: userIdOf(row.id), username: canonical };
}

/**
 * Room and account capacity, checked before members are added. Inside a transaction, pass
 * the dialect: the room's and the users' rows are locked first, so two concurrent adds can't
 * both see the last free place (rooms are always locked before users). Without it (a cheap
 * early refusal before expensive work) nothing is locked.
 */
export async function checkCapacity(
  trx: Kysely<Database>,
  roomId: string | null,
  userIds: readonly string[],
  lock: Dialect | null,
): Promise<void> {
  if (lock) {
    if (roomId) await lockRows(trx, lock, 'rooms', [roomId]);
    await lockRows(trx, lock, 'users', userIds);
  }
  if (roomId) {
    const { members } = await trx
      .selectFrom('room_members')
      .select((eb) => eb.fn.countAll<number>().as('members'))
      .where('room_id', '=', roomId)
      .executeTakeFirstOrThrow();
    if (Number(members) + userIds.length > Limits.MEMBERS_PER_ROOM_MAX)
      throw new ChatError('CHAT_ERR_ROOM_FULL');
  }
  for (const userId of userIds) {
    const { rooms } = await trx
      .selectFrom('room_members')
      .select((eb) => eb.fn.countAll<number>().as('rooms'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    if (Number(rooms) >= Limits.ROOMS_PER_USER_MAX) throw new ChatError('CHAT_ERR_TOO_MANY_ROOMS');
  }
}

export async function addMember(
  trx: Transaction<Database>,
  now: () => number,
  roomId: string,
  userId: string,
  role: RoomRole,
): Promise<void> {
  const { last_seq } = await trx
    .selectFrom('rooms')
    .select('last_seq')
    .where('id', '=', roomId)
    .executeTakeFirstOrThrow();
  const at = now();
  await trx
    .insertInto('room_members')
    .values({
      room_id: roomId,
      user_id: userId,
      role,
      joined_at: at,
      joined_seq: Number(last_seq),
    })
    .execute();
  await membersChanged(trx, roomId);
  // The creator starts the room's MLS group; everyone after is added to it by a member.
  if (Number(last_seq) > 0 || role !== 'owner') await markPendingAdd(trx, at, roomId, userId);
}

export async function channelNameFree(
  trx: Kysely<Database>,
  vault: Vault,
  name: string,
  except?: string,
) {
  let query = trx
    .selectFrom('rooms')
    .select('id')
    .where('kind', '=', 'channel')
    .where('name_index', '=', vault.index('room-name', name.toLowerCase()));
  if (except) query = query.where('id', '!=', except);
  if (await query.executeTakeFirst()) throw new ChatError('CHAT_ERR_ROOM_NAME_TAKEN');
}

/** Group and channel management only: #general and direct rooms have fixed members. */
export function requireManaged(member: Membership): void {
  if (member.kind === 'general' || member.kind === 'direct')
    throw new ChatError('CHAT_ERR_FORBIDDEN', 'This room’s members cannot be changed.');
}

/** Append a notice and name its recipients: the members, plus `extra` (someone removed). */
export async function notify(
  trx: Transaction<Database>,
  { now, vault }: Pick<RoomsDeps, 'now' | 'vault'>,
  room: string,
  actor: Sender,
  notice: NoticeInput,
  extra: string[] = [],
): Promise<Accepted> {
  const event = await appendNotice(trx, vault, now(), room, actor, notice);
  const recipients = await memberIds(trx, room);
  for (const id of extra) if (!recipients.includes(id)) recipients.push(id);
  return { event, duplicate: false, recipients };
}

/**
 * Run a write whose race only a unique constraint settles (channel names: the index on
 * lower(name) of channels, made in migration 0006): a violation becomes `refusal`.
 */
export async function unlessTaken<T>(
  write: () => Promise<T>,
  refusal: () => ChatError,
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw refusal();
    throw error;
  }
}
