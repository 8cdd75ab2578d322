/**
 * Blobs: opaque bytes bigger than a frame (MLS ratchet trees, welcomes, group info),
 * uploaded over HTTP into a room and fetched by its members.
 *
 * - `PUT /api/rooms/:room/blobs` with the bytes as the body (`application/octet-stream`, at
 *   most BLOB_MAX_BYTES; CSRF token and same-site Origin as for every state-changing request)
 *   answers 201 with the blob's id. Only a member of the room may upload; each user has
 *   BLOB_BYTES_PER_USER_MAX of unexpired blobs (CHAT_ERR_BLOB_QUOTA past it) and
 *   BLOB_UPLOADS_PER_MINUTE_PER_USER uploads.
 * - `GET /api/rooms/:room/blobs/:id` answers the bytes to members of that room. A missing,
 *   expired or other room's blob, and a room you are not in, all answer the same 404.
 * - Blobs expire BLOB_TTL_SECONDS after upload, except a room's current group info (named by
 *   the accepted commit of its epoch: the `send` frame's `groupInfo`), which is kept, and
 *   counts against nobody's quota, until a later commit names another. The server sees their
 *   sizes, rooms, uploaders and timing, never what they hold (they are encrypted by the
 *   clients).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ID_REGEX_SOURCE } from '../ids.js';

export const BLOB_CONTENT_TYPE = 'application/octet-stream';

export const BlobRoutes = {
  upload: '/api/rooms/:room/blobs',
  blob: '/api/rooms/:room/blobs/:id',
} as const;

const Id = Type.String({ pattern: ID_REGEX_SOURCE });

/** The path of a room's blob uploads, or of one blob. */
export const blobPath = (room: string, id?: string): string =>
  `/api/rooms/${encodeURIComponent(room)}/blobs${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;

export const BlobUploadParams = Type.Object({ room: Id }, { additionalProperties: false });
export type BlobUploadParams = Static<typeof BlobUploadParams>;

export const BlobParams = Type.Object({ room: Id, id: Id }, { additionalProperties: false });
export type BlobParams = Static<typeof BlobParams>;

export const BlobUploadResponse = Type.Object(
  {
    id: Id,
    size: Type.Integer({ minimum: 1 }),
    /** Milliseconds since the epoch: fetch it before then. */
    expiresAt: Type.Integer(),
  },
  { additionalProperties: false },
);
export type BlobUploadResponse = Static<typeof BlobUploadResponse>;
