/**
 * Sends: one event stored per (room, device, cmid), acknowledged after commit. Edits and
 * reactions name an earlier message; commits are ordered per MLS epoch (first one wins) and
 * may name the blob holding the group info of the epoch they start (domain/blobs.ts); a
 * message may name the file it carries (domain/files.ts).
 */
import { ChatError, type SendKind } from '@securechat/protocol';
import type { Kysely, Transaction } from 'kysely';
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
async function send(deps: SendDeps, sender: Sender, input: SendInput): Promise<Accepted> {
  try {
    return await deps.db.transaction().execute((trx) => store(trx, deps, sender, input));
  } catch (error) {
    return recover(deps, sender, input, error);
  }
}

/** This device's event with this client message id in the room, if stored: a retry's original. */
function earlierSend(db: Kysely<Database>, sender: Sender, input: SendInput) {
  return db
    .selectFrom('events')
    .selectAll()
    .where('room_id', '=', input.room)
    .where('device_id', '=', sender.deviceId)
    .where('cmid', '=', input.cmid)
    .executeTakeFirst();
}

/** A send that failed: what it is answered instead (or the error again). */
async function recover(
  deps: SendDeps,
  sender: Sender,
  input: SendInput,
  error: unknown,
): Promise<Accepted> {
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
  const existing = await earlierSend(db, sender, input);
  if (!existing) throw error;
  return { event: toEvent(existing), duplicate: true, recipients: await membersOf(db, member) };
}

/** Most sends one transaction holds: a bigger turn's sends are committed in several. */
const BATCH_MAX = 256;

interface Waiting {
  sender: Sender;
  input: SendInput;
  resolve: (accepted: Accepted) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: the sends that arrive in one event-loop turn are stored in one transaction,
 * each inside its own savepoint (a refused send takes nothing of the others with it), and
 * each is answered once that transaction has committed — still stored before it is
 * acknowledged, with one commit (with SQLite's `synchronous = FULL`, one sync of the log) for
 * all of them. One batch is stored at a time: what arrives meanwhile waits for the next one,
 * so batches grow as the load does, and PostgreSQL transactions never queue on a room's row
 * (every send to a room updates it). A connection hands the server one request at a time
 * (realtime/gateway.ts), so a batch holds at most one send per connection and a device's
 * sends keep their order.
 */
export function groupCommit(
  deps: SendDeps,
  onBatch: (size: number) => void = () => undefined,
): (sender: Sender, input: SendInput) => Promise<Accepted> {
  const waiting: Waiting[] = [];
  let storing = false;
  let scheduled = false;
  // After every I/O callback of this turn (and their promise jobs) has run.
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };
  const flush = () => {
    scheduled = false;
    if (storing || waiting.length === 0) return;
    const batch = waiting.splice(0, BATCH_MAX).sort(byRoom);
    onBatch(batch.length);
    storing = true;
    const next = () => {
      storing = false;
      if (waiting.length > 0) schedule();
    };
    void storeBatch(deps, batch).then(
      (outcomes) => {
        next();
        answer(batch, outcomes);
      },
      (error: unknown) => {
        next();
        for (const item of batch) item.reject(error);
      },
    );
  };
  return (sender, input) =>
    new Promise<Accepted>((resolve, reject) => {
      waiting.push({ sender, input, resolve, reject });
      schedule();
    });
}

/** The room ids in one order on every node: PostgreSQL would deadlock two batches otherwise. */
const byRoom = (a: Waiting, b: Waiting) =>
  a.input.room < b.input.room ? -1 : a.input.room > b.input.room ? 1 : 0;

type Outcome = { accepted: Accepted } | { error: unknown };

const outcomeOf = (work: Promise<Accepted>): Promise<Outcome> =>
  work.then(
    (accepted) => ({ accepted }),
    (error: unknown) => ({ error }),
  );

/** What each send of the batch came to, committed (never rejects). */
async function storeBatch(deps: SendDeps, ordered: Waiting[]): Promise<Outcome[]> {
  const alone = () =>
    Promise.all(ordered.map((item) => outcomeOf(send(deps, item.sender, item.input))));
  return ordered.length === 1 ? alone() : ((await together(deps, ordered)) ?? alone());
}

/** Answer a stored (committed, so on disk with SQLITE_SYNCHRONOUS=full) batch. */
function answer(ordered: Waiting[], outcomes: Outcome[]): void {
  // In seq order per room: the handlers fan the events out in the order they are answered.
  ordered.forEach((item, i) => {
    const outcome = outcomes[i];
    if (outcome && 'accepted' in outcome) item.resolve(outcome.accepted);
    else item.reject(outcome?.error);
  });
}

/**
 * The batch in one transaction, each send in a savepoint; what each came to once committed
 * (refusals recovered as a lone send's would be). Null when the transaction as a whole
 * failed (a deadlock, a lost connection): nothing of it was stored.
 */
async function together(deps: SendDeps, ordered: Waiting[]): Promise<Outcome[] | null> {
  const stored: Outcome[] = [];
  const trx = await deps.db
    .startTransaction()
    .execute()
    .catch(() => null);
  if (trx === null) return null;
  try {
    for (const { sender, input } of ordered) {
      const point = await trx.savepoint('send').execute();
      try {
        stored.push({ accepted: await store(point, deps, sender, input) });
        await point.releaseSavepoint('send').execute();
      } catch (error) {
        stored.push({ error });
        await point.rollbackToSavepoint('send').execute();
        await point.releaseSavepoint('send').execute();
      }
    }
    await trx.commit().execute();
  } catch {
    await trx
      .rollback()
      .execute()
      .catch(() => undefined);
    return null;
  }
  return Promise.all(
    stored.map((outcome, i) => {
      const item = ordered[i];
      if ('accepted' in outcome || !item) return Promise.resolve(outcome);
      return outcomeOf(recover(deps, item.sender, item.input, outcome.error));
    }),
  );
}

/** Store one send inside `trx`, or throw what it is refused with. */
async function store(
  trx: Transaction<Database>,
  deps: SendDeps,
  sender: Sender,
  input: SendInput,
): Promise<Accepted> {
  const { now, membersOf } = deps;
  const member = await accessRoom(trx, input.room, sender.userId);
  const existing = await earlierSend(trx, sender, input);
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
  // An application message from an epoch before the room's current one (read with the
  // membership, in this transaction): members who joined since could not decrypt it. The
  // sender catches up and encrypts it again.
  if (input.kind !== 'commit' && input.epoch !== undefined && input.epoch < member.epoch)
    throw new ChatError('CHAT_ERR_STALE_EPOCH', undefined, { epoch: member.epoch });
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
  if (member.pending && (member.pendingDevice === null || member.pendingDevice === sender.deviceId))
    await endPendingAdd(trx, input.room, sender.userId);
  return { event, duplicate: false, recipients };
}
