/** Who may do what in a room, as the server decides it (packages/server/src/domain/access.ts). */
import type { Member, RoomSummary } from '@securechat/sdk';
import { t } from '../../strings';

type Role = Member['role'];

const RANK: Record<Role, number> = { member: 1, moderator: 2, owner: 3 };

export const atLeast = (role: Role, wanted: Role): boolean => RANK[role] >= RANK[wanted];

/** Whether this user may change the room's settings (name, topic, history, password). */
export function maySetUp(room: RoomSummary, admin: boolean): boolean {
  switch (room.kind) {
    case 'direct':
      return false;
    case 'general':
      return room.role === 'owner' || admin;
    case 'channel':
    case 'group':
      return atLeast(room.role, 'moderator');
  }
}

/** Whether this user may invite people: groups and protected channels need a moderator. */
export function mayInvite(room: RoomSummary): boolean {
  if (room.kind === 'general' || room.kind === 'direct') return false;
  if (room.kind === 'group' || room.protected) return atLeast(room.role, 'moderator');
  return true;
}

/** Whether the room's members and roles can be changed at all (not #general, not a DM). */
export const managed = (room: RoomSummary): boolean =>
  room.kind === 'channel' || room.kind === 'group';

/** Whether this user may delete other people's messages: moderators, owners, administrators. */
export const mayModerate = (room: RoomSummary, admin: boolean): boolean =>
  admin || atLeast(room.role, 'moderator');

/** Who may join a channel: anyone, or those who know its password. */
export const ACCESS_OPTIONS = [
  { value: 'public', label: t.rooms.accessPublic, hint: t.rooms.accessPublicHint },
  { value: 'protected', label: t.rooms.accessProtected, hint: t.rooms.accessProtectedHint },
] as const;
