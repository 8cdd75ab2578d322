/**
 * Security headers on every response — pages, API answers, static files, errors and 404s:
 * a strict Content-Security-Policy with no inline script ('wasm-unsafe-eval' only, for the
 * OPAQUE WebAssembly), no framing, nosniff, no referrer, a Permissions-Policy that denies
 * powerful features, COOP/CORP same-origin, HSTS when served over TLS, a Server header
 * that names no technology, and `Cache-Control: no-store` on every answer that sets no
 * caching of its own.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';

export const PERMISSIONS_POLICY = [
  'accelerometer=()',
  'ambient-light-sensor=()',
  'autoplay=()',
  'battery=()',
  'bluetooth=()',
  'browsing-topics=()',
  'camera=()',
  'display-capture=()',
  'document-domain=()',
  'encrypted-media=()',
  'geolocation=()',
  'gyroscope=()',
  'hid=()',
  'idle-detection=()',
  'interest-cohort=()',
  'magnetometer=()',
  'microphone=()',
  'midi=()',
  'payment=()',
  'publickey-credentials-get=(self)',
  'screen-wake-lock=()',
  'serial=()',
  'usb=()',
  'xr-spatial-tracking=()',
].join(', ');

export function contentSecurityPolicy(config: Config): Record<string, string[]> {
  const origin = new URL(config.publicOrigin);
  const socketOrigin = `${origin.protocol === 'https:' ? 'wss:' : 'ws:'}//${origin.host}`;
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    'script-src': ["'self'", "'wasm-unsafe-eval'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:', 'blob:'],
    'font-src': ["'self'"],
    'connect-src': ["'self'", socketOrigin],
    'media-src': ["'self'", 'blob:'],
    'worker-src': ["'self'", 'blob:'],
    'manifest-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'frame-src': ["'none'"],
  };
  if (servesHttps(config)) directives['upgrade-insecure-requests'] = [];
  return directives;
}

/**
 * True when browsers reach us over https: TLS served here, or a TLS-terminating proxy in front
 * (PUBLIC_ORIGIN is https). Only then are HSTS and upgrade-insecure-requests sent.
 */
export function servesHttps(config: Config): boolean {
  return config.tls !== null || config.publicOrigin.startsWith('https:');
}

/** What the Server header says: the product, never the technology under it. */
export const SERVER_NAME = 'SecureChat';

/** HSTS: two years, subdomains included (no `preload`: that is the operator's decision). */
export const HSTS = 'max-age=63072000; includeSubDomains';

/** The CSP header value, written as helmet writes it. */
export function serializeCsp(directives: Record<string, string[]>): string {
  return Object.entries(directives)
    .map(([name, values]) => [name, ...values].join(' '))
    .join(';');
}

/**
 * The same headers helmet and our hook set, as one record, for the few answers that are written
 * before any hook runs (a malformed URL, a broken or timed-out request). A test keeps the two
 * in step.
 */
export function baselineHeaders(config: Config): Record<string, string> {
  return {
    'content-security-policy': serializeCsp(contentSecurityPolicy(config)),
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'no-referrer',
    ...(servesHttps(config) ? { 'strict-transport-security': HSTS } : {}),
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-frame-options': 'DENY',
    'x-permitted-cross-domain-policies': 'none',
    'x-xss-protection': '0',
    'permissions-policy': PERMISSIONS_POLICY,
    server: SERVER_NAME,
    'cache-control': 'no-store',
  };
}

async function securityPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { config } = opts;
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy(config) },
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    originAgentCluster: true,
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: servesHttps(config)
      ? { maxAge: 63_072_000, includeSubDomains: true, preload: false }
      : false,
    xContentTypeOptions: true,
    xDnsPrefetchControl: { allow: false },
    xDownloadOptions: true,
    xFrameOptions: { action: 'deny' },
    xPermittedCrossDomainPolicies: { permittedPolicies: 'none' },
    xPoweredBy: true,
    xXssProtection: true,
  });

  app.addHook('onRequest', async (_request, reply) => {
    reply.header('permissions-policy', PERMISSIONS_POLICY);
    reply.header('server', SERVER_NAME);
  });
  // Nothing is cached unless its answer says otherwise (the web app's files and pages, the
  // error pages' stylesheet): decided by who answers, not by matching the URL.
  app.addHook('onSend', async (_request, reply) => {
    if (reply.getHeader('cache-control') === undefined) reply.header('cache-control', 'no-store');
  });
}

export default fp(securityPlugin, { name: 'security' });
