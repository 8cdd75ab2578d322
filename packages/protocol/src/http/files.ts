/**
 * Files: attachments, encrypted in the sender's browser (a fresh key per file, sealed in
 * chunks) and uploaded as ciphertext; the key and the plaintext's hash travel only inside the
 * MLS message that names the file.
 *
 * - `PUT /api/rooms/:room/files?type=<ext>` with the ciphertext as the body
 *   (`application/octet-stream`; CSRF token and same-site Origin as for every state-changing
 *   request) answers 201 with the file's random id. `type` is the file's declared type (its
 *   extension), which must be on the server's allow-list (CHAT_ERR_FILE_TYPE); the body may
 *   be at most `sealedFileBytes(FILE_MAX_BYTES)` (CHAT_ERR_PAYLOAD_TOO_LARGE); each user has
 *   FILE_QUOTA_BYTES of stored files (CHAT_ERR_FILE_QUOTA) and
 *   FILE_UPLOADS_PER_MINUTE_PER_USER uploads. A refused upload leaves nothing stored.
 * - A `send` of kind `message` names the file in `file`: from then on the file is kept until
 *   that message is deleted, and then it is deleted too. A file no message names within
 *   FILE_UNREFERENCED_SECONDS is collected.
 * - `GET /api/rooms/:room/files/:id` answers the ciphertext to members of that room. A
 *   missing, deleted or other room's file, and a room you are not in, all answer the same 404.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ID_REGEX_SOURCE } from '../ids.js';

export const FILE_CONTENT_TYPE = 'application/octet-stream';

export const FileRoutes = {
  upload: '/api/rooms/:room/files',
  file: '/api/rooms/:room/files/:id',
} as const;

const Id = Type.String({ pattern: ID_REGEX_SOURCE });

/** A declared file type: a lower-case extension without its dot. */
export const FILE_TYPE_PATTERN = '^[a-z0-9]{1,10}$';

/** The path of a room's file uploads (with the declared type), or of one file. */
export const filePath = (room: string, id?: string): string =>
  `/api/rooms/${encodeURIComponent(room)}/files${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;

export const FileUploadParams = Type.Object({ room: Id }, { additionalProperties: false });
export type FileUploadParams = Static<typeof FileUploadParams>;

export const FileUploadQuery = Type.Object(
  { type: Type.String({ pattern: FILE_TYPE_PATTERN }) },
  { additionalProperties: false },
);
export type FileUploadQuery = Static<typeof FileUploadQuery>;

export const FileParams = Type.Object({ room: Id, id: Id }, { additionalProperties: false });
export type FileParams = Static<typeof FileParams>;

export const FileUploadResponse = Type.Object(
  { id: Id, size: Type.Integer({ minimum: 1 }) },
  { additionalProperties: false },
);
export type FileUploadResponse = Static<typeof FileUploadResponse>;
