/**
 * The delivery service: rooms' ordered, durable event logs. To it a payload is opaque bytes.
 * Each accepted event gets the room's next sequence number and is committed before the
 * sender is acknowledged; a retried send (same device, same client message id) gets the
 * original acknowledgement instead of a second event. Access is one check: members only, and
 * a room you are not in looks exactly like a room that does not exist.
 *
 * Rules the server enforces on events it cannot read: only a message's sender may edit it;
 * the sender, the room's moderators and server admins may delete it (after confirming with a
 * single-use code), which erases its payload (and its edits') and appends a tombstone; the
 * first commit of an MLS epoch wins and later ones for that epoch are refused as stale.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import {
  ChatError,
  GENERAL_ROOM_ID,
  Limits,
  type Notice,
  type RoomEvent,
  type SendKind,
} from '@securechat/protocol';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, EventKindColumn, EventsTable } from '../storage/types.js';
import { newId } from './crypto.js';
import {
  accessRoom,
  blockedBetween,
  createMemberCache,
  isMember,
  memberIds,
  membersChanged,
  rank,
  readableAfter,
  type Membership,
} from './membership.js';

export { GENERAL_ROOM_ID };

export interface DeliveryDeps {
  db: Kysely<Database>;
  now: () => number;
}

export interface Sender {
  userId: string;
  deviceId: string;
  /** Server admins may delete any message. */
  admin?: boolean;
}

export interface SendInput {
  room: string;
  cmid: string;
  kind: SendKind;
  payload: Uint8Array;
  target?: number | undefined;
  epoch?: number | undefined;
  groupInfo?: Uint8Array | undefined;
}

export interface Accepted {
  event: RoomEvent;
  /** True when this send was a retry of one already stored: nothing new to fan out. */
  duplicate: boolean;
  /** Everyone who receives the event: the room's members at the time (and anyone it removed). */
  recipients: string[];
}

const EMPTY = new Uint8Array(0);

export function toEvent(row: Selectable<EventsTable>): RoomEvent {
  const event: RoomEvent = {
    room: row.room_id,
    seq: Number(row.seq),
    kind: row.kind,
    sender: row.sender_id,
    device: row.device_id,
    cmid: row.cmid,
    at: Number(row.at),
    payload: row.deleted_at === null ? new Uint8Array(row.payload) : EMPTY,
  };
  if (row.epoch !== null) event.epoch = Number(row.epoch);
  if (row.target !== null) event.target = Number(row.target);
  if (row.deleted_at !== null) event.deleted = true;
  if (row.notice !== null) event.notice = JSON.parse(row.notice) as Notice;
  return event;
}

interface NewEvent {
  room: string;
  kind: EventKindColumn;
  sender: Sender;
  cmid: string;
  payload: Uint8Array;
  target?: number | undefined;
  epoch?: number | undefined;
  notice?: Notice | undefined;
}

/** Give an event the room's next seq and store it (inside the caller's transaction). */
export async function appendEvent(
  trx: Transaction<Database>,
  at: number,
  input: NewEvent,
): Promise<RoomEvent> {
  const { last_seq } = await trx
    .updateTable('rooms')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', input.room)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const row: Selectable<EventsTable> = {
    room_id: input.room,
    seq: Number(last_seq),
    kind: input.kind,
    sender_id: input.sender.userId,
    device_id: input.sender.deviceId,
    cmid: input.cmid,
    at,
    epoch: input.epoch ?? null,
    payload: input.payload,
    target: input.target ?? null,
    deleted_at: null,
    notice: input.notice ? JSON.stringify(input.notice) : null,
  };
  await trx.insertInto('events').values(row).execute();
  return toEvent(row);
}

/** A server-written event: someone joined, left, was invited, removed, promoted… */
export function appendNotice(
  trx: Transaction<Database>,
  at: number,
  room: string,
  actor: Sender,
  notice: Notice,
): Promise<RoomEvent> {
  return appendEvent(trx, at, {
    room,
    kind: 'notice',
    sender: actor,
    cmid: `n-${newId()}`,
    payload: EMPTY,
    notice,
  });
}

const hashCode = (code: string): string => createHash('sha256').update(code).digest('hex');

/** The delete code of one user for one message. */
const codeKey = (userId: string, room: string, seq: number) => ({
  user_id: userId,
  room_id: room,
  seq,
});

/** May this member remove the event at `seq` (their own message, or as a moderator / admin)? */
async function mayDelete(
  db: Kysely<Database>,
  actor: Sender,
  member: Membership,
  seq: number,
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
  const moderates = rank(member.role) >= rank('moderator') || actor.admin === true;
  if (target.sender_id !== actor.userId && !moderates)
    throw new ChatError('CHAT_ERR_FORBIDDEN', 'Only its sender or a moderator may delete this.');
}

