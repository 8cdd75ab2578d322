/**
 * What MLS (the next layer up) needs from the delivery service, all opaque to the server:
 *
 * - key packages: each device uploads batches; another member claims exactly one per target
 *   device, atomically (a package is handed out once), falling back to the device's
 *   last-resort package, which is never used up;
 * - per-device inboxes for messages addressed to one device (welcomes), kept until the
 *   device acknowledges them;
 * - the group-info blob of a room's current epoch (replaced by each accepted commit, in
 *   delivery.ts).
 *
 * Access is the rooms rule: only a member of the room may claim packages of its members,
 * write to their devices' inboxes or read its group info; to anyone else the room does not
 * exist.
 */
import { ChatError, Limits, type ClaimedKeyPackage, type InboxMessage } from '@securechat/protocol';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Dialect } from '../storage/dialect.js';
import type { Database, InboxTable } from '../storage/types.js';
import { newId } from './crypto.js';
import type { Sender } from './delivery.js';
import { accessRoom } from './access.js';

function toMessage(row: Selectable<InboxTable>): InboxMessage {
  return {
    id: row.id,
    room: row.room_id,
    sender: row.sender_id,
    device: row.sender_device,
    cmid: row.cmid,
    at: Number(row.at),
    payload: new Uint8Array(row.payload),
  };
}

export interface MlsDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  now: () => number;
}

