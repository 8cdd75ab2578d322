/**
 * Files: attachments whose ciphertext (encrypted by the sender's browser) lives in the object
 * store, with one row each in `files` saying whose it is, which room may read it and until
 * when it is kept. Access is the room's: members only, and a missing, deleted or other room's
 * file looks exactly like a room you are not in (CHAT_ERR_NOT_FOUND).
 *
 * Lifecycle: an upload is checked (declared type on the allow-list, size, quota) and its row
 * written before the object, so a refused upload stores nothing, and a crash between the two
 * leaves only a row the collector removes. A row waits FILE_UNREFERENCED_SECONDS for a
 * message to name it (delivery/send.ts: `attachFile`); from then on it is kept until that
 * message is deleted (delivery/deletes.ts: `releaseFiles`), and then collected at once. The
 * collector deletes the object first and the row after, so no object outlives its row.
 */
import { ChatError, Limits, sealedFileBytes } from '@securechat/protocol';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../storage/dialect.js';
import type { ObjectStore } from '../storage/objects.js';
import type { Database } from '../storage/types.js';
import { accessRoom } from './access.js';
import { newId } from './crypto.js';

export interface FilesDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  objects: ObjectStore;
  now: () => number;
  /** Largest file (plaintext); uploads are its sealed size. */
  maxBytes: number;
  /** Declared types (extensions) allowed. */
  allowedTypes: readonly string[];
  quotaBytes: number;
}

export interface StoredFile {
  id: string;
  size: number;
}

/** Files collected per pass, so one pass stays short. */
const COLLECT_BATCH = 100;

/**
 * A message being stored names `fileId`: it must be a file this user uploaded into this room
 * that no message carries yet. From now on it is kept while message `seq` exists. Else
 * CHAT_ERR_VALIDATION naming `file`, and the send is refused.
 */
export async function attachFile(
  trx: Kysely<Database>,
  roomId: string,
  userId: string,
  fileId: string,
  seq: number,
  at: number,
): Promise<void> {
  const result = await trx
    .updateTable('files')
    .set({ message_seq: seq, expires_at: null })
    .where('id', '=', fileId)
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .where('message_seq', 'is', null)
    .where('expires_at', '>', at)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0)
    throw new ChatError(
      'CHAT_ERR_VALIDATION',
      'The file must be one you uploaded into this room for this message: upload it again.',
      { field: 'file' },
    );
}

/** Message `seq` was deleted: its files are due now (the collector removes them). */
export async function releaseFiles(
  trx: Kysely<Database>,
  roomId: string,
  seq: number,
  at: number,
): Promise<number> {
  const result = await trx
    .updateTable('files')
    .set({ message_seq: null, expires_at: at })
    .where('room_id', '=', roomId)
    .where('message_seq', '=', seq)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The answer to a file over the size limit, naming the limit. */
export function fileTooLarge(maxBytes: number): ChatError {
  return new ChatError(
    'CHAT_ERR_PAYLOAD_TOO_LARGE',
    `This file is too large: files may be at most ${formatBytes(maxBytes)}.`,
  );
}

/** The answer to a declared type not on the allow-list, naming the list. */
export function fileTypeRefused(type: string, allowed: readonly string[]): ChatError {
  return new ChatError(
    'CHAT_ERR_FILE_TYPE',
    `Files of type .${type} cannot be sent here. Allowed: ${allowed.join(', ')}.`,
  );
}

function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  if (Number.isInteger(mib)) return `${mib} MB`;
  const kib = bytes / 1024;
  return Number.isInteger(kib) ? `${kib} KB` : `${bytes} bytes`;
}

