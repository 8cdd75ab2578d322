/** Creating channels and groups, and joining public (possibly protected) channels. */
import { ChatError, type Visibility } from '@securechat/protocol';
import type { Sender } from '../delivery/events.js';
import { accessOpen } from '../access.js';
import { newId } from '../crypto.js';
import { isMember, lockRows } from '../membership.js';
import {
  addMember,
  channelNameFree,
  CHANNEL_NAME,
  checkCapacity,
  unlessTaken,
  notify,
  type Changed,
  type RoomsDeps,
} from './kit.js';
import { sealNullable } from '../vault.js';
import { summary } from './summaries.js';

/**
 * A channel has a public name (the directory finds it); a group has none on the server: its
 * name and topic are end-to-end content (docs/decisions/0009-server-metadata.md).
 */
export type CreateInput =
  | {
      kind: 'channel';
      name: string;
      topic?: string | undefined;
      visibility?: Visibility | undefined;
      password?: string | undefined;
    }
  | { kind: 'group'; visibility?: Visibility | undefined };

export async function create(deps: RoomsDeps, actor: Sender, input: CreateInput): Promise<Changed> {
  const { db, now } = deps;
  const name = input.kind === 'channel' ? input.name.toLowerCase() : null;
  if (name !== null && !CHANNEL_NAME.test(name))
    throw new ChatError('CHAT_ERR_VALIDATION', 'Channel names use a–z, 0–9, - and _.', {
      field: 'name',
    });
  const id = newId();
  let passwordHash: string | null = null;
  if (input.kind === 'channel' && name !== null && input.password !== undefined) {
    // Refuse what would be refused before spending a hash on it (checked again below).
    await channelNameFree(db, deps.vault, name);
    await checkCapacity(db, null, [actor.userId], null);
    passwordHash = await deps.passwords.hash(input.password);
  }
  const write = () =>
    db.transaction().execute(async (trx) => {
      if (name !== null) await channelNameFree(trx, deps.vault, name);
      await checkCapacity(trx, null, [actor.userId], deps.dialect);
      await trx
        .insertInto('rooms')
        .values({
          id,
          kind: input.kind,
          name: name === null ? null : await deps.vault.seal('room-name', name),
          name_index: name === null ? null : deps.vault.index('room-name', name),
          topic: await sealNullable(
            deps.vault,
            'room-topic',
            (input.kind === 'channel' && input.topic?.trim()) || null,
          ),
          visibility: input.visibility ?? 'shared',
          password_hash: passwordHash,
          direct_key: null,
          group_info_blob: null,
          created_at: now(),
          last_seq: 0,
        })
        .execute();
      await addMember(trx, now, id, actor.userId, 'owner');
      return [
        await notify(
          trx,
          deps,
          id,
          actor,
          name === null
            ? { type: 'create', kind: 'group' }
            : { type: 'create', kind: 'channel', name, protected: passwordHash !== null },
        ),
      ];
    });
  // Two creators racing for one name: the unique index lets one through.
  const notices = await unlessTaken(write, () => new ChatError('CHAT_ERR_ROOM_NAME_TAKEN'));
  return { room: await summary(db, deps.vault, actor.userId, id), notices };
}

/** Join a public channel (with its password when it is protected). */
export async function join(
  deps: RoomsDeps,
  actor: Sender,
  roomId: string,
  password: string | undefined,
): Promise<Changed> {
  const { db, now, limiter } = deps;
  const room = await db
    .selectFrom('rooms')
    .select(['kind', 'password_hash', 'closed_at'])
    .where('id', '=', roomId)
    .executeTakeFirst();
  // Groups and direct rooms are joined by invitation only: to others they do not exist.
  if (!room || (room.kind !== 'channel' && room.kind !== 'general'))
    throw new ChatError('CHAT_ERR_NOT_FOUND');
  const already = await summary(db, deps.vault, actor.userId, roomId);
  if (already) return { room: already, notices: [] };
  accessOpen({ closedAt: room.closed_at });
  if (room.password_hash !== null) {
    const retryAfter = await limiter.consume('roomPassword', `${actor.userId}:${roomId}`);
    if (retryAfter !== null)
      throw new ChatError('CHAT_ERR_RATE_LIMITED', 'Too many password attempts.', {
        retryAfter,
      });
    const right =
      password !== undefined && (await deps.passwords.verify(room.password_hash, password));
    if (!right) throw new ChatError('CHAT_ERR_ROOM_PASSWORD');
  }
  const notices = await db.transaction().execute(async (trx) => {
    await lockRows(trx, deps.dialect, 'rooms', [roomId]);
    if (await isMember(trx, roomId, actor.userId)) return [];
    await checkCapacity(trx, roomId, [actor.userId], deps.dialect);
    await addMember(trx, now, roomId, actor.userId, 'member');
    return [await notify(trx, deps, roomId, actor, { type: 'join', user: actor.userId })];
  });
  return { room: await summary(db, deps.vault, actor.userId, roomId), notices };
}
