/**
 * Deleting an account, by an administrator. What goes: every session and device (each
 * device's `revoked` notice tells the rooms' other members to remove it from the groups),
 * every membership (a `leave` notice in each room; a room they owned passes to the next
 * member by rank and seniority; a room they were alone in is deleted with its history),
 * their identity key and its backup, their key packages, second factors, unused reset links
 * and blocks. What stays: the account's row, suspended and marked deleted, so the
 * name stays taken (nobody can pose as them) and their messages keep their sender; the
 * messages themselves stay in the conversations, readable by whoever could read them.
 */
import { ChatError } from '@securechat/protocol';
import type { Transaction } from 'kysely';
import type { Database } from '../storage/types.js';
import { accessAdmin } from './access.js';
import { audit } from './audit.js';
import { type AccountsDeps, type AuthContext, type RequestContext } from './context.js';
import { publishEvents, type Accepted, type Sender } from './delivery/events.js';
import { deviceIdOf, userIdOf } from './ids.js';
import { clearPendingAdd, membersChanged } from './membership.js';
import { notify } from './rooms/kit.js';
import { revokeAllDevices } from './sessions.js';
import { adminCount } from './setup.js';

const RANK = { owner: 0, moderator: 1, member: 2 } as const;

/** Take the user out of every room, handing on what they owned. */
async function leaveEveryRoom(
  trx: Transaction<Database>,
  { now, vault }: Pick<AccountsDeps, 'now' | 'vault'>,
  userId: string,
  actor: Sender,
): Promise<{ notices: Accepted[]; rooms: number; deletedRooms: number }> {
  const memberships = await trx
    .selectFrom('room_members as m')
    .innerJoin('rooms as r', 'r.id', 'm.room_id')
    .select(['m.room_id', 'm.role', 'r.kind'])
    .where('m.user_id', '=', userId)
    .execute();
  const notices: Accepted[] = [];
  let deletedRooms = 0;
  for (const { room_id: room, role, kind } of memberships) {
    const others = await trx
      .selectFrom('room_members')
      .select(['user_id', 'role', 'joined_at'])
      .where('room_id', '=', room)
      .where('user_id', '!=', userId)
      .execute();
    if (others.length === 0 && kind !== 'direct' && kind !== 'general') {
      await trx.deleteFrom('rooms').where('id', '=', room).execute();
      deletedRooms += 1;
      continue;
    }
    await trx
      .deleteFrom('room_members')
      .where('room_id', '=', room)
      .where('user_id', '=', userId)
      .execute();
    await membersChanged(trx, room);
    await clearPendingAdd(trx, room, userId);
    notices.push(
      await notify(trx, { now, vault }, room, actor, { type: 'leave', user: userIdOf(userId) }),
    );
    if (role === 'owner' && (kind === 'group' || kind === 'channel')) {
      const heir = [...others].sort(
        (a, b) => RANK[a.role] - RANK[b.role] || Number(a.joined_at) - Number(b.joined_at),
      )[0];
      if (heir) {
        await trx
          .updateTable('room_members')
          .set({ role: 'owner' })
          .where('room_id', '=', room)
          .where('user_id', '=', heir.user_id)
          .execute();
        notices.push(
          await notify(trx, { now, vault }, room, actor, {
            type: 'transfer',
            user: userIdOf(heir.user_id),
          }),
        );
      }
    }
  }
  return { notices, rooms: memberships.length, deletedRooms };
}

export function createAccountDeletion(deps: Pick<AccountsDeps, 'db' | 'now' | 'bus' | 'vault'>) {
  const { db, now, vault } = deps;
  return {
    /**
     * Delete an account (see the top of this file). Nobody deletes themselves here, nor the
     * last active administrator. Deleting an account already deleted is not found.
     */
    async deleteAccount(
      auth: AuthContext | null,
      userId: string,
      context: RequestContext | null,
    ): Promise<{ username: string; rooms: number; devices: number }> {
      if (auth) accessAdmin(auth);
      if (auth && userId === auth.user.id)
        throw new ChatError('CHAT_ERR_FORBIDDEN', 'You can’t delete your own account here.');
      const at = now();
      const outcome = await db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('users')
          .select(['id', 'username', 'role', 'suspended_at', 'deleted_at'])
          .where('id', '=', userId)
          .executeTakeFirst();
        if (!row || row.deleted_at !== null) throw new ChatError('CHAT_ERR_NOT_FOUND');
        if (row.role === 'admin' && row.suspended_at === null && (await adminCount(trx)) <= 1)
          throw new ChatError('CHAT_ERR_LAST_ADMIN', 'The last administrator can’t be deleted.');
        // The leave and transfer notices are the account's own doing, as if it left itself
        // (its devices are about to be revoked; the notice names the account, not a device).
        const actor: Sender = { userId: userIdOf(userId), deviceId: deviceIdOf(userId) };
        const left = await leaveEveryRoom(trx, { now, vault }, userId, actor);
        const revoked = await revokeAllDevices(trx, vault, userId, at);
        await trx
          .updateTable('users')
          .set({
            suspended_at: row.suspended_at ?? at,
            deleted_at: at,
            identity_key: null,
            identity_backup: null,
            identity_set_at: null,
          })
          .where('id', '=', userId)
          .execute();
        for (const table of [
          'key_packages',
          'login_attempts',
          'reset_links',
          'blocks',
          'delete_codes',
          'totp',
          'recovery_codes',
          'second_factor_tickets',
          'passkeys',
        ] as const)
          await trx.deleteFrom(table).where('user_id', '=', userId).execute();
        await trx.deleteFrom('blocks').where('blocked_id', '=', userId).execute();
        return {
          username: await vault.open('username', row.username),
          rooms: left.rooms,
          deletedRooms: left.deletedRooms,
          devices: revoked.devices,
          sessions: revoked.sessions,
          notices: [...revoked.notices, ...left.notices],
        };
      });
      if (deps.bus) publishEvents(deps.bus, outcome.notices);
      await audit(
        db,
        vault,
        at,
        'account.delete',
        { userId, ip: context?.ip ?? null },
        {
          by: auth?.user.id ?? 'cli',
          rooms: outcome.rooms,
          deletedRooms: outcome.deletedRooms,
          devices: outcome.devices,
          endedSessions: outcome.sessions,
        },
      );
      return { username: outcome.username, rooms: outcome.rooms, devices: outcome.devices };
    },
  };
}
