/**
 * All HTTP API routes, each capability its own plugin. Registered inside the encapsulated
 * API scope (app.ts), so the scope's guards (CSRF) run for each of them.
 */
import { ApiRoutes, HealthResponse, Limits, PRODUCT_NAME, ServerInfo } from '@securechat/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { accountRoutes } from './account.js';
import { adminRoutes } from './admin.js';
import { authRoutes } from './auth.js';
import { blobRoutes } from './blobs.js';
import { fileRoutes } from './files.js';

export async function registerApiRoutes(
  app: FastifyInstance,
  opts: { config: Config },
): Promise<void> {
  app.get(
    ApiRoutes.server,
    {
      schema: {
        tags: ['server'],
        summary: 'What this server is: its name, version, registration mode and limits.',
        response: { 200: ServerInfo },
      },
    },
    async (): Promise<ServerInfo> => ({
      name: PRODUCT_NAME,
      version: '0.1.0',
      registration: opts.config.registration,
      limits: {
        usernameMinLength: Limits.USERNAME_MIN_LENGTH,
        usernameMaxLength: Limits.USERNAME_MAX_LENGTH,
        passwordMinLength: Limits.PASSWORD_MIN_LENGTH,
        fileMaxBytes: opts.config.files.maxBytes,
        fileTypes: opts.config.files.allowedTypes,
      },
    }),
  );

  app.get(
    ApiRoutes.health,
    {
      schema: {
        tags: ['server'],
        summary: 'Whether the server and its database answer.',
        response: { 200: HealthResponse },
      },
    },
    async () => {
      await app.services.health.check();
      return { status: 'ok' as const, database: 'ok' as const };
    },
  );

  await app.register(authRoutes);
  await app.register(accountRoutes);
  await app.register(adminRoutes);
  await app.register(blobRoutes);
  await app.register(fileRoutes, { maxBytes: opts.config.files.maxBytes });

  // Every other path under /api, however it was spelled, belongs to this scope too: its
  // guards run (a forged POST is refused as such), then the ordinary 404 or 405.
  const unknown = async (_request: FastifyRequest, reply: FastifyReply) => reply.callNotFound();
  app.all('/api', { schema: { hide: true } }, unknown);
  app.all('/api/*', { schema: { hide: true } }, unknown);
}
