/**
 * buildApp(): the whole server as a Fastify instance, without listening. Tests use it with
 * `inject()`; main.ts adds `listen()`. Each capability is one plugin; the order below matters
 * only where a comment says so.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import { Limits } from '@securechat/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { registerApiRoutes } from './http/index.js';
import { createLogger } from './logger.js';
import authPlugin from './plugins/auth.js';
import csrfPlugin from './plugins/csrf.js';
import errorsPlugin from './plugins/errors.js';
import rateLimitsPlugin from './plugins/rate-limits.js';
import securityPlugin from './plugins/security.js';
import servicesPlugin from './plugins/services.js';
import webPlugin from './plugins/web.js';
import gatewayPlugin from './realtime/gateway.js';
import type { Secrets } from './secrets.js';
import type { Storage } from './storage/db.js';

export interface AppOptions {
  config: Config;
  secrets: Secrets;
  /** An open, migrated storage; the app closes it when it closes. */
  storage: Storage;
  logger?: Logger;
  /** Where the built web app lives; defaults to packages/web/dist. */
  webRoot?: string;
  /** Clock for expiry decisions; tests move it. */
  now?: () => number;
}

export type App = FastifyInstance;

/** TLS 1.2+ with forward-secret AEAD suites only (Node's defaults still offer CBC suites). */
export const TLS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

export async function buildApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const logger: FastifyBaseLogger = options.logger ?? createLogger(config.logLevel);
  const https = config.tls
    ? {
        https: {
          cert: readFileSync(config.tls.certFile),
          key: readFileSync(config.tls.keyFile),
          minVersion: 'TLSv1.2' as const,
          ciphers: TLS_CIPHERS,
          honorCipherOrder: true,
        },
      }
    : {};
  const app = Fastify({
    ...https,
    loggerInstance: logger,
    genReqId: () => randomUUID(),
    // A client-supplied request id is not trusted: ours are generated.
    requestIdHeader: false,
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    bodyLimit: Limits.JSON_BODY_MAX_BYTES,
    connectionTimeout: config.timeouts.requestMs,
    requestTimeout: config.timeouts.requestMs,
    keepAliveTimeout: config.timeouts.keepAliveMs,
    maxRequestsPerSocket: 1000,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  app.server.headersTimeout = config.timeouts.headersMs;

  // Errors and headers first: they must cover every later route, including 404s.
  await app.register(errorsPlugin);
  await app.register(securityPlugin, { config });
  await app.register(servicesPlugin, {
    config,
    secrets: options.secrets,
    storage: options.storage,
    now: options.now ?? Date.now,
  });
  await app.register(cookie, { secret: options.secrets.cookieSecret });
  await app.register(rateLimitsPlugin, { config });
  await app.register(csrfPlugin, { config });
  await app.register(authPlugin, { config });
  await app.register(gatewayPlugin, { config });
  await app.register(registerApiRoutes, { config });
  await app.register(webPlugin, { config, ...(options.webRoot ? { root: options.webRoot } : {}) });
  return app;
}
