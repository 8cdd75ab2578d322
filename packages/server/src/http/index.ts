/**
 * All HTTP API routes, each capability its own plugin under /api.
 */
import { ApiRoutes, HealthResponse, Limits, PRODUCT_NAME, ServerInfo } from '@securechat/protocol';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { accountRoutes } from './account.js';
import { adminRoutes } from './admin.js';
import { authRoutes } from './auth.js';

export async function registerApiRoutes(
  app: FastifyInstance,
  opts: { config: Config },
): Promise<void> {
  app.get(
    ApiRoutes.server,
    { schema: { response: { 200: ServerInfo } } },
    async (): Promise<ServerInfo> => ({
      name: PRODUCT_NAME,
      version: '0.1.0',
      registration: opts.config.registration,
      limits: {
        usernameMinLength: Limits.USERNAME_MIN_LENGTH,
        usernameMaxLength: Limits.USERNAME_MAX_LENGTH,
        passwordMinLength: Limits.PASSWORD_MIN_LENGTH,
      },
    }),
  );

  app.get(ApiRoutes.health, { schema: { response: { 200: HealthResponse } } }, async () => {
    await app.services.health.check();
    return { status: 'ok' as const, database: 'ok' as const };
  });

  await app.register(authRoutes);
  await app.register(accountRoutes);
  await app.register(adminRoutes);
}
