/**
 * A user's devices changed: one signed in for the first time, or one was revoked (by the
 * user, by signing out, or to make room past the device limit). Every room they are in gets a
 * `devices` notice, so members' clients add or remove that device in the room's MLS group
 * (docs/decisions/0009-server-metadata.md); a new device is also a pending add there (that
 * device only), so its key packages can be claimed for those rooms, by the others and by the
 * user's own devices. Written in the caller's transaction.
 */
import type { DeviceId, UserId } from '@securechat/protocol';
import type { Transaction } from 'kysely';
import type { Database } from '../../storage/types.js';
import { markPendingAdd, memberIds } from '../membership.js';
import type { Vault } from '../vault.js';
import { appendNotice, type Accepted, type Sender } from './events.js';

export async function devicesChanged(
  trx: Transaction<Database>,
  vault: Vault,
  at: number,
  actor: Sender,
  userId: UserId,
  device: DeviceId,
  change: 'added' | 'revoked',
): Promise<Accepted[]> {
  const rooms = await trx
    .selectFrom('room_members')
    .select('room_id')
    .where('user_id', '=', userId)
    .orderBy('room_id')
    .execute();
  const notices: Accepted[] = [];
  for (const { room_id: room } of rooms) {
    // The room's row first (the notice takes its next seq), as every transaction that also
    // marks or ends a pending add does: PostgreSQL deadlocked a sign-in against a commit when
    // the two took them in opposite orders.
    const event = await appendNotice(trx, vault, at, room, actor, {
      type: 'devices',
      user: userId,
      device,
      change,
    });
    // A new device is a pending add in each of its user's rooms: members may claim its key
    // packages and send it a welcome (domain/mls.ts), within the usual quotas.
    if (change === 'added') await markPendingAdd(trx, at, room, userId, device);
    notices.push({ event, duplicate: false, recipients: await memberIds(trx, room) });
  }
  return notices;
}
