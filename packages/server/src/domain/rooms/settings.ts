/**
 * A room's settings (a channel's name, topic and password; any room's visibility) and a
 * member's own mute flag.
 */
import { ChatError, type Notice, type RoomSummary, type Visibility } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/types.js';
import type { Sender } from '../delivery/events.js';
import { accessOpen, accessRank, accessRoom, isAdministrator, type Membership } from '../access.js';
import {
  channelNameFree,
  CHANNEL_NAME,
  notify,
  unlessTaken,
  type Changed,
  type RoomsDeps,
} from './kit.js';
import { sealNullable } from '../vault.js';
import { summary } from './summaries.js';

export interface SettingsInput {
  name?: string | undefined;
  topic?: string | null | undefined;
  visibility?: Visibility | undefined;
  password?: string | null | undefined;
}

/**
 * Whether this member may make these changes: CHAT_ERR_ROOM_CLOSED / _FORBIDDEN / _VALIDATION
 * if not.
 */
async function mayChange(
  db: Kysely<Database>,
  member: Membership,
  actor: Sender,
  input: SettingsInput,
): Promise<void> {
  accessOpen(member);
  if (member.kind === 'direct')
    throw new ChatError('CHAT_ERR_FORBIDDEN', 'Direct rooms have no settings.');
  if (member.kind === 'general') {
    accessRank(member, 'owner', await isAdministrator(db, actor.userId));
    if (input.name !== undefined || input.password !== undefined)
      throw new ChatError('CHAT_ERR_FORBIDDEN', '#general keeps its name and is open.');
  } else {
    accessRank(member, 'moderator');
  }
  if (input.password !== undefined && member.kind !== 'channel')
    throw new ChatError('CHAT_ERR_VALIDATION', 'Only channels can have a password.');
  // A group's name and topic are end-to-end content (decision 0009): never the server's.
  if (member.kind === 'group' && (input.name !== undefined || input.topic !== undefined))
    throw new ChatError(
      'CHAT_ERR_VALIDATION',
      'A group’s name and topic are kept by its members, not the server.',
      { field: input.name !== undefined ? 'name' : 'topic' },
    );
}

export async function settings(
  deps: RoomsDeps,
  actor: Sender,
  roomId: string,
  input: SettingsInput,
): Promise<Changed> {
  const { db } = deps;
  let passwordHash: string | null = null;
  if (typeof input.password === 'string') {
    // Only someone who may change this room's password gets a hash computed.
    await mayChange(db, await accessRoom(db, roomId, actor.userId), actor, input);
    passwordHash = await deps.passwords.hash(input.password);
  }
  const write = () =>
    db.transaction().execute(async (trx) => {
      const member = await accessRoom(trx, roomId, actor.userId);
      await mayChange(trx, member, actor, input);
      const changes: {
        name?: string;
        name_index?: string;
        topic?: string | null;
        visibility?: Visibility;
        password_hash?: string | null;
      } = {};
      const notice: Extract<Notice, { type: 'settings' }> = { type: 'settings' };
      if (input.name !== undefined) {
        // Only a channel's name gets here (mayChange): it is public and unique.
        const name = input.name.toLowerCase();
        if (!CHANNEL_NAME.test(name))
          throw new ChatError('CHAT_ERR_VALIDATION', 'Channel names use a–z, 0–9, - and _.', {
            field: 'name',
          });
        await channelNameFree(trx, deps.vault, name, roomId);
        notice.name = name;
        changes.name = await deps.vault.seal('room-name', name);
        changes.name_index = deps.vault.index('room-name', name);
      }
      if (input.topic !== undefined) {
        notice.topic = input.topic?.trim() || null;
        changes.topic = await sealNullable(deps.vault, 'room-topic', notice.topic);
      }
      if (input.visibility !== undefined) changes.visibility = notice.visibility = input.visibility;
      if (input.password !== undefined) {
        changes.password_hash = passwordHash;
        notice.protected = passwordHash !== null;
      }
      if (Object.keys(changes).length === 0) return [];
      await trx.updateTable('rooms').set(changes).where('id', '=', roomId).execute();
      return [await notify(trx, deps, roomId, actor, notice)];
    });
  // A rename racing another channel's: the unique index lets one through.
  const notices = await unlessTaken(write, () => new ChatError('CHAT_ERR_ROOM_NAME_TAKEN'));
  return { room: await summary(db, deps.vault, actor.userId, roomId), notices };
}

export async function mute(
  deps: RoomsDeps,
  userId: string,
  roomId: string,
  on: boolean,
): Promise<RoomSummary | null> {
  const { db } = deps;
  await accessRoom(db, roomId, userId);
  await db
    .updateTable('room_members')
    .set({ muted: on ? 1 : 0 })
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .execute();
  return summary(db, deps.vault, userId, roomId);
}
