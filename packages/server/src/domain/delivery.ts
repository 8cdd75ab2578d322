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
 *
 * The pieces live in delivery/: events (the log and appending), send, reading (history and
 * resume), receipts, deletes, general (#general), devices (a user's devices changed). This facade wires
 * them to one database.
 */
import { GENERAL_ROOM_ID, type RoomId } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Dialect } from '../storage/dialect.js';
import type { Database } from '../storage/types.js';
import { deleteCode, deleteMessage } from './delivery/deletes.js';
import { type Accepted, type Sender } from './delivery/events.js';
import { joinGeneral } from './delivery/general.js';
import { history, resume } from './delivery/reading.js';
import { receiptsOf, recordReceipt } from './delivery/receipts.js';
import { groupCommit, type SendInput } from './delivery/send.js';
import { accessRoom } from './access.js';
import { createMemberCache, memberIds } from './membership.js';
import type { Vault } from './vault.js';

export { GENERAL_ROOM_ID };
export type { Accepted, Sender } from './delivery/events.js';
export { publishEvents, senderOf } from './delivery/events.js';

export interface DeliveryDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  now: () => number;
  /** Notices and usernames are sealed at rest. */
  vault: Vault;
  /** Told the size of every batch of sends committed together (metrics). */
  onBatch?: (size: number) => void;
}

export function createDelivery(deps: DeliveryDeps) {
  const { db, dialect, now, vault } = deps;
  const membersOf = createMemberCache();
  const send = groupCommit({ db, now, membersOf }, deps.onBatch);

  return {
    joinGeneral: (sender: Sender): Promise<Accepted | null> =>
      joinGeneral(db, vault, dialect, now, sender),

    /** The members of a room the user is in (for ephemeral fan-out such as typing). */
    async members(userId: string, room: string): Promise<string[]> {
      await accessRoom(db, room, userId);
      return memberIds(db, room);
    },

    /** Stored (with the other sends of this event-loop turn) before it resolves. */
    send: (sender: Sender, input: SendInput): Promise<Accepted> => send(sender, input),

    history: (userId: string, room: string, before: number | undefined, limit: number) =>
      history(db, vault, userId, room, before, limit),

    resume: (userId: string, positions: { room: RoomId; after: number }[]) =>
      resume(db, vault, userId, positions),

    /** Move this user's receipt positions forward (small rooms only; see delivery/receipts). */
    receipt: (userId: string, room: string, input: { delivered?: number; read?: number }) =>
      recordReceipt(db, vault, userId, room, input),

    receipts: (userId: string, room: string) => receiptsOf(db, vault, userId, room),

    deleteCode: (actor: Sender, room: string, seq: number) =>
      deleteCode({ db, now }, actor, room, seq),

    delete: (actor: Sender, room: string, seq: number, code: string): Promise<Accepted> =>
      deleteMessage({ db, now }, actor, room, seq, code),
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
