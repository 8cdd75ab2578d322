/**
 * Every authorization decision, in one place: accounts (signed in, administrator, own
 * device, invitations) and rooms (membership, whether the room is open for writing, role
 * rank, message ownership). Each access* function either returns what the caller may act on
 * or throws; a thing the caller may not see is answered exactly like a thing that does not
 * exist (CHAT_ERR_NOT_FOUND), so ids can't be probed. Routes reach these through
 * `requireUser` / `requireAdmin`, the realtime handlers through the domain actions; nothing
 * else decides who may do what.
 *
 * The administrator role is read from the database when a decision needs it
 * (`isAdministrator`), never from what a long-lived connection captured when it opened: a
 * demoted administrator loses the powers on every open socket at once.
 */
import { ChatError, type RoomRole } from '@securechat/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { Database, DevicesTable, InvitesTable, RoomsTable } from '../storage/types.js';
import type { AuthContext } from './context.js';

/** A signed-in session, or CHAT_ERR_UNAUTHENTICATED. */
export function accessSignedIn(auth: AuthContext | null | undefined): AuthContext {
  if (!auth) throw new ChatError('CHAT_ERR_UNAUTHENTICATED');
  return auth;
}

/** A signed-in administrator: CHAT_ERR_UNAUTHENTICATED anonymous, CHAT_ERR_FORBIDDEN otherwise. */
export function accessAdmin(auth: AuthContext | null | undefined): AuthContext {
  const signedIn = accessSignedIn(auth);
  if (signedIn.user.role !== 'admin') throw new ChatError('CHAT_ERR_FORBIDDEN');
  return signedIn;
}

/** One of the caller's own, not revoked devices. Anyone else's is "not found". */
export async function accessOwnDevice(
  db: Kysely<Database>,
  auth: AuthContext,
  deviceId: string,
): Promise<Selectable<DevicesTable>> {
  const device = await db
    .selectFrom('devices')
    .selectAll()
    .where('id', '=', deviceId)
    .where('user_id', '=', auth.user.id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!device) throw new ChatError('CHAT_ERR_NOT_FOUND');
  return device;
}

/** An invitation, for an administrator only. */
export async function accessInvite(
  db: Kysely<Database>,
  auth: AuthContext,
  inviteId: string,
): Promise<Selectable<InvitesTable>> {
  accessAdmin(auth);
  const invite = await db
    .selectFrom('invites')
    .selectAll()
    .where('id', '=', inviteId)
    .executeTakeFirst();
  if (!invite) throw new ChatError('CHAT_ERR_NOT_FOUND');
  return invite;
}

// Rooms.

/** A user's membership of a room, as access decisions need it. */
export interface Membership {
  roomId: string;
  kind: RoomsTable['kind'];
  /** The channel name as stored: sealed (vault purpose `room-name`). */
  name: string | null;
  visibility: 'joined' | 'shared';
  role: RoomRole;
  joinedSeq: number;
  lastSeq: number;
  epoch: number;
  directKey: string | null;
  membersVersion: number;
  /** Added to the room and not yet seen writing in it: the MLS group may not have them yet. */
  pending: boolean;
  /** When only one new device of theirs is pending (not the whole member): its id. */
  pendingDevice: string | null;
  /** When an administrator closed the room (a read-only archive), null while open. */
  closedAt: number | null;
}

const RANK: Record<RoomRole, number> = { member: 1, moderator: 2, owner: 3 };
export const rank = (role: RoomRole): number => RANK[role];

/**
 * This user's membership of this room, or CHAT_ERR_NOT_FOUND: the one rule of rooms is
 * members only, and to anyone else a room does not exist.
 */
export async function accessRoom(
  db: Kysely<Database>,
  roomId: string,
  userId: string,
): Promise<Membership> {
  const member = await membershipOf(db, roomId, userId);
  if (!member) throw new ChatError('CHAT_ERR_NOT_FOUND');
  return member;
}

/**
 * Refuse to write in a closed room: CHAT_ERR_ROOM_CLOSED. A closed room is a read-only
 * archive. Its members keep reading it; what keeps their MLS groups consistent (commits,
 * claims, new devices) and what lets people go (leave, removal, ownership handed on so the
 * owner can leave) goes on; deleting a message goes on too, so people can still erase what
 * they wrote. Everything that adds to it — messages, edits, reactions, joins, invitations,
 * settings — is refused here, the one place that decides it.
 */
export function accessOpen(room: { closedAt: number | null }): void {
  if (room.closedAt !== null) throw new ChatError('CHAT_ERR_ROOM_CLOSED');
}

/** `accessRoom`, for a write that adds to the room: also CHAT_ERR_ROOM_CLOSED when closed. */
export async function accessOpenRoom(
  db: Kysely<Database>,
  roomId: string,
  userId: string,
): Promise<Membership> {
  const member = await accessRoom(db, roomId, userId);
  accessOpen(member);
  return member;
}

