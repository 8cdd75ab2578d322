/**
 * Reading rooms: the summaries of a user's rooms, the channel directory, member lists, the
 * people picker and whom a user's presence concerns.
 */
import {
  canonicalUsername,
  GENERAL_ROOM_ID,
  Limits,
  type DirectoryEntry,
  type RoomSummary,
  type UserRef,
} from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/types.js';
import { accessRoom } from '../access.js';
import { epochOf, roomIdOf, seqOf } from '../ids.js';
import { byUsername, openUserRefs, openUsernames } from '../people.js';
import { openNullable, type Vault } from '../vault.js';

/** SQL's order of text (byte order), for what is sorted in memory once opened. */
const textOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export async function summaries(
  db: Kysely<Database>,
  vault: Vault,
  userId: string,
  roomIds?: string[],
): Promise<RoomSummary[]> {
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
      'r.direct_key',
      'r.last_seq',
      'r.epoch',
      'r.closed_at',
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
  const sealed = await query.execute();
  const rows = await Promise.all(
    sealed.map(async (r) => ({
      ...r,
      name: await openNullable(vault, 'room-name', r.name),
      topic: await openNullable(vault, 'room-topic', r.topic),
    })),
  );
  rows.sort((a, b) => textOrder(a.kind, b.kind) || textOrder(a.name ?? '', b.name ?? ''));
  // A direct room's other person, from the pair its key names (even after they left it).
  const peerOf = new Map<string, string>();
  for (const r of rows) {
    const other = r.direct_key?.split(':').find((id) => id !== userId);
    if (r.kind === 'direct' && other) peerOf.set(r.id, other);
  }
  const peers = new Map<string, UserRef>();
  if (peerOf.size > 0) {
    const users = await db
      .selectFrom('users')
      .select(['id', 'username'])
      .where('id', 'in', [...new Set(peerOf.values())])
      .execute();
    const byId = new Map((await openUserRefs(vault, users)).map((u) => [u.id as string, u]));
    for (const [room, id] of peerOf) {
      const peer = byId.get(id);
      if (peer) peers.set(room, peer);
    }
  }
  return rows.flatMap((r): RoomSummary[] => {
    const base = {
      id: roomIdOf(r.id),
      visibility: r.visibility,
      role: r.role,
      muted: Number(r.muted) === 1,
      lastSeq: seqOf(r.last_seq),
      epoch: epochOf(r.epoch),
      memberCount: Number(r.member_count ?? 0),
      closedAt: r.closed_at,
    };
    switch (r.kind) {
      case 'general':
      case 'channel':
        return [
          {
            ...base,
            kind: r.kind,
            name: r.name ?? '',
            topic: r.topic,
            protected: r.password_hash !== null,
          },
        ];
      // A group's and a direct room's name and topic are end-to-end content (decision 0009).
      case 'group':
        return [{ ...base, kind: 'group', name: null, topic: null, protected: false }];
      case 'direct': {
        const peer = peers.get(r.id);
        if (!peer) return []; // no such pair: not a room anyone can be shown
        return [{ ...base, kind: 'direct', name: null, topic: null, protected: false, peer }];
      }
    }
  });
}

export async function summary(
  db: Kysely<Database>,
  vault: Vault,
  userId: string,
  roomId: string,
): Promise<RoomSummary | null> {
  return (await summaries(db, vault, userId, [roomId]))[0] ?? null;
}

/**
 * Public channels, by name (a substring match), with whether the user is in each. Names are
 * sealed: every channel is read and opened, then matched and ordered here.
 */
export async function directory(
  db: Kysely<Database>,
  vault: Vault,
  userId: string,
  query: string | undefined,
  limit: number,
): Promise<DirectoryEntry[]> {
  const q = db
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
  const opened = await Promise.all(
    (await q.execute()).map(async (r) => ({
      ...r,
      name: (await openNullable(vault, 'room-name', r.name)) ?? '',
      topic: await openNullable(vault, 'room-topic', r.topic),
    })),
  );
  const rows = opened
    .filter((r) => !text || r.name.includes(text))
    .sort((a, b) => textOrder(a.name, b.name))
    .slice(0, Math.min(limit, Limits.DIRECTORY_PAGE_MAX));
  return rows.map((r): DirectoryEntry => ({
    id: roomIdOf(r.id),
    name: r.name,
    topic: r.topic,
    protected: r.password_hash !== null,
    memberCount: Number(r.member_count ?? 0),
    joined: Boolean(Number(r.joined)),
  }));
}

/** A room's members (the first page of a big room) and how many there are. */
export async function members(db: Kysely<Database>, vault: Vault, userId: string, roomId: string) {
  await accessRoom(db, roomId, userId);
  // Usernames are sealed: the members are opened and ordered here (owners, moderators, the rest).
  const rank = { owner: 0, moderator: 1, member: 2 } as const;
  const all = await db
    .selectFrom('room_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.id', 'u.username', 'm.role'])
    .where('m.room_id', '=', roomId)
    .execute();
  const rows = (await openUsernames(vault, all))
    .sort((a, b) => rank[a.role] - rank[b.role] || byUsername(a, b))
    .slice(0, Limits.MEMBER_PAGE_MAX);
  const { n } = await db
    .selectFrom('room_members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('room_id', '=', roomId)
    .executeTakeFirstOrThrow();
  return { members: rows, total: Number(n) };
}

/**
 * The people picker: active accounts whose username starts with this. Usernames are sealed:
 * the active accounts are opened (a cache keeps that cheap) and matched here.
 */
export async function findUsers(
  db: Kysely<Database>,
  vault: Vault,
  userId: string,
  query: string,
): Promise<UserRef[]> {
  const prefix = canonicalUsername(query);
  if (prefix.length === 0) return [];
  const rows = await db
    .selectFrom('users')
    .select(['id', 'username'])
    .where('suspended_at', 'is', null)
    .where('id', '!=', userId)
    .execute();
  const found = await openUserRefs(vault, rows);
  return found.filter((u) => u.username.startsWith(prefix)).slice(0, 20);
}

/**
 * Whom a user's presence matters to: the people they share a room with, except #general
 * (everyone): its online list is asked for, not pushed.
 */
export async function presenceAudience(db: Kysely<Database>, userId: string): Promise<string[]> {
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
}
