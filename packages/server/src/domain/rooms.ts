/**
 * Rooms: #general (everyone), public channels (listed, found by name, joined freely or with
 * a password when protected), private groups (by invitation; owner, moderators, members),
 * and direct rooms (one per pair). Every change of membership or settings is also a room
 * event — a `notice` — so members see it in order with the conversation, and clients learn
 * of rooms they were added to.
 *
 * Roles: the owner may do everything, including naming moderators and handing ownership on;
 * moderators invite, remove members below them and change settings; members talk. Server
 * admins moderate #general.
 */
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import {
  canonicalUsername,
  ChatError,
  Limits,
  type DirectoryEntry,
  type Notice,
  type RoomRole,
  type RoomSummary,
  type UserRef,
  type Visibility,
} from '@securechat/protocol';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { RealtimeLimiter } from '../events/limits.js';
import type { Database } from '../storage/types.js';
import { newId } from './crypto.js';
import { appendNotice, GENERAL_ROOM_ID, type Accepted, type Sender } from './delivery.js';
import {
  accessRoom,
  blockedBetween,
  directKey,
  isMember,
  memberIds,
  membersChanged,
  rank,
  type Membership,
} from './membership.js';

export interface RoomsDeps {
  db: Kysely<Database>;
  now: () => number;
  limiter: RealtimeLimiter;
}

/** What a change returns: the room as the actor now sees it, and the notices to fan out. */
export interface Changed {
  room: RoomSummary | null;
  notices: Accepted[];
}

export interface CreateInput {
  kind: 'channel' | 'group';
  name: string;
  topic?: string | undefined;
  visibility?: Visibility | undefined;
  password?: string | undefined;
}

export interface SettingsInput {
  name?: string | undefined;
  topic?: string | null | undefined;
  visibility?: Visibility | undefined;
  password?: string | null | undefined;
}

/** argon2id, OWASP's second recommended profile (19 MiB, 2 passes). */
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