export function createDelivery(deps: DeliveryDeps) {
  const { db, now } = deps;
  const membersOf = createMemberCache();

  async function checkTarget(
    trx: Kysely<Database>,
    sender: Sender,
    member: Membership,
    input: SendInput,
  ): Promise<void> {
    if (input.kind === 'message' || input.kind === 'commit') {
      if (input.target !== undefined)
        throw new ChatError('CHAT_ERR_VALIDATION', `A ${input.kind} is not about another event.`);
      return;
    }
    if (input.target === undefined)
      throw new ChatError('CHAT_ERR_VALIDATION', `An ${input.kind} names the message it is about.`);
    const target = await trx
      .selectFrom('events')
      .select(['kind', 'sender_id', 'deleted_at'])
      .where('room_id', '=', input.room)
      .where('seq', '=', input.target)
      .where('seq', '>', readableAfter(member))
      .executeTakeFirst();
    if (!target || target.kind !== 'message' || target.deleted_at !== null)
      throw new ChatError('CHAT_ERR_NOT_FOUND', 'There is no such message.');
    if (input.kind === 'edit' && target.sender_id !== sender.userId)
      throw new ChatError('CHAT_ERR_FORBIDDEN', 'Only its sender may edit a message.');
  }

  return {
    /**
     * Make sure #general exists and this user is in it (every account is). The first time,
     * a join notice tells everyone there.
     */
    async joinGeneral(sender: Sender): Promise<Accepted | null> {
      // Every connection after an account's first: one read, no write.
      if (await isMember(db, GENERAL_ROOM_ID, sender.userId)) return null;
      const at = now();
      await db
        .insertInto('rooms')
        .values({
          id: GENERAL_ROOM_ID,
          kind: 'general',
          name: 'general',
          topic: null,
          password_hash: null,
          direct_key: null,
          group_info: null,
          created_at: at,
          last_seq: 0,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      return db.transaction().execute(async (trx) => {
        const added = await trx
          .insertInto('room_members')
          .values({
            room_id: GENERAL_ROOM_ID,
            user_id: sender.userId,
            role: 'member',
            joined_at: at,
          })
          .onConflict((oc) => oc.columns(['room_id', 'user_id']).doNothing())
          .executeTakeFirst();
        // Two first connections at once: only the one that added the member tells.
        if (Number(added.numInsertedOrUpdatedRows ?? 0) === 0) return null;
        await membersChanged(trx, GENERAL_ROOM_ID);
        const user = await trx
          .selectFrom('users')
          .select('username')
          .where('id', '=', sender.userId)
          .executeTakeFirstOrThrow();
        const event = await appendNotice(trx, at, GENERAL_ROOM_ID, sender, {
          type: 'join',
          user: sender.userId,
          username: user.username,
        });
        return { event, duplicate: false, recipients: await memberIds(trx, GENERAL_ROOM_ID) };
      });
    },

    /** The members of a room the user is in (for ephemeral fan-out such as typing). */
    async members(userId: string, room: string): Promise<string[]> {
      await accessRoom(db, room, userId);
      return memberIds(db, room);
    },

    /** Persist one event and return it with its recipients. Idempotent per (device, cmid). */
    async send(sender: Sender, input: SendInput): Promise<Accepted> {
      return db.transaction().execute(async (trx) => {
        const member = await accessRoom(trx, input.room, sender.userId);
        const existing = await trx
          .selectFrom('events')
          .selectAll()
          .where('room_id', '=', input.room)
          .where('device_id', '=', sender.deviceId)
          .where('cmid', '=', input.cmid)
          .executeTakeFirst();
        const recipients = await membersOf(trx, member);
        if (existing) return { event: toEvent(existing), duplicate: true, recipients };
        if (member.kind === 'direct') {
          const peer = recipients.find((id) => id !== sender.userId);
          if (peer && (await blockedBetween(trx, peer, sender.userId)).aBlockedB)
            throw new ChatError('CHAT_ERR_BLOCKED');
        }
        await checkTarget(trx, sender, member, input);
        if (input.kind === 'commit') {
          if (input.epoch === undefined)
            throw new ChatError('CHAT_ERR_VALIDATION', 'A commit names the epoch it was made in.');
          // The first commit of an epoch wins: a conditional bump, atomic on both databases.
          const bumped = await trx
            .updateTable('rooms')
            .set((eb) => ({
              epoch: eb('epoch', '+', 1),
              ...(input.groupInfo ? { group_info: input.groupInfo } : {}),
            }))
            .where('id', '=', input.room)
            .where('epoch', '=', input.epoch)
            .executeTakeFirst();
          if (Number(bumped.numUpdatedRows) === 0) {
            const { epoch } = await trx
              .selectFrom('rooms')
              .select('epoch')
              .where('id', '=', input.room)
              .executeTakeFirstOrThrow();
            throw new ChatError('CHAT_ERR_STALE_EPOCH', undefined, { epoch: Number(epoch) });
          }
        }
        const event = await appendEvent(trx, now(), {
          room: input.room,
          kind: input.kind,
          sender,
          cmid: input.cmid,
          payload: input.payload,
          target: input.target,
          epoch: input.epoch,
        });
        return { event, duplicate: false, recipients };
      });
    },

    /** Events before `before` (newest first on the server, returned oldest first). */
    async history(userId: string, room: string, before: number | undefined, limit: number) {
      const member = await accessRoom(db, room, userId);
      const take = Math.min(limit, Limits.HISTORY_PAGE_MAX);
      let query = db
        .selectFrom('events')
        .selectAll()
        .where('room_id', '=', room)
        .where('seq', '>', readableAfter(member));
      if (before !== undefined) query = query.where('seq', '<', before);
      const rows = await query
        .orderBy('seq', 'desc')
        .limit(take + 1)
        .execute();
      const more = rows.length > take;
      return { events: rows.slice(0, take).reverse().map(toEvent), more };
    },

    /** What a device missed: events after each position, oldest first, in one bounded batch. */
    async resume(userId: string, positions: { room: string; after: number }[]) {
      const events: RoomEvent[] = [];
      let more = false;
      for (const { room, after } of positions) {
        const budget = Limits.HISTORY_PAGE_MAX - events.length;
        if (budget <= 0) {
          more = true;
          break;
        }
        const member = await accessRoom(db, room, userId);
        const rows = await db
          .selectFrom('events')
          .selectAll()
          .where('room_id', '=', room)
          .where('seq', '>', Math.max(after, readableAfter(member)))
          .orderBy('seq', 'asc')
          .limit(budget + 1)
          .execute();
        if (rows.length > budget) more = true;
        events.push(...rows.slice(0, budget).map(toEvent));
      }
      return { events, more };
    },

    /**
     * Step 1 of a delete: a 4-digit code, single use, short-lived, bound to this message and
     * this user. Asking again replaces the previous code.
     */
    async deleteCode(actor: Sender, room: string, seq: number) {
      const member = await accessRoom(db, room, actor.userId);
      await mayDelete(db, actor, member, seq);
      const code = String(randomInt(0, 10 ** Limits.DELETE_CODE_DIGITS)).padStart(
        Limits.DELETE_CODE_DIGITS,
        '0',
      );
      const expiresAt = now() + Limits.DELETE_CODE_TTL_SECONDS * 1000;
      const row = {
        ...codeKey(actor.userId, room, seq),
        code_hash: hashCode(code),
        expires_at: expiresAt,
        attempts: 0,
      };
      await db
        .insertInto('delete_codes')
        .values(row)
        .onConflict((oc) =>
          oc
            .columns(['user_id', 'room_id', 'seq'])
            .doUpdateSet({ code_hash: row.code_hash, expires_at: expiresAt, attempts: 0 }),
        )
        .execute();
      return { code, expiresAt };
    },

    /** Step 2: with the right code, erase the message (and its edits) and append a tombstone. */
    async delete(actor: Sender, room: string, seq: number, code: string): Promise<Accepted> {
      const result = await db.transaction().execute(async (trx) => {
        const member = await accessRoom(trx, room, actor.userId);
        await mayDelete(trx, actor, member, seq);
        const stored = await trx
          .selectFrom('delete_codes')
          .selectAll()
          .where((eb) => eb.and(codeKey(actor.userId, room, seq)))
          .executeTakeFirst();
        const given = Buffer.from(hashCode(code));
        const right =
          stored !== undefined &&
          stored.expires_at > now() &&
          timingSafeEqual(given, Buffer.from(stored.code_hash));
        if (!right) {
          if (stored) {
            const attempts = Number(stored.attempts) + 1;
            const burn = attempts >= Limits.DELETE_CODE_ATTEMPTS_MAX || stored.expires_at <= now();
            if (burn) {
              await trx
                .deleteFrom('delete_codes')
                .where((eb) => eb.and(codeKey(actor.userId, room, seq)))
                .execute();
            } else {
              await trx
                .updateTable('delete_codes')
                .set({ attempts })
                .where((eb) => eb.and(codeKey(actor.userId, room, seq)))
                .execute();
            }
          }
          return null;
        }
        await trx
          .deleteFrom('delete_codes')
          .where((eb) => eb.and(codeKey(actor.userId, room, seq)))
          .execute();
        const at = now();
        await trx
          .updateTable('events')
          .set({ payload: EMPTY, deleted_at: at })
          .where('room_id', '=', room)
          .where((eb) =>
            eb.or([eb('seq', '=', seq), eb.and([eb('kind', '=', 'edit'), eb('target', '=', seq)])]),
          )
          .execute();
        const event = await appendEvent(trx, at, {
          room,
          kind: 'delete',
          sender: actor,
          cmid: `d-${newId()}`,
          payload: EMPTY,
          target: seq,
        });
        return { event, duplicate: false, recipients: await memberIds(trx, room) };
      });
      // Refused outside the transaction, so a wrong attempt is still counted.
      if (result === null) throw new ChatError('CHAT_ERR_DELETE_CODE');
      return result;
    },
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