export function createFiles(deps: FilesDeps) {
  const { db, objects, now, allowedTypes, quotaBytes } = deps;
  const maxSealed = sealedFileBytes(deps.maxBytes);
  const unreferencedMs = Limits.FILE_UNREFERENCED_SECONDS * 1000;

  const checkType = (type: string) => {
    if (!allowedTypes.includes(type)) throw fileTypeRefused(type, allowedTypes);
  };

  return {
    /** The largest upload body (a file of maxBytes, sealed). */
    maxUploadBytes: maxSealed,

    /**
     * Before the body is read: the declared type, the declared length and the room
     * (CHAT_ERR_FILE_TYPE, CHAT_ERR_PAYLOAD_TOO_LARGE, CHAT_ERR_NOT_FOUND).
     */
    async mayUpload(userId: string, roomId: string, type: string, length: number): Promise<void> {
      checkType(type);
      if (length > maxSealed) throw fileTooLarge(deps.maxBytes);
      await accessRoom(db, roomId, userId);
    },

    /**
     * Store a file's ciphertext in a room this user is in, within their quota. Its row first
     * (quota checked under the user's lock), then the object; if the object can't be
     * written, the row goes again. Refused uploads store nothing.
     */
    async put(userId: string, roomId: string, type: string, data: Uint8Array): Promise<StoredFile> {
      checkType(type);
      if (data.byteLength === 0)
        throw new ChatError('CHAT_ERR_VALIDATION', 'A file upload cannot be empty.');
      if (data.byteLength > maxSealed) throw fileTooLarge(deps.maxBytes);
      const file = await db.transaction().execute(async (tx) => {
        await accessRoom(tx, roomId, userId);
        const at = now();
        // One user's uploads one at a time (PostgreSQL; SQLite writes one at a time anyway),
        // so two racing uploads cannot both fit in the same remaining quota.
        if (deps.dialect === 'postgres')
          await sql`select id from users where id = ${userId} for update`.execute(tx);
        const used = await tx
          .selectFrom('files')
          .select((eb) => eb.fn.sum<string | number | null>('size').as('bytes'))
          .where('user_id', '=', userId)
          .executeTakeFirst();
        if (Number(used?.bytes ?? 0) + data.byteLength > quotaBytes)
          throw new ChatError(
            'CHAT_ERR_FILE_QUOTA',
            `You have stored too many files (at most ${formatBytes(quotaBytes)}). Delete some of your messages with files first.`,
          );
        const row = { id: newId(), size: data.byteLength };
        await tx
          .insertInto('files')
          .values({
            id: row.id,
            room_id: roomId,
            user_id: userId,
            size: row.size,
            created_at: at,
            message_seq: null,
            expires_at: at + unreferencedMs,
          })
          .execute();
        return row;
      });
      try {
        await objects.put(file.id, data);
      } catch (error) {
        await db.deleteFrom('files').where('id', '=', file.id).execute();
        throw error;
      }
      return file;
    },

    /**
     * A file's ciphertext, for a member of its room; CHAT_ERR_NOT_FOUND alike for a room you
     * are not in and a file that is missing, deleted, due, or another room's.
     */
    async get(userId: string, roomId: string, id: string): Promise<Uint8Array> {
      await accessRoom(db, roomId, userId);
      const row = await db
        .selectFrom('files')
        .select('id')
        .where('id', '=', id)
        .where('room_id', '=', roomId)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now())]))
        .executeTakeFirst();
      const data = row ? await objects.get(row.id) : null;
      if (!data) throw new ChatError('CHAT_ERR_NOT_FOUND');
      return data;
    },

    /**
     * Remove files that are due (never named by a message in time, or their message deleted)
     * and files of rooms that no longer exist: each object, then its row. Returns how many.
     */
    async collect(): Promise<number> {
      let total = 0;
      for (;;) {
        const due = await db
          .selectFrom('files')
          .select('id')
          .where((eb) =>
            eb.or([
              eb('expires_at', '<=', now()),
              eb.not(
                eb.exists(
                  eb
                    .selectFrom('rooms')
                    .select('rooms.id')
                    .whereRef('rooms.id', '=', 'files.room_id'),
                ),
              ),
            ]),
          )
          .limit(COLLECT_BATCH)
          .execute();
        for (const { id } of due) {
          await objects.delete(id);
          await db.deleteFrom('files').where('id', '=', id).execute();
        }
        total += due.length;
        if (due.length < COLLECT_BATCH) return total;
      }
    },
  };
}

export type Files = ReturnType<typeof createFiles>;
