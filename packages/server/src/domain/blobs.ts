/**
 * Blobs: opaque bytes bigger than a frame (ratchet trees, welcomes, group info) that a member
 * uploads into a room for the other members to fetch. Access is the room's (members only;
 * anyone else, and any blob that is missing, expired or in another room, gets the same
 * CHAT_ERR_NOT_FOUND); each user has a quota of unexpired bytes; blobs expire and are swept.
 */
import { ChatError, Limits } from '@securechat/protocol';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../storage/dialect.js';
import type { Database } from '../storage/types.js';
import { accessRoom } from './access.js';
import { newId } from './crypto.js';

export interface BlobsDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  now: () => number;
  /** Defaults: the protocol's limits. */
  maxBytes?: number;
  quotaBytes?: number;
  ttlSeconds?: number;
}

export interface StoredBlob {
  id: string;
  size: number;
  expiresAt: number;
}

export function createBlobs(deps: BlobsDeps) {
  const { db, now } = deps;
  const maxBytes = deps.maxBytes ?? Limits.BLOB_MAX_BYTES;
  const quotaBytes = deps.quotaBytes ?? Limits.BLOB_BYTES_PER_USER_MAX;
  const ttlMs = (deps.ttlSeconds ?? Limits.BLOB_TTL_SECONDS) * 1000;

  return {
    /**
     * Whether this user may upload into this room (CHAT_ERR_NOT_FOUND otherwise). Checked
     * before the body is read, and again when it is stored.
     */
    async mayUpload(userId: string, roomId: string): Promise<void> {
      await accessRoom(db, roomId, userId);
    },

    /** Store a blob in a room this user is in, within their quota. */
    async put(userId: string, roomId: string, data: Uint8Array): Promise<StoredBlob> {
      if (data.byteLength === 0)
        throw new ChatError('CHAT_ERR_VALIDATION', 'A blob cannot be empty.');
      if (data.byteLength > maxBytes) throw tooLarge(maxBytes);
      return db.transaction().execute(async (tx) => {
        await accessRoom(tx, roomId, userId);
        const at = now();
        // One user's uploads one at a time (PostgreSQL; SQLite writes one at a time anyway),
        // so two racing uploads cannot both fit in the same remaining quota.
        if (deps.dialect === 'postgres')
          await sql`select id from users where id = ${userId} for update`.execute(tx);
        const used = await tx
          .selectFrom('blobs')
          .select((eb) => eb.fn.sum<string | number | null>('size').as('bytes'))
          .where('user_id', '=', userId)
          .where('expires_at', '>', at)
          .executeTakeFirst();
        if (Number(used?.bytes ?? 0) + data.byteLength > quotaBytes)
          throw new ChatError('CHAT_ERR_BLOB_QUOTA');
        const blob = { id: newId(), size: data.byteLength, expiresAt: at + ttlMs };
        await tx
          .insertInto('blobs')
          .values({
            id: blob.id,
            room_id: roomId,
            user_id: userId,
            size: blob.size,
            created_at: at,
            expires_at: blob.expiresAt,
            data,
          })
          .execute();
        return blob;
      });
    },

    /** A blob of a room this user is in; CHAT_ERR_NOT_FOUND alike for everything else. */
    async get(userId: string, roomId: string, id: string): Promise<Uint8Array> {
      await accessRoom(db, roomId, userId);
      const row = await db
        .selectFrom('blobs')
        .select('data')
        .where('id', '=', id)
        .where('room_id', '=', roomId)
        .where('expires_at', '>', now())
        .executeTakeFirst();
      if (!row) throw new ChatError('CHAT_ERR_NOT_FOUND');
      return row.data;
    },

    /** Delete expired blobs; returns how many. */
    async sweep(): Promise<number> {
      const result = await db
        .deleteFrom('blobs')
        .where('expires_at', '<=', now())
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/** The answer to a blob over the size limit, naming the limit. */
export function tooLarge(maxBytes: number): ChatError {
  const mib = maxBytes / (1024 * 1024);
  return new ChatError(
    'CHAT_ERR_PAYLOAD_TOO_LARGE',
    `A blob may be at most ${Number.isInteger(mib) ? `${mib} MiB` : `${maxBytes} bytes`}.`,
  );
}