/** This user's membership of this room, or null. */
async function membershipOf(
  db: Kysely<Database>,
  roomId: string,
  userId: string,
): Promise<Membership | null> {
  return (await membershipsOf(db, [roomId], userId)).get(roomId) ?? null;
}

/**
 * The same rule for requests that name many rooms (resume), in one query: the rooms that are
 * this user's. A room missing from the map is not theirs — left, removed from, deleted or
 * never theirs, alike.
 */
export async function membershipsOf(
  db: Kysely<Database>,
  roomIds: readonly string[],
  userId: string,
): Promise<Map<string, Membership>> {
  const found = new Map<string, Membership>();
  if (roomIds.length === 0) return found;
  const rows = await db
    .selectFrom('room_members')
    .innerJoin('rooms', 'rooms.id', 'room_members.room_id')
    .leftJoin('pending_adds', (join) =>
      join
        .onRef('pending_adds.room_id', '=', 'room_members.room_id')
        .onRef('pending_adds.user_id', '=', 'room_members.user_id'),
    )
    .select([
      'rooms.id',
      'rooms.kind',
      'rooms.name',
      'rooms.visibility',
      'rooms.last_seq',
      'rooms.epoch',
      'rooms.direct_key',
      'rooms.members_version',
      'rooms.closed_at',
      'room_members.role',
      'room_members.joined_seq',
      'pending_adds.user_id as pending_user',
      'pending_adds.device_id as pending_device',
    ])
    .where('room_members.room_id', 'in', [...new Set(roomIds)])
    .where('room_members.user_id', '=', userId)
    .execute();
  for (const row of rows)
    found.set(row.id, {
      roomId: row.id,
      kind: row.kind,
      name: row.name,
      visibility: row.visibility,
      role: row.role,
      joinedSeq: Number(row.joined_seq),
      lastSeq: Number(row.last_seq),
      epoch: Number(row.epoch),
      directKey: row.direct_key,
      membersVersion: Number(row.members_version),
      pending: row.pending_user !== null,
      pendingDevice: row.pending_device,
      closedAt: row.closed_at,
    });
  return found;
}

/** The first seq this member may read: with `joined` visibility, what came after they joined. */
export const readableAfter = (m: Membership): number =>
  m.visibility === 'joined' ? m.joinedSeq : 0;

/** Whether this user is a server administrator now: read fresh on every decision. */
export async function isAdministrator(db: Kysely<Database>, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('users')
    .select('role')
    .where('id', '=', userId)
    .where('suspended_at', 'is', null)
    .executeTakeFirst();
  return row?.role === 'admin';
}

/** This member's role is at least `role` (or they are exempt), else CHAT_ERR_FORBIDDEN. */
export function accessRank(member: Membership, role: RoomRole, exempt = false): void {
  if (exempt) return;
  if (rank(member.role) < rank(role))
    throw new ChatError(
      'CHAT_ERR_FORBIDDEN',
      role === 'owner' ? 'Only the owner may do that.' : 'Only moderators may do that.',
    );
}

/**
 * Who may claim key packages of these users for a room: in a group, its moderators and owner
 * (they add people) and any member naming only themselves (adding a new device of their own);
 * in other rooms any member. CHAT_ERR_FORBIDDEN otherwise.
 */
export function accessClaim(member: Membership, claimer: string, userIds: readonly string[]): void {
  if (member.kind !== 'group') return;
  accessRank(
    member,
    'moderator',
    userIds.every((id) => id === claimer),
  );
}

/**
 * A message this member may act on: one they can read, not deleted. `react`: any reader;
 * `edit`: its sender only; `delete`: its sender, the room's moderators and owner, and server
 * administrators (read fresh). A message they can't read is CHAT_ERR_NOT_FOUND.
 */
export async function accessMessage(
  db: Kysely<Database>,
  userId: string,
  member: Membership,
  seq: number,
  action: 'react' | 'edit' | 'delete',
): Promise<void> {
  const target = await db
    .selectFrom('events')
    .select(['kind', 'sender_id', 'deleted_at'])
    .where('room_id', '=', member.roomId)
    .where('seq', '=', seq)
    .where('seq', '>', readableAfter(member))
    .executeTakeFirst();
  if (!target || target.kind !== 'message' || target.deleted_at !== null)
    throw new ChatError('CHAT_ERR_NOT_FOUND', 'There is no such message.');
  if (action === 'react' || target.sender_id === userId) return;
  if (action === 'edit')
    throw new ChatError('CHAT_ERR_FORBIDDEN', 'Only its sender may edit a message.');
  if (rank(member.role) >= rank('moderator') || (await isAdministrator(db, userId))) return;
  throw new ChatError('CHAT_ERR_FORBIDDEN', 'Only its sender or a moderator may delete this.');
}
