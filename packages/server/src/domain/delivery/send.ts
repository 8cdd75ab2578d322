/**
 * Sends: one event stored per (room, device, cmid), acknowledged after commit. Edits and
 * reactions name an earlier message; commits are ordered per MLS epoch (first one wins) and
 * may name the blob holding the group info of the epoch they start (domain/blobs.ts); a
 * message may name the file it carries (domain/files.ts).
 */
import { ChatError, type SendKind } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../storage/errors.js';
import type { Database } from '../../storage/types.js';
import { accessMessage, accessOpen, accessRoom, type Membership } from '../access.js';
import { discardGroupInfoBlob, groupInfoBlob } from '../blobs.js';
import { attachFile } from '../files.js';
import { blockedBetween, endPendingAdd } from '../membership.js';
import { appendEvent, toEvent, type Accepted, type Sender } from './events.js';

export interface SendInput {
  room: string;
  cmid: string;
  kind: SendKind;
  payload: Uint8Array;
  target?: number | undefined;
  epoch?: number | undefined;
  /** A commit's group-info blob: the id of a blob the sender uploaded into the room. */
  groupInfo?: string | undefined;
  /** A message's file: the id of a file the sender uploaded into the room for it. */
  file?: string | undefined;
}

export interface SendDeps {
  db: Kysely<Database>;
  now: () => number;
  membersOf: (db: Kysely<Database>, member: Membership) => Promise<string[]>;
}

async function checkTarget(
  trx: Kysely<Database>,
  sender: Sender,
  member: Membership,
  input: SendInput,
): Promise<void> {
  if (input.file !== undefined && input.kind !== 'message')
    throw new ChatError('CHAT_ERR_VALIDATION', `A ${input.kind} carries no file.`);
  if (input.kind === 'message' || input.kind === 'commit') {
    if (input.target !== undefined)
      throw new ChatError('CHAT_ERR_VALIDATION', `A ${input.kind} is not about another event.`);
    return;
  }
  if (input.target === undefined)
    throw new ChatError('CHAT_ERR_VALIDATION', `An ${input.kind} names the message it is about.`);
  await accessMessage(
    trx,
    sender.userId,
    member,
    input.target,
    input.kind === 'edit' ? 'edit' : 'react',
  );
}

/**
 * Persist one event and return it with its recipients. Idempotent per (device, cmid): a
 * retry gets the stored event back (`duplicate`), also when the retry raced the original
 * (the unique (room, device, cmid) index refuses the second insert and the original is read).
 */
export async function send(deps: SendDeps, sender: Sender, input: SendInput): Promise<Accepted> {
  try {
    return await store(deps, sender, input);
  } catch (error) {
    // A commit that lost its epoch leaves no blob behind: its retries upload another.
    if (
      error instanceof ChatError &&
      error.code === 'CHAT_ERR_STALE_EPOCH' &&
      input.groupInfo !== undefined
    )
      await discardGroupInfoBlob(deps.db, input.room, sender.userId, input.groupInfo);
    if (!isUniqueViolation(error)) throw error;
    const { db, membersOf } = deps;
    const member = await accessRoom(db, input.room, sender.userId);
    const existing = await db
      .selectFrom('events')
      .selectAll()
      .where('room_id', '=', input.room)
      .where('device_id', '=', sender.deviceId)
      .where('cmid', '=', input.cmid)
      .executeTakeFirst();
    if (!existing) throw error;
    return { event: toEvent(existing), duplicate: true, recipients: await membersOf(db, member) };
  }
}

async function store(deps: SendDeps, sender: Sender, input: SendInput): Promise<Accepted> {
  const { db, now, membersOf } = deps;
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
    // A closed room takes commits only, so its members' groups stay consistent; a retry of
    // what was stored before it closed got its event back above. Checked again as the event
    // takes its seq (appendEvent), where a close racing this send is settled.
    const whileOpen = input.kind !== 'commit';
    if (whileOpen) accessOpen(member);
    if (member.kind === 'direct') {
      const peer = recipients.find((id) => id !== sender.userId);
      if (peer && (await blockedBetween(trx, peer, sender.userId)).aBlockedB)
        throw new ChatError('CHAT_ERR_BLOCKED');
    }
    await checkTarget(trx, sender, member, input);
    if (input.kind !== 'commit' && input.epoch !== undefined) {
      // An application message from an epoch before the room's current one: members who
      // joined since could not decrypt it. The sender catches up and encrypts it again.
      const { epoch } = await trx
        .selectFrom('rooms')
        .select('epoch')
        .where('id', '=', input.room)
        .executeTakeFirstOrThrow();
      if (input.epoch < Number(epoch))
        throw new ChatError('CHAT_ERR_STALE_EPOCH', undefined, { epoch: Number(epoch) });
    }
    if (input.kind === 'commit') {
      if (input.epoch === undefined)
        throw new ChatError('CHAT_ERR_VALIDATION', 'A commit names the epoch it was made in.');
      // The first commit of an epoch wins: a conditional bump, atomic on both databases.
      const bumped = await trx
        .updateTable('rooms')
        .set((eb) => ({ epoch: eb('epoch', '+', 1) }))
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
      // Its group-info blob becomes the room's current one (the previous one, an ordinary
      // blob again, expires as any other). Checked after the bump, so a retry of a stale
      // commit is told it is stale again even once its blob is gone.
      if (input.groupInfo !== undefined) {
        await groupInfoBlob(trx, input.room, sender.userId, input.groupInfo, now());
        await trx
          .updateTable('rooms')
          .set({ group_info_blob: input.groupInfo })
          .where('id', '=', input.room)
          .execute();
      }
    }
    const event = await appendEvent(trx, now(), {
      room: input.room,
      kind: input.kind,
      sender,
      cmid: input.cmid,
      payload: input.payload,
      target: input.target,
      epoch: input.kind === 'commit' ? input.epoch : undefined,
      whileOpen,
    });
    // The file it carries is kept from now on, until this message is deleted.
    if (input.file !== undefined)
      await attachFile(trx, input.room, sender.userId, input.file, event.seq, event.at);
    // Someone who writes in the room has been welcomed into its group: no longer pending (when
    // only a new device of theirs is, that device writing says so; their others do not).
    // After the room's row, as every transaction that touches both takes them (PostgreSQL
    // would otherwise deadlock this with a sign-in marking the same member pending).
    if (
      member.pending &&
      (member.pendingDevice === null || member.pendingDevice === sender.deviceId)
    )
      await endPendingAdd(trx, input.room, sender.userId);
    return { event, duplicate: false, recipients };
  });
}
