/**
 * buildApp(): the whole server as a Fastify instance, without listening. Tests use it with
 * `inject()`; main.ts adds `listen()`. Each capability is one plugin; the order below matters
 * only where a comment says so.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import { Limits } from '@securechat/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { registerApiRoutes } from './http/index.js';
import { createLogger } from './logger.js';
import authPlugin from './plugins/auth.js';
import csrfPlugin from './plugins/csrf.js';
import errorsPlugin, { clientErrorHandler, frameworkErrorHandler } from './plugins/errors.js';
import metricsPlugin, { metricsRoute } from './plugins/metrics.js';
import openapiPlugin, { openapiRoute } from './plugins/openapi.js';
import rateLimitsPlugin from './plugins/rate-limits.js';
import securityPlugin from './plugins/security.js';
import servicesPlugin from './plugins/services.js';
import webPlugin from './plugins/web.js';
import gatewayPlugin from './realtime/gateway.js';
import type { Secrets } from './secrets.js';
import type { Storage } from './storage/db.js';
import type { Keyring } from './vault/keyring.js';

export interface AppOptions {
  config: Config;
  secrets: Secrets;
  /** An open, migrated storage; the app closes it when it closes. */
  storage: Storage;
  /** The keyring of encryption at rest, prepared by the migration (src/vault). */
  vault: Keyring;
  logger?: Logger;
  /** Where the built web app lives; defaults to packages/web/dist. */
  webRoot?: string;
  /** Clock for expiry decisions; tests move it. */
  now?: () => number;
  /** Told of every route as it is added (a test compares them with the OpenAPI document). */
  onRoute?: (route: RouteOptions) => void;
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

/** Request line and headers together (Node's default, stated so it is a decision). */
export const MAX_HEADER_BYTES = 16 * 1024;

export async function buildApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const logger: FastifyBaseLogger = options.logger ?? createLogger(config.logLevel);
  // Node's own server options. Its header and request deadlines are only checked every
  // connectionsCheckingInterval (30 s by default): check often enough that they mean something.
  const server = {
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: config.timeouts.headersMs,
    requestTimeout: config.timeouts.requestMs,
    connectionsCheckingInterval: Math.min(1000, Math.floor(config.timeouts.headersMs / 2)),
  };
  const transport = config.tls
    ? {
        https: {
          ...server,
          cert: readFileSync(config.tls.certFile),
          key: readFileSync(config.tls.keyFile),
          minVersion: 'TLSv1.2' as const,
          ciphers: TLS_CIPHERS,
          honorCipherOrder: true,
        },
      }
    : { http: server };
  const app = Fastify({
    ...transport,
    loggerInstance: logger,
    genReqId: () => randomUUID(),
    // A client-supplied request id is not trusted: ours are generated.
    requestIdHeader: false,
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    bodyLimit: Limits.JSON_BODY_MAX_BYTES,
    // A socket with no traffic at all for this long is closed (server.timeout).
    connectionTimeout: config.timeouts.requestMs,
    requestTimeout: config.timeouts.requestMs,
    keepAliveTimeout: config.timeouts.keepAliveMs,
    maxRequestsPerSocket: 1000,
    return503OnClosing: true,
    // Answers written before any hook runs: ours too, in our format and with our headers.
    frameworkErrors: frameworkErrorHandler(config),
    clientErrorHandler: clientErrorHandler(config, logger),
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  // Errors and headers first: they must cover every later route, including 404s. Then the
  // services (no routes; the limits share their Redis connection when there is one), then the
  // per-address limit, before anything that does work (a 429 still carries the headers).
  await app.register(errorsPlugin);
  // Before any route: it describes each one as it is added.
  await app.register(openapiPlugin, { config });
  await app.register(securityPlugin, { config });
  // Metrics before anything they count (services, limits, routes).
  await app.register(metricsPlugin, { config, storage: options.storage });
  await app.register(servicesPlugin, {
    config,
    secrets: options.secrets,
    storage: options.storage,
    vault: options.vault,
    now: options.now ?? Date.now,
  });
  await app.register(rateLimitsPlugin, { config });
  await app.register(cookie, { secret: options.secrets.cookieSecret });
  await app.register(authPlugin, { config });
  await app.register(metricsRoute, { config });
  // The API scope: an encapsulated plugin that owns every /api route, so its guards apply by
  // scope (STYLE.md principle 17). Never by matching the URL: the router decodes `/%61pi/...`
  // to `/api/...`, a prefix test on the raw URL does not.
  await app.register(async function apiScope(api) {
    await api.register(csrfPlugin, { config });
    await api.register(gatewayPlugin, { config });
    await api.register(openapiRoute);
    await api.register(registerApiRoutes, { config });
  });
  await app.register(webPlugin, { config, ...(options.webRoot ? { root: options.webRoot } : {}) });
  return app;
}
