/**
 * What MLS (the next layer up) needs from the delivery service, all opaque to the server:
 *
 * - key packages: each device uploads batches; another member claims exactly one per target
 *   device, atomically (a package is handed out once), falling back to the device's
 *   last-resort package, which is never used up;
 * - per-device inboxes for messages addressed to one device (welcomes), kept until the
 *   device acknowledges them;
 * - the id of the blob holding the group info of a room's current epoch (named by each
 *   accepted commit: delivery/send.ts; kept while current: blobs.ts).
 *
 * Access is the rooms rule (only a member of the room may claim packages of its members,
 * write to their devices' inboxes or read its group info; to anyone else the room does not
 * exist), narrowed to an actual pending add:
 *
 * - a claim names only members of the room who are a pending add there (invited or joined
 *   within PENDING_ADD_TTL_SECONDS and not yet seen writing in the room, or a new device of
 *   theirs not yet seen writing there; then only that device's packages are handed out), and
 *   the claimer must be allowed to add people (in a group: a moderator or the owner, or any
 *   member naming only themselves, to add their own new device; elsewhere: any member); each
 *   (room, sender, device) may be claimed KEY_PACKAGE_CLAIMS_PER_SENDER_PER_DEVICE times, and
 *   one sender's claims of one user's devices are capped per day;
 * - an inbox message (a welcome) may go only to a device whose package this sender claimed
 *   for this room, one per claimed package, and at most INBOX_MESSAGES_PER_SENDER_PER_DEVICE_MAX
 *   from one sender may wait in a device's inbox.
 */
import {
  ChatError,
  Limits,
  type ClaimedKeyPackage,
  type InboxMessage,
  type DeviceId,
  type RoomId,
} from '@securechat/protocol';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Dialect } from '../storage/dialect.js';
import type { Database, InboxTable } from '../storage/types.js';
import { newId } from './crypto.js';
import type { Sender } from './delivery.js';
import { accessClaim, accessRoom } from './access.js';
import { deviceIdOf, epochOf, roomIdOf, userIdOf } from './ids.js';
import { lockRows } from './membership.js';

const DAY_MS = 24 * 3600 * 1000;

