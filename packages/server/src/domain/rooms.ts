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
 *
 * The pieces live in rooms/: kit (shared steps), summaries (reading), channels (create,
 * join), direct, membership-actions (leave, invite, kick, role, transfer), settings (and
 * mute), blocks. This facade wires them to one set of dependencies.
 */
import type { RoomSummary, UserId, UserRef } from '@securechat/protocol';
import type { Sender } from './delivery/events.js';
import { block, blocked } from './rooms/blocks.js';
import { create, join, type CreateInput } from './rooms/channels.js';
import { direct } from './rooms/direct.js';
import type { Changed, RoomsDeps } from './rooms/kit.js';
import { invite, kick, leave, setRole, transfer } from './rooms/membership-actions.js';
import { createRoomPasswords } from './rooms/passwords.js';
import { mute, settings, type SettingsInput } from './rooms/settings.js';
import {
  directory,
  findUsers,
  members,
  presenceAudience,
  summaries,
  summary,
} from './rooms/summaries.js';

export type { Changed } from './rooms/kit.js';

export function createRooms(options: Omit<RoomsDeps, 'passwords'> & Partial<RoomsDeps>) {
  const deps: RoomsDeps = { ...options, passwords: options.passwords ?? createRoomPasswords() };
  const { db, now, vault } = deps;
  return {
    /** The process's cap on room-password hashing (running and waiting work). */
    passwordWork: deps.passwords.work,
    list: (userId: string) => summaries(db, vault, userId),
    summary: (userId: string, roomId: string) => summary(db, vault, userId, roomId),
    directory: (userId: string, query: string | undefined, limit: number) =>
      directory(db, vault, userId, query, limit),
    create: (actor: Sender, input: CreateInput): Promise<Changed> => create(deps, actor, input),
    direct: (actor: Sender, username: string): Promise<Changed> => direct(deps, actor, username),
    join: (actor: Sender, roomId: string, password: string | undefined): Promise<Changed> =>
      join(deps, actor, roomId, password),
    leave: (actor: Sender, roomId: string): Promise<Changed> => leave(deps, actor, roomId),
    invite: (actor: Sender, roomId: string, username: string): Promise<Changed> =>
      invite(deps, actor, roomId, username),
    kick: (actor: Sender, roomId: string, userId: UserId): Promise<Changed> =>
      kick(deps, actor, roomId, userId),
    setRole: (actor: Sender, roomId: string, userId: UserId, role: 'moderator' | 'member') =>
      setRole(deps, actor, roomId, userId, role),
    transfer: (actor: Sender, roomId: string, userId: UserId): Promise<Changed> =>
      transfer(deps, actor, roomId, userId),
    settings: (actor: Sender, roomId: string, input: SettingsInput): Promise<Changed> =>
      settings(deps, actor, roomId, input),
    members: (userId: string, roomId: string) => members(db, vault, userId, roomId),
    findUsers: (userId: string, query: string): Promise<UserRef[]> =>
      findUsers(db, vault, userId, query),
    block: (userId: string, username: string, on: boolean) =>
      block(db, vault, now, userId, username, on),
    blocked: (userId: string) => blocked(db, vault, userId),
    mute: (userId: string, roomId: string, on: boolean): Promise<RoomSummary | null> =>
      mute(deps, userId, roomId, on),
    presenceAudience: (userId: string) => presenceAudience(db, userId),
  };
}

export type Rooms = ReturnType<typeof createRooms>;
