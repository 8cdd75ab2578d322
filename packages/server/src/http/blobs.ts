/**
 * Blobs over HTTP (protocol: http/blobs.ts): bytes bigger than a frame, uploaded into a room
 * and fetched by its members. Who may upload, the size limit and the per-user rate are
 * checked before the body is read; the quota when it is stored. Expired blobs are swept.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  BLOB_CONTENT_TYPE,
  BlobParams,
  BlobRoutes,
  BlobUploadParams,
  BlobUploadResponse,
  ChatError,
  Limits,
} from '@securechat/protocol';
import type { FastifyInstance } from 'fastify';
import { createBlobs, tooLarge } from '../domain/blobs.js';
import { authOf } from '../plugins/auth.js';
import { BINARY } from '../plugins/openapi.js';

/** How often expired blobs are deleted. */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

export async function blobRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { limiter } = app.services;
  const blobs = createBlobs({ db: app.storage.db, dialect: app.storage.dialect, now: Date.now });

  // In this plugin only: the body of an upload is the blob itself.
  app.addContentTypeParser(
    BLOB_CONTENT_TYPE,
    { parseAs: 'buffer', bodyLimit: Limits.BLOB_MAX_BYTES },
    (_request, body, done) => done(null, body),
  );

  app.put(
    BlobRoutes.upload,
    {
      bodyLimit: Limits.BLOB_MAX_BYTES,
      schema: {
        tags: ['files'],
        summary: 'Upload a blob into a room (body: application/octet-stream).',
        params: BlobUploadParams,
        response: { 201: BlobUploadResponse },
      },
      // Before the body is read: who, how often, how big.
      onRequest: async (request) => {
        const auth = authOf(request);
        const declared = Number(request.headers['content-length']);
        if (declared > Limits.BLOB_MAX_BYTES) throw tooLarge(Limits.BLOB_MAX_BYTES);
        const retryAfter = await limiter.consume('blobUploads', auth.user.id);
        if (retryAfter !== null)
          throw new ChatError('CHAT_ERR_RATE_LIMITED', undefined, { retryAfter });
        await blobs.mayUpload(auth.user.id, request.params.room);
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      if (!(request.body instanceof Buffer))
        throw new ChatError(
          'CHAT_ERR_UNSUPPORTED_MEDIA_TYPE',
          `Upload the blob as ${BLOB_CONTENT_TYPE}.`,
        );
      const blob = await blobs.put(auth.user.id, request.params.room, request.body);
      return reply.code(201).send(blob);
    },
  );

  app.get(
    BlobRoutes.blob,
    {
      schema: {
        tags: ['files'],
        summary: "A blob's bytes, to members of its room.",
        response: { 200: BINARY },
        params: BlobParams,
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const data = await blobs.get(auth.user.id, request.params.room, request.params.id);
      return reply
        .type(BLOB_CONTENT_TYPE)
        .header('cache-control', 'private, no-store')
        .header('content-disposition', 'attachment')
        .send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    },
  );

  const sweeper = setInterval(() => {
    blobs.sweep().catch((error: unknown) => app.log.warn({ err: error }, 'blob sweep failed'));
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
  });
}