export function createMls(deps: MlsDeps) {
  const { db, dialect, now } = deps;

  async function available(deviceId: string): Promise<number> {
    const { n } = await db
      .selectFrom('key_packages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('device_id', '=', deviceId)
      .where('last_resort', '=', 0)
      .executeTakeFirstOrThrow();
    return Number(n);
  }

  /** Take one one-time package of this device, or null. Safe against concurrent claims. */
  async function takeOne(deviceId: string): Promise<Uint8Array | null> {
    // PostgreSQL: SKIP LOCKED lets concurrent claims take different rows instead of racing
    // for one. SQLite: writers are serialized, so the subquery's row is ours.
    const lock = dialect === 'postgres' ? sql`for update skip locked` : sql``;
    const result = await sql<{ data: Uint8Array }>`
      delete from key_packages where id = (
        select id from key_packages
        where device_id = ${deviceId} and last_resort = 0
        order by created_at, id limit 1 ${lock}
      ) returning data`.execute(db);
    const row = result.rows[0];
    return row ? new Uint8Array(row.data) : null;
  }

  return {
    /** Add a batch of one-time packages (and optionally replace the last-resort one). */
    async upload(
      sender: Sender,
      packages: readonly Uint8Array[],
      lastResort: Uint8Array | undefined,
    ): Promise<number> {
      const waiting = await available(sender.deviceId);
      if (waiting + packages.length > Limits.KEY_PACKAGES_PER_DEVICE_MAX)
        throw new ChatError(
          'CHAT_ERR_VALIDATION',
          `A device keeps at most ${Limits.KEY_PACKAGES_PER_DEVICE_MAX} key packages; it has ${waiting}.`,
        );
      const at = now();
      await db.transaction().execute(async (trx) => {
        const rows = packages.map((data) => ({
          id: newId(),
          device_id: sender.deviceId,
          user_id: sender.userId,
          last_resort: 0,
          created_at: at,
          data,
        }));
        if (rows.length > 0) await trx.insertInto('key_packages').values(rows).execute();
        if (lastResort) {
          await trx
            .deleteFrom('key_packages')
            .where('device_id', '=', sender.deviceId)
            .where('last_resort', '=', 1)
            .execute();
          await trx
            .insertInto('key_packages')
            .values({
              id: newId(),
              device_id: sender.deviceId,
              user_id: sender.userId,
              last_resort: 1,
              created_at: at,
              data: lastResort,
            })
            .execute();
        }
      });
      return available(sender.deviceId);
    },

    available: (sender: Sender) => available(sender.deviceId),

    /**
     * One package per device of each of these users (members of the room), skipping the
     * claimer's own device. Devices with nothing at all are listed as missing.
     */
    async claim(sender: Sender, roomId: string, userIds: readonly string[]) {
      await accessRoom(db, roomId, sender.userId);
      const unique = [...new Set(userIds)];
      const members = await db
        .selectFrom('room_members')
        .select('user_id')
        .where('room_id', '=', roomId)
        .where('user_id', 'in', unique)
        .execute();
      if (members.length !== unique.length)
        throw new ChatError('CHAT_ERR_NOT_FOUND', 'Someone named is not in this room.');
      const devices = await db
        .selectFrom('devices')
        .select(['id', 'user_id'])
        .where('user_id', 'in', unique)
        .where('revoked_at', 'is', null)
        .where('id', '!=', sender.deviceId)
        .orderBy('user_id')
        .orderBy('id')
        .limit(Limits.KEY_PACKAGE_CLAIM_DEVICES_MAX)
        .execute();
      const packages: ClaimedKeyPackage[] = [];
      const missing: string[] = [];
      for (const device of devices) {
        const data = await takeOne(device.id);
        if (data) {
          packages.push({ user: device.user_id, device: device.id, data, lastResort: false });
          continue;
        }
        const last = await db
          .selectFrom('key_packages')
          .select('data')
          .where('device_id', '=', device.id)
          .where('last_resort', '=', 1)
          .executeTakeFirst();
        if (last) {
          packages.push({
            user: device.user_id,
            device: device.id,
            data: new Uint8Array(last.data),
            lastResort: true,
          });
        } else {
          missing.push(device.id);
        }
      }
      return { packages, missing };
    },

    async groupInfo(userId: string, roomId: string) {
      await accessRoom(db, roomId, userId);
      const row = await db
        .selectFrom('rooms')
        .select(['epoch', 'group_info'])
        .where('id', '=', roomId)
        .executeTakeFirstOrThrow();
      return {
        room: roomId,
        epoch: Number(row.epoch),
        data: row.group_info === null ? null : new Uint8Array(row.group_info),
      };
    },

    /**
     * Put a message in one device's inbox (a device of a member of this room). Idempotent per
     * (sending device, cmid): a retry returns the stored message and `duplicate`.
     */
    async inboxSend(
      sender: Sender,
      input: { room: string; device: string; cmid: string; payload: Uint8Array },
    ): Promise<{ message: InboxMessage; duplicate: boolean }> {
      await accessRoom(db, input.room, sender.userId);
      const target = await db
        .selectFrom('devices')
        .innerJoin('room_members', 'room_members.user_id', 'devices.user_id')
        .select('devices.id')
        .where('devices.id', '=', input.device)
        .where('devices.revoked_at', 'is', null)
        .where('room_members.room_id', '=', input.room)
        .executeTakeFirst();
      if (!target) throw new ChatError('CHAT_ERR_NOT_FOUND', 'There is no such device here.');
      const existing = await db
        .selectFrom('inbox')
        .selectAll()
        .where('device_id', '=', input.device)
        .where('sender_device', '=', sender.deviceId)
        .where('cmid', '=', input.cmid)
        .executeTakeFirst();
      if (existing) return { message: toMessage(existing), duplicate: true };
      const { n } = await db
        .selectFrom('inbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('device_id', '=', input.device)
        .executeTakeFirstOrThrow();
      if (Number(n) >= Limits.INBOX_MESSAGES_MAX) throw new ChatError('CHAT_ERR_INBOX_FULL');
      const row = {
        id: newId(),
        device_id: input.device,
        room_id: input.room,
        sender_id: sender.userId,
        sender_device: sender.deviceId,
        cmid: input.cmid,
        at: now(),
        payload: input.payload,
      };
      await db.insertInto('inbox').values(row).execute();
      return { message: toMessage(row), duplicate: false };
    },

    /** This device's waiting inbox messages, oldest first. */
    async inboxFetch(sender: Sender) {
      const rows = await db
        .selectFrom('inbox')
        .selectAll()
        .where('device_id', '=', sender.deviceId)
        .orderBy('at')
        .orderBy('id')
        .limit(Limits.HISTORY_PAGE_MAX + 1)
        .execute();
      const more = rows.length > Limits.HISTORY_PAGE_MAX;
      return {
        messages: rows.slice(0, Limits.HISTORY_PAGE_MAX).map(toMessage),
        more,
      };
    },

    /** The device has these: remove them from its inbox. */
    async inboxAck(sender: Sender, ids: readonly string[]): Promise<void> {
      await db
        .deleteFrom('inbox')
        .where('device_id', '=', sender.deviceId)
        .where('id', 'in', [...ids])
        .execute();
    },
  };
}

export type Mls = ReturnType<typeof createMls>;
