/**
 * Blobs: opaque bytes bigger than a frame (ratchet trees, welcomes, group info) that a member
 * uploads into a room for the other members to fetch. Access is the room's (members only;
 * anyone else, and any blob that is missing, expired or in another room, gets the same
 * CHAT_ERR_NOT_FOUND); each user has a quota of unexpired bytes; blobs expire and are swept.
 *
 * A room's current group-info blob (rooms.group_info_blob, named by the accepted commit that
 * started the epoch: delivery/send.ts) is the exception: while it is current it is served and
 * kept past its expiry and counts against nobody's quota, so a big room's ratchet tree does
 * not eat its last committer's quota. Once a later commit names another, it is an ordinary
 * blob again: it counts, expires and is swept as any other.
 */
import { ChatError, Limits } from '@securechat/protocol';
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
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

/** Whether the blob of this row is some room's current group info. */
const isCurrentGroupInfo = (eb: ExpressionBuilder<Database, 'blobs'>) =>
  eb.exists(
    eb.selectFrom('rooms').select('rooms.id').whereRef('rooms.group_info_blob', '=', 'blobs.id'),
  );

/**
 * The blob a commit names as its group info: one the sending user uploaded into this room
 * that is still there (unexpired, or already the room's current one). Else
 * CHAT_ERR_VALIDATION naming `groupInfo`: the commit is refused.
 */
export async function groupInfoBlob(
  trx: Kysely<Database>,
  roomId: string,
  userId: string,
  blobId: string,
  at: number,
): Promise<void> {
  const row = await trx
    .selectFrom('blobs')
    .select('id')
    .where('id', '=', blobId)
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('expires_at', '>', at), isCurrentGroupInfo(eb)]))
    .executeTakeFirst();
  if (!row)
    throw new ChatError(
      'CHAT_ERR_VALIDATION',
      'The group info must be a blob you uploaded into this room: upload it again.',
      { field: 'groupInfo' },
    );
}

/**
 * A commit naming this blob was refused: delete it if it is this user's in this room and no
 * room's current group info, so retried commits do not pile up blobs. Returns whether it was.
 */
export async function discardGroupInfoBlob(
  db: Kysely<Database>,
  roomId: string,
  userId: string,
  blobId: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('blobs')
    .where('id', '=', blobId)
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .where((eb) => eb.not(isCurrentGroupInfo(eb)))
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
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
          .where((eb) => eb.not(isCurrentGroupInfo(eb)))
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

    /**
     * A blob of a room this user is in (any member: also the room's current group info);
     * CHAT_ERR_NOT_FOUND alike for everything else.
     */
    async get(userId: string, roomId: string, id: string): Promise<Uint8Array> {
      await accessRoom(db, roomId, userId);
      const at = now();
      const row = await db
        .selectFrom('blobs')
        .select('data')
        .where('id', '=', id)
        .where('room_id', '=', roomId)
        .where((eb) => eb.or([eb('expires_at', '>', at), isCurrentGroupInfo(eb)]))
        .executeTakeFirst();
      if (!row) throw new ChatError('CHAT_ERR_NOT_FOUND');
      return row.data;
    },

    /** Delete expired blobs (never a room's current group info); returns how many. */
    async sweep(): Promise<number> {
      const result = await db
        .deleteFrom('blobs')
        .where('expires_at', '<=', now())
        .where((eb) => eb.not(isCurrentGroupInfo(eb)))
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
