/**
 * The two-step delete: a short-lived, single-use code bound to one user and one message,
 * then the delete itself, which erases the payload of the message and its edits, releases
 * the file it carries, and appends a tombstone.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { ChatError, Limits } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/types.js';
import { newId } from '../crypto.js';
import { accessMessage, accessRoom } from '../access.js';
import { releaseFiles } from '../files.js';
import { memberIds } from '../membership.js';
import { appendEvent, EMPTY, type Accepted, type Sender } from './events.js';

export interface DeletesDeps {
  db: Kysely<Database>;
  now: () => number;
}

const hashCode = (code: string): string => createHash('sha256').update(code).digest('hex');

/** The delete code of one user for one message. */
const codeKey = (userId: string, room: string, seq: number) => ({
  user_id: userId,
  room_id: room,
  seq,
});

/**
 * Step 1 of a delete: a 4-digit code, single use, short-lived, bound to this message and
 * this user. Asking again replaces the previous code.
 */
export async function deleteCode(deps: DeletesDeps, actor: Sender, room: string, seq: number) {
  const { db, now } = deps;
  const member = await accessRoom(db, room, actor.userId);
  await accessMessage(db, actor.userId, member, seq, 'delete');
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
}

/** Step 2: with the right code, erase the message (and its edits) and append a tombstone. */
export async function deleteMessage(
  deps: DeletesDeps,
  actor: Sender,
  room: string,
  seq: number,
  code: string,
): Promise<Accepted> {
  const { db, now } = deps;
  const result = await db.transaction().execute(async (trx) => {
    const member = await accessRoom(trx, room, actor.userId);
    await accessMessage(trx, actor.userId, member, seq, 'delete');
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
    // Its file goes with it (collected once this commits: domain/files.ts).
    await releaseFiles(trx, room, seq, at);
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
}
