/**
 * Files over HTTP (protocol: http/files.ts): attachments' ciphertext, uploaded into a room
 * and fetched by its members. The declared type, the size, who may upload and how often are
 * checked before the body is read; the quota when it is stored. Due files are collected.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ChatError,
  FILE_CONTENT_TYPE,
  FileParams,
  FileRoutes,
  FileUploadParams,
  FileUploadQuery,
  FileUploadResponse,
} from '@securechat/protocol';
import type { FastifyInstance } from 'fastify';
import { fileTooLarge } from '../domain/files.js';
import { authOf } from '../plugins/auth.js';
import { BINARY } from '../plugins/openapi.js';

/** How often due files are collected. */
const COLLECT_INTERVAL_MS = 10 * 60 * 1000;

export async function fileRoutes(
  fastify: FastifyInstance,
  opts: { maxBytes: number },
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { limiter, files } = app.services;
  const bodyLimit = files.maxUploadBytes;

  // In this plugin only: the body of an upload is the ciphertext itself.
  app.addContentTypeParser(
    FILE_CONTENT_TYPE,
    { parseAs: 'buffer', bodyLimit },
    (_request, body, done) => done(null, body),
  );

  app.put(
    FileRoutes.upload,
    {
      bodyLimit,
      schema: {
        tags: ['files'],
        summary: 'Upload an encrypted file into a room (body: application/octet-stream).',
        params: FileUploadParams,
        querystring: FileUploadQuery,
        response: { 201: FileUploadResponse },
      },
      // Before the body is read: who, how often, what type, how big, which room.
      onRequest: async (request) => {
        const auth = authOf(request);
        const declared = Number(request.headers['content-length'] ?? 0);
        if (declared > bodyLimit) throw fileTooLarge(opts.maxBytes);
        const retryAfter = await limiter.consume('fileUploads', auth.user.id);
        if (retryAfter !== null)
          throw new ChatError('CHAT_ERR_RATE_LIMITED', undefined, { retryAfter });
        // The query is parsed (not yet validated): anything off the allow-list is refused.
        const { type } = request.query as { type?: unknown };
        await files.mayUpload(
          auth.user.id,
          request.params.room,
          typeof type === 'string' ? type : '',
          declared,
        );
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      if (!(request.body instanceof Buffer))
        throw new ChatError(
          'CHAT_ERR_UNSUPPORTED_MEDIA_TYPE',
          `Upload the encrypted file as ${FILE_CONTENT_TYPE}.`,
        );
      const file = await files.put(
        auth.user.id,
        request.params.room,
        request.query.type,
        request.body,
      );
      return reply.code(201).send(file);
    },
  );

  app.get(
    FileRoutes.file,
    {
      schema: {
        tags: ['files'],
        summary: "An encrypted file's bytes, to members of its room.",
        response: { 200: BINARY },
        params: FileParams,
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const data = await files.get(auth.user.id, request.params.room, request.params.id);
      return reply
        .type(FILE_CONTENT_TYPE)
        .header('cache-control', 'private, no-store')
        .header('content-disposition', 'attachment')
        .send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    },
  );

  const collector = setInterval(() => files.collectSoon(), COLLECT_INTERVAL_MS);
  collector.unref();
  app.addHook('onClose', async () => {
    clearInterval(collector);
  });
}