function toMessage(row: Selectable<InboxTable>): InboxMessage {
  return {
    id: row.id,
    room: roomIdOf(row.room_id),
    sender: userIdOf(row.sender_id),
    device: deviceIdOf(row.sender_device),
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

  /**
   * One sender's claims naming one user in the last day, over all rooms, stay capped: a
   * claim counts once per user it names, however many devices they have (per room, the
   * claims of their most claimed device).
   */
  async function withinDailyQuota(
    trx: Kysely<Database>,
    sender: Sender,
    userIds: readonly string[],
    at: number,
  ): Promise<void> {
    const perRoom = trx
      .selectFrom('key_package_claims')
      .select(['target_user', (eb) => eb.fn.max<number>('claims').as('claims')])
      .where('sender_id', '=', sender.userId)
      .where('target_user', 'in', userIds)
      .where('claimed_at', '>', at - DAY_MS)
      .groupBy(['target_user', 'room_id'])
      .as('per_room');
    const rows = await trx
      .selectFrom(perRoom)
      .select(['per_room.target_user', (eb) => eb.fn.sum<number>('per_room.claims').as('n')])
      .groupBy('per_room.target_user')
      .execute();
    const done = new Map(rows.map((r) => [r.target_user, Number(r.n)]));
    for (const userId of userIds)
      if ((done.get(userId) ?? 0) >= Limits.KEY_PACKAGE_CLAIMS_PER_SENDER_PER_USER_PER_DAY)
        throw new ChatError(
          'CHAT_ERR_RATE_LIMITED',
          'You have claimed this person’s key packages as often as you may today.',
          { retryAfter: 3600 },
        );
  }

  /** Take one one-time package of this device, or null. Safe against concurrent claims. */
  async function takeOne(trx: Kysely<Database>, deviceId: string): Promise<Uint8Array | null> {
    // PostgreSQL: SKIP LOCKED lets concurrent claims take different rows instead of racing
    // for one. SQLite: writers are serialized, so the subquery's row is ours.
    const lock = dialect === 'postgres' ? sql`for update skip locked` : sql``;
    const result = await sql<{ data: Uint8Array }>`
      delete from key_packages where id = (
        select id from key_packages
        where device_id = ${deviceId} and last_resort = 0
        order by created_at, id limit 1 ${lock}
      ) returning data`.execute(trx);
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
     * One package per device of each of these users (pending adds of the room), skipping the
     * claimer's own device. Devices with nothing at all are listed as missing. All or nothing:
     * a claim over any quota takes no package.
     */
    async claim(sender: Sender, roomId: string, userIds: readonly string[]) {
      const member = await accessRoom(db, roomId, sender.userId);
      const unique = [...new Set(userIds)];
      accessClaim(member, sender.userId, unique);
      const at = now();
      const present = await db
        .selectFrom('room_members as m')
        .leftJoin('pending_adds as p', (join) =>
          join
            .onRef('p.room_id', '=', 'm.room_id')
            .onRef('p.user_id', '=', 'm.user_id')
            .on('p.expires_at', '>', at),
        )
        .select(['m.user_id', 'p.user_id as pending', 'p.device_id as pending_device'])
        .where('m.room_id', '=', roomId)
        .where('m.user_id', 'in', unique)
        .execute();
      if (present.length !== unique.length)
        throw new ChatError('CHAT_ERR_NOT_FOUND', 'Someone named is not in this room.');
      if (present.some((p) => p.pending === null))
        throw new ChatError(
          'CHAT_ERR_FORBIDDEN',
          'Key packages are handed out only for people just added to this room.',
        );
      // Whom the add is for: all devices of a member added as a whole, only the new device
      // of a member whose new device it is.
      const whole = present.filter((p) => p.pending_device === null).map((p) => p.user_id);
      const single = present.flatMap((p) => (p.pending_device === null ? [] : [p.pending_device]));
      const devices = await db
        .selectFrom('devices')
        .select(['id', 'user_id'])
        .where('user_id', 'in', unique)
        .where((eb) =>
          eb.or([
            ...(whole.length > 0 ? [eb('user_id', 'in', whole)] : []),
            ...(single.length > 0 ? [eb('id', 'in', single)] : []),
          ]),
        )
        .where('revoked_at', 'is', null)
        .where('id', '!=', sender.deviceId)
        .orderBy('user_id')
        .orderBy('id')
        .execute();
      if (devices.length > Limits.KEY_PACKAGE_CLAIM_DEVICES_MAX)
        throw new ChatError(
          'CHAT_ERR_VALIDATION',
          `These people have ${devices.length} devices; one claim takes at most ${Limits.KEY_PACKAGE_CLAIM_DEVICES_MAX}. Claim for fewer people at once.`,
          { field: 'users' },
        );
      return db.transaction().execute(async (trx) => {
        // One claim of this sender at a time (PostgreSQL; SQLite writes one at a time anyway),
        // so the daily count below is exact under concurrent claims.
        await lockRows(trx, dialect, 'users', [sender.userId]);
        await withinDailyQuota(trx, sender, unique, at);
        const packages: ClaimedKeyPackage[] = [];
        const missing: DeviceId[] = [];
        for (const device of devices) {
          // A device with no package at all is not counted: nothing was handed out.
          const hasAny = await trx
            .selectFrom('key_packages')
            .select('id')
            .where('device_id', '=', device.id)
            .limit(1)
            .executeTakeFirst();
          if (!hasAny) {
            missing.push(deviceIdOf(device.id));
            continue;
          }
          // Counted atomically: the conditional upsert refuses the claim past the quota.
          const counted = await trx
            .insertInto('key_package_claims')
            .values({
              room_id: roomId,
              sender_id: sender.userId,
              target_user: device.user_id,
              device_id: device.id,
              claimed_at: at,
              claims: 1,
              welcomes: 0,
            })
            .onConflict((oc) =>
              oc
                .columns(['room_id', 'sender_id', 'device_id'])
                .doUpdateSet((eb) => ({
                  claims: eb('key_package_claims.claims', '+', 1),
                  claimed_at: at,
                }))
                .where(
                  'key_package_claims.claims',
                  '<',
                  Limits.KEY_PACKAGE_CLAIMS_PER_SENDER_PER_DEVICE,
                ),
            )
            .returning('claims')
            .executeTakeFirst();
          if (!counted)
            throw new ChatError(
              'CHAT_ERR_RATE_LIMITED',
              'You have claimed this device’s key packages for this room as often as you may.',
            );
          const data = await takeOne(trx, device.id);
          if (data) {
            packages.push({
              user: userIdOf(device.user_id),
              device: deviceIdOf(device.id),
              data,
              lastResort: false,
            });
            continue;
          }
          const last = await trx
            .selectFrom('key_packages')
            .select('data')
            .where('device_id', '=', device.id)
            .where('last_resort', '=', 1)
            .executeTakeFirst();
          // (A concurrent claim may have taken its last one-time package meanwhile.)
          if (!last) {
            missing.push(deviceIdOf(device.id));
            continue;
          }
          packages.push({
            user: userIdOf(device.user_id),
            device: deviceIdOf(device.id),
            data: new Uint8Array(last.data),
            lastResort: true,
          });
        }
        return { packages, missing };
      });
    },

    /**
     * The room's epoch and the id of its current group-info blob (null before any commit
     * named one): members fetch the bytes with the blob route.
     */
    async groupInfo(userId: string, roomId: RoomId) {
      const member = await accessRoom(db, roomId, userId);
      const row = await db
        .selectFrom('rooms')
        .select(['epoch', 'group_info_blob'])
        .where('id', '=', member.roomId)
        .executeTakeFirstOrThrow();
      return { room: roomId, epoch: epochOf(row.epoch), blob: row.group_info_blob };
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
      /** This device's earlier message with this cmid: a retry gets it back. */
      const earlier = () =>
        db
          .selectFrom('inbox')
          .selectAll()
          .where('device_id', '=', input.device)
          .where('sender_device', '=', sender.deviceId)
          .where('cmid', '=', input.cmid)
          .executeTakeFirst();
      const existing = await earlier();
      if (existing) return { message: toMessage(existing), duplicate: true };
      const at = now();
      const row = {
        id: newId(),
        device_id: input.device,
        room_id: input.room,
        sender_id: sender.userId,
        sender_device: sender.deviceId,
        cmid: input.cmid,
        at,
        payload: input.payload,
      };
      const stored = await db.transaction().execute(async (trx) => {
        // One write to this device's inbox at a time (PostgreSQL), so the counts are exact.
        await lockRows(trx, dialect, 'devices', [input.device]);
        // A retry racing the original: the unique (device, sender device, cmid) index keeps one.
        const inserted = await trx
          .insertInto('inbox')
          .values(row)
          .onConflict((oc) => oc.columns(['device_id', 'sender_device', 'cmid']).doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
        // One welcome per package this sender claimed of this device for this room.
        const used = await trx
          .updateTable('key_package_claims')
          .set((eb) => ({ welcomes: eb('welcomes', '+', 1) }))
          .where('room_id', '=', input.room)
          .where('sender_id', '=', sender.userId)
          .where('device_id', '=', input.device)
          .where('claimed_at', '>', at - Limits.PENDING_ADD_TTL_SECONDS * 1000)
          .where((eb) => eb('welcomes', '<', eb.ref('claims')))
          .executeTakeFirst();
        if (Number(used.numUpdatedRows) === 0)
          throw new ChatError(
            'CHAT_ERR_NOT_FOUND',
            'That device is not waiting for a welcome from you in this room.',
          );
        const [mine, all] = await Promise.all([
          trx
            .selectFrom('inbox')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('device_id', '=', input.device)
            .where('sender_id', '=', sender.userId)
            .executeTakeFirstOrThrow(),
          trx
            .selectFrom('inbox')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('device_id', '=', input.device)
            .executeTakeFirstOrThrow(),
        ]);
        // Counted with this message in: over a cap, the transaction takes it back.
        if (
          Number(mine.n) > Limits.INBOX_MESSAGES_PER_SENDER_PER_DEVICE_MAX ||
          Number(all.n) > Limits.INBOX_MESSAGES_MAX
        )
          throw new ChatError('CHAT_ERR_INBOX_FULL');
        return true;
      });
      if (stored) return { message: toMessage(row), duplicate: false };
      const original = await earlier();
      if (!original) throw new Error('an inbox message lost its insert race and its original');
      return { message: toMessage(original), duplicate: true };
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