export function createRooms(deps: RoomsDeps) {
  const { db, now, limiter } = deps;

  async function summaries(userId: string, roomIds?: string[]): Promise<RoomSummary[]> {
    let query = db
      .selectFrom('room_members as m')
      .innerJoin('rooms as r', 'r.id', 'm.room_id')
      .select((eb) => [
        'r.id',
        'r.kind',
        'r.name',
        'r.topic',
        'r.visibility',
        'r.password_hash',
        'r.last_seq',
        'r.epoch',
        'm.role',
        'm.muted',
        eb
          .selectFrom('room_members as c')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('c.room_id', '=', 'r.id')
          .as('member_count'),
      ])
      .where('m.user_id', '=', userId);
    if (roomIds) {
      if (roomIds.length === 0) return [];
      query = query.where('r.id', 'in', roomIds);
    }
    const rows = await query.orderBy('r.kind').orderBy('r.name').execute();
    const direct = rows.filter((r) => r.kind === 'direct').map((r) => r.id);
    const peers = new Map<string, UserRef>();
    if (direct.length > 0) {
      const peerRows = await db
        .selectFrom('room_members as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.room_id', 'u.id', 'u.username'])
        .where('m.room_id', 'in', direct)
        .where('m.user_id', '!=', userId)
        .execute();
      for (const p of peerRows) peers.set(p.room_id, { id: p.id, username: p.username });
    }
    return rows.map((r) => {
      const summary: RoomSummary = {
        id: r.id,
        kind: r.kind,
        name: r.name,
        topic: r.topic,
        visibility: r.visibility,
        protected: r.password_hash !== null,
        role: r.role,
        muted: Number(r.muted) === 1,
        lastSeq: Number(r.last_seq),
        epoch: Number(r.epoch),
        memberCount: Number(r.member_count ?? 0),
      };
      const peer = peers.get(r.id);
      if (peer) summary.peer = peer;
      return summary;
    });
  }

  async function summary(userId: string, roomId: string): Promise<RoomSummary | null> {
    return (await summaries(userId, [roomId]))[0] ?? null;
  }

  async function userByName(trx: Kysely<Database>, username: string): Promise<UserRef> {
    const row = await trx
      .selectFrom('users')
      .select(['id', 'username'])
      .where('username', '=', canonicalUsername(username))
      .where('suspended_at', 'is', null)
      .executeTakeFirst();
    if (!row) throw new ChatError('CHAT_ERR_NOT_FOUND', 'There is no one with that username.');
    return row;
  }

  /** Room and account capacity, checked before a member is added. */
  async function checkCapacity(trx: Kysely<Database>, roomId: string, userId: string) {
    const [{ members }, { rooms }] = await Promise.all([
      trx
        .selectFrom('room_members')
        .select((eb) => eb.fn.countAll<number>().as('members'))
        .where('room_id', '=', roomId)
        .executeTakeFirstOrThrow(),
      trx
        .selectFrom('room_members')
        .select((eb) => eb.fn.countAll<number>().as('rooms'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow(),
    ]);
    if (Number(members) >= Limits.MEMBERS_PER_ROOM_MAX) throw new ChatError('CHAT_ERR_ROOM_FULL');
    if (Number(rooms) >= Limits.ROOMS_PER_USER_MAX) throw new ChatError('CHAT_ERR_TOO_MANY_ROOMS');
  }

  async function addMember(
    trx: Transaction<Database>,
    roomId: string,
    userId: string,
    role: RoomRole,
  ): Promise<void> {
    const { last_seq } = await trx
      .selectFrom('rooms')
      .select('last_seq')
      .where('id', '=', roomId)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('room_members')
      .values({
        room_id: roomId,
        user_id: userId,
        role,
        joined_at: now(),
        joined_seq: Number(last_seq),
      })
      .execute();
    await membersChanged(trx, roomId);
  }

  async function channelNameFree(trx: Kysely<Database>, name: string, except?: string) {
    let query = trx
      .selectFrom('rooms')
      .select('id')
      .where('kind', '=', 'channel')
      .where('name', '=', name);
    if (except) query = query.where('id', '!=', except);
    if (await query.executeTakeFirst()) throw new ChatError('CHAT_ERR_ROOM_NAME_TAKEN');
  }

  function requireRank(member: Membership, role: RoomRole, admin = false): void {
    if (admin) return;
    if (rank(member.role) < rank(role))
      throw new ChatError(
        'CHAT_ERR_FORBIDDEN',
        role === 'owner' ? 'Only the owner may do that.' : 'Only moderators may do that.',
      );
  }

  /** Group and channel management only: #general and direct rooms have fixed members. */
  function requireManaged(member: Membership): void {
    if (member.kind === 'general' || member.kind === 'direct')
      throw new ChatError('CHAT_ERR_FORBIDDEN', 'This room’s members cannot be changed.');
  }

  async function notify(
    trx: Transaction<Database>,
    room: string,
    actor: Sender,
    notice: Notice,
    extra: string[] = [],
  ): Promise<Accepted> {
    // Name whom it is about, so every reader can show it (even after they have left).
    if (notice.user !== undefined && notice.username === undefined) {
      const named = await trx
        .selectFrom('users')
        .select('username')
        .where('id', '=', notice.user)
        .executeTakeFirst();
      if (named) notice = { ...notice, username: named.username };
    }
    const event = await appendNotice(trx, now(), room, actor, notice);
    const recipients = await memberIds(trx, room);
    for (const id of extra) if (!recipients.includes(id)) recipients.push(id);
    return { event, duplicate: false, recipients };
  }

  return {
    list: (userId: string) => summaries(userId),
    summary,

    /** Public channels, by name (a substring match), with whether the user is in each. */
    async directory(userId: string, query: string | undefined, limit: number) {
      let q = db
        .selectFrom('rooms as r')
        .select((eb) => [
          'r.id',
          'r.name',
          'r.topic',
          'r.password_hash',
          eb
            .selectFrom('room_members as c')
            .select(eb.fn.countAll<number>().as('n'))
            .whereRef('c.room_id', '=', 'r.id')
            .as('member_count'),
          eb
            .exists(
              eb
                .selectFrom('room_members as j')
                .select('j.user_id')
                .whereRef('j.room_id', '=', 'r.id')
                .where('j.user_id', '=', userId),
            )
            .as('joined'),
        ])
        .where('r.kind', '=', 'channel');
      const text = query?.trim().toLowerCase();
      if (text) q = q.where(sql<boolean>`r.name like ${'%' + escapeLike(text) + '%'} escape '\\'`);
      const rows = await q
        .orderBy('r.name')
        .limit(Math.min(limit, Limits.DIRECTORY_PAGE_MAX))
        .execute();
      return rows.map((r): DirectoryEntry => ({
        id: r.id,
        name: r.name ?? '',
        topic: r.topic,
        protected: r.password_hash !== null,
        memberCount: Number(r.member_count ?? 0),
        joined: Boolean(Number(r.joined)),
      }));
    },

    async create(actor: Sender, input: CreateInput): Promise<Changed> {
      const name = input.kind === 'channel' ? input.name.toLowerCase() : input.name.trim();
      if (input.kind === 'channel' && !CHANNEL_NAME.test(name))
        throw new ChatError('CHAT_ERR_VALIDATION', 'Channel names use a–z, 0–9, - and _.', {
          field: 'name',
        });
      if (name.length === 0)
        throw new ChatError('CHAT_ERR_VALIDATION', 'Give the room a name.', { field: 'name' });
      const passwordHash =
        input.kind === 'channel' && input.password !== undefined
          ? await argon2Hash(input.password, ARGON2)
          : null;
      const id = newId();
      const notices = await db.transaction().execute(async (trx) => {
        if (input.kind === 'channel') await channelNameFree(trx, name);
        await checkCapacity(trx, id, actor.userId);
        await trx
          .insertInto('rooms')
          .values({
            id,
            kind: input.kind,
            name,
            topic: input.topic?.trim() || null,
            visibility: input.visibility ?? 'shared',
            password_hash: passwordHash,
            direct_key: null,
            group_info: null,
            created_at: now(),
            last_seq: 0,
          })
          .execute();
        await addMember(trx, id, actor.userId, 'owner');
        return [
          await notify(trx, id, actor, {
            type: 'create',
            name,
            ...(passwordHash ? { protected: true } : {}),
          }),
        ];
      });
      return { room: await summary(actor.userId, id), notices };
    },

    /** The direct room with this person: the existing one, or a new one. One per pair. */
    async direct(actor: Sender, username: string): Promise<Changed> {
      const result = await db.transaction().execute(async (trx) => {
        const peer = await userByName(trx, username);
        if (peer.id === actor.userId)
          throw new ChatError('CHAT_ERR_VALIDATION', 'Start a conversation with someone else.');
        const blocks = await blockedBetween(trx, actor.userId, peer.id);
        if (blocks.bBlockedA || blocks.aBlockedB) throw new ChatError('CHAT_ERR_BLOCKED');
        const key = directKey(actor.userId, peer.id);
        const existing = await trx
          .selectFrom('rooms')
          .select('id')
          .where('direct_key', '=', key)
          .executeTakeFirst();
        const notices: Accepted[] = [];
        let id = existing?.id;
        if (!id) {
          id = newId();
          await checkCapacity(trx, id, actor.userId);
          await checkCapacity(trx, id, peer.id);
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
              group_info: null,
              created_at: now(),
              last_seq: 0,
            })
            .execute();
          await addMember(trx, id, actor.userId, 'member');
          await addMember(trx, id, peer.id, 'member');
          notices.push(await notify(trx, id, actor, { type: 'create' }));
        } else {
          // Someone who left comes back when the conversation is started again.
          const present = await memberIds(trx, id);
          for (const userId of [actor.userId, peer.id]) {
            if (present.includes(userId)) continue;
            await checkCapacity(trx, id, userId);
            await addMember(trx, id, userId, 'member');
            notices.push(
              await notify(trx, id, actor, {
                type: 'join',
                user: userId,
              }),
            );
          }
        }
        return { id, notices };
      });
      return { room: await summary(actor.userId, result.id), notices: result.notices };
    },

    /** Join a public channel (with its password when it is protected). */
    async join(actor: Sender, roomId: string, password: string | undefined): Promise<Changed> {
      const room = await db
        .selectFrom('rooms')
        .select(['kind', 'password_hash'])
        .where('id', '=', roomId)
        .executeTakeFirst();
      // Groups and direct rooms are joined by invitation only: to others they do not exist.
      if (!room || (room.kind !== 'channel' && room.kind !== 'general'))
        throw new ChatError('CHAT_ERR_NOT_FOUND');
      const already = await summary(actor.userId, roomId);
      if (already) return { room: already, notices: [] };
      if (room.password_hash !== null) {
        const retryAfter = await limiter.consume('roomPassword', `${actor.userId}:${roomId}`);
        if (retryAfter !== null)
          throw new ChatError('CHAT_ERR_RATE_LIMITED', 'Too many password attempts.', {
            retryAfter,
          });
        const right = password !== undefined && (await argon2Verify(room.password_hash, password));
        if (!right) throw new ChatError('CHAT_ERR_ROOM_PASSWORD');
      }
      const notices = await db.transaction().execute(async (trx) => {
        if (await isMember(trx, roomId, actor.userId)) return [];
        await checkCapacity(trx, roomId, actor.userId);
        await addMember(trx, roomId, actor.userId, 'member');
        return [await notify(trx, roomId, actor, { type: 'join', user: actor.userId })];
      });
      return { room: await summary(actor.userId, roomId), notices };
    },

    async leave(actor: Sender, roomId: string): Promise<Changed> {
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
          await notify(trx, roomId, actor, { type: 'leave', user: actor.userId }, [actor.userId]),
        ];
      });
      return { room: null, notices };
    },

    async invite(actor: Sender, roomId: string, username: string): Promise<Changed> {
      const notices = await db.transaction().execute(async (trx) => {
        const member = await accessRoom(trx, roomId, actor.userId);
        requireManaged(member);
        if (member.kind === 'group') requireRank(member, 'moderator');
        const invitee = await userByName(trx, username);
        if ((await blockedBetween(trx, invitee.id, actor.userId)).aBlockedB)
          throw new ChatError('CHAT_ERR_BLOCKED');
        if (await isMember(trx, roomId, invitee.id)) return [];
        await checkCapacity(trx, roomId, invitee.id);
        await addMember(trx, roomId, invitee.id, 'member');
        return [
          await notify(trx, roomId, actor, {
            type: 'invite',
            user: invitee.id,
            username: invitee.username,
          }),
        ];
      });
      return { room: await summary(actor.userId, roomId), notices };
    },

    async kick(actor: Sender, roomId: string, userId: string): Promise<Changed> {
      const notices = await db.transaction().execute(async (trx) => {
        const member = await accessRoom(trx, roomId, actor.userId);
        requireManaged(member);
        requireRank(member, 'moderator');
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
        return [await notify(trx, roomId, actor, { type: 'kick', user: userId }, [userId])];
      });
      return { room: await summary(actor.userId, roomId), notices };
    },

    async setRole(
      actor: Sender,
      roomId: string,
      userId: string,
      role: 'moderator' | 'member',
    ): Promise<Changed> {
      const notices = await db.transaction().execute(async (trx) => {
        const member = await accessRoom(trx, roomId, actor.userId);
        requireManaged(member);
        requireRank(member, 'owner');
        const updated = await trx
          .updateTable('room_members')
          .set({ role })
          .where('room_id', '=', roomId)
          .where('user_id', '=', userId)
          .where('role', '!=', 'owner')
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0)
          throw new ChatError('CHAT_ERR_NOT_FOUND', 'That person is not in this room.');
        return [await notify(trx, roomId, actor, { type: 'role', user: userId, role })];
      });
      return { room: await summary(actor.userId, roomId), notices };
    },

    async transfer(actor: Sender, roomId: string, userId: string): Promise<Changed> {
      const notices = await db.transaction().execute(async (trx) => {
        const member = await accessRoom(trx, roomId, actor.userId);
        requireManaged(member);
        requireRank(member, 'owner');
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
        return [await notify(trx, roomId, actor, { type: 'transfer', user: userId })];
      });
      return { room: await summary(actor.userId, roomId), notices };
    },

    async settings(actor: Sender, roomId: string, input: SettingsInput): Promise<Changed> {
      const passwordHash =
        typeof input.password === 'string' ? await argon2Hash(input.password, ARGON2) : null;
      const notices = await db.transaction().execute(async (trx) => {
        const member = await accessRoom(trx, roomId, actor.userId);
        if (member.kind === 'direct')
          throw new ChatError('CHAT_ERR_FORBIDDEN', 'Direct rooms have no settings.');
        if (member.kind === 'general') {
          requireRank(member, 'owner', actor.admin === true);
          if (input.name !== undefined || input.password !== undefined)
            throw new ChatError('CHAT_ERR_FORBIDDEN', '#general keeps its name and is open.');
        } else {
          requireRank(member, 'moderator');
        }
        const changes: {
          name?: string;
          topic?: string | null;
          visibility?: Visibility;
          password_hash?: string | null;
        } = {};
        const notice: Notice = { type: 'settings' };
        if (input.name !== undefined) {
          const name = member.kind === 'channel' ? input.name.toLowerCase() : input.name.trim();
          if (member.kind === 'channel') {
            if (!CHANNEL_NAME.test(name))
              throw new ChatError('CHAT_ERR_VALIDATION', 'Channel names use a–z, 0–9, - and _.', {
                field: 'name',
              });
            await channelNameFree(trx, name, roomId);
          }
          if (name.length === 0)
            throw new ChatError('CHAT_ERR_VALIDATION', 'Give the room a name.', { field: 'name' });
          changes.name = notice.name = name;
        }
        if (input.topic !== undefined) changes.topic = notice.topic = input.topic?.trim() || null;
        if (input.visibility !== undefined)
          changes.visibility = notice.visibility = input.visibility;
        if (input.password !== undefined) {
          if (member.kind !== 'channel')
            throw new ChatError('CHAT_ERR_VALIDATION', 'Only channels can have a password.');
          changes.password_hash = passwordHash;
          notice.protected = passwordHash !== null;
        }
        if (Object.keys(changes).length === 0) return [];
        await trx.updateTable('rooms').set(changes).where('id', '=', roomId).execute();
        return [await notify(trx, roomId, actor, notice)];
      });
      return { room: await summary(actor.userId, roomId), notices };
    },

    /** A room's members (the first page of a big room) and how many there are. */
    async members(userId: string, roomId: string) {
      await accessRoom(db, roomId, userId);
      const rows = await db
        .selectFrom('room_members as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['u.id', 'u.username', 'm.role'])
        .where('m.room_id', '=', roomId)
        .orderBy(sql`case m.role when 'owner' then 0 when 'moderator' then 1 else 2 end`)
        .orderBy('u.username')
        .limit(Limits.MEMBER_PAGE_MAX)
        .execute();
      const { n } = await db
        .selectFrom('room_members')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('room_id', '=', roomId)
        .executeTakeFirstOrThrow();
      return { members: rows, total: Number(n) };
    },

    /** The people picker: active accounts whose username starts with this. */
    async findUsers(userId: string, query: string): Promise<UserRef[]> {
      const prefix = escapeLike(canonicalUsername(query));
      if (prefix.length === 0) return [];
      return db
        .selectFrom('users')
        .select(['id', 'username'])
        .where(sql<boolean>`username like ${prefix + '%'} escape '\\'`)
        .where('suspended_at', 'is', null)
        .where('id', '!=', userId)
        .orderBy('username')
        .limit(20)
        .execute();
    },

    async block(userId: string, username: string, on: boolean): Promise<void> {
      const other = await userByName(db, username);
      if (other.id === userId)
        throw new ChatError('CHAT_ERR_VALIDATION', 'You cannot block yourself.');
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
    },

    async blocked(userId: string): Promise<UserRef[]> {
      return db
        .selectFrom('blocks as b')
        .innerJoin('users as u', 'u.id', 'b.blocked_id')
        .select(['u.id', 'u.username'])
        .where('b.user_id', '=', userId)
        .orderBy('u.username')
        .execute();
    },

    async mute(userId: string, roomId: string, on: boolean): Promise<RoomSummary | null> {
      await accessRoom(db, roomId, userId);
      await db
        .updateTable('room_members')
        .set({ muted: on ? 1 : 0 })
        .where('room_id', '=', roomId)
        .where('user_id', '=', userId)
        .execute();
      return summary(userId, roomId);
    },

    /**
     * Whom a user's presence matters to: the people they share a room with, except #general
     * (everyone): its online list is asked for, not pushed.
     */
    async presenceAudience(userId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('room_members as mine')
        .innerJoin('room_members as other', 'other.room_id', 'mine.room_id')
        .select('other.user_id')
        .distinct()
        .where('mine.user_id', '=', userId)
        .where('mine.room_id', '!=', GENERAL_ROOM_ID)
        .where('other.user_id', '!=', userId)
        .limit(Limits.MEMBERS_PER_ROOM_MAX)
        .execute();
      return rows.map((r) => r.user_id);
    },
  };
}

export type Rooms = ReturnType<typeof createRooms>;
