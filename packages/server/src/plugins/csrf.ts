/**
 * Cross-site request forgery protection for every state-changing request to a route of the
 * scope this plugin is registered in (app.ts registers it in the encapsulated `/api` scope,
 * which owns every API route). The guard is a hook of that scope, never a match on the URL:
 * the router decodes percent-escapes (`/%61pi/...` is `/api/...`), so a prefix test on the raw
 * URL would let such a request reach its handler unchecked. Each request:
 *  1. the request must come from our own origin: `Origin` equal to PUBLIC_ORIGIN, or — when
 *     a browser sends no Origin — `Sec-Fetch-Site: same-origin`; a request with neither, or
 *     with a cross-site `Sec-Fetch-Site`, is refused;
 *  2. it must carry a CSRF token (header `x-csrf-token`, from GET /api/csrf) that matches the
 *     secret in the signed `__Host-sc_csrf` cookie (@fastify/csrf-protection).
 * Refusals are 403 CHAT_ERR_CSRF. The same origin check guards the WebSocket upgrade.
 */
import csrfProtection from '@fastify/csrf-protection';
import { ApiRoutes, ChatError, CSRF_HEADER, CsrfResponse } from '@securechat/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';

export const CSRF_COOKIE = '__Host-sc_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * True when the request was made by a page of our own origin: `Origin` equals `publicOrigin`,
 * or, when a browser sent no Origin, `Sec-Fetch-Site` says same-origin. Any Sec-Fetch-Site other
 * than same-origin or none (a typed address) refuses, whatever Origin says. Used for
 * state-changing API requests and for the WebSocket upgrade.
 */
export function isSameOrigin(headers: FastifyRequest['headers'], publicOrigin: string): boolean {
  const origin = headers.origin;
  const fetchSite = headers['sec-fetch-site'];
  if (typeof fetchSite === 'string' && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    return false;
  }
  if (typeof origin === 'string') return origin === publicOrigin;
  return fetchSite === 'same-origin';
}

async function csrfPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  await app.register(csrfProtection, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    cookieOpts: { path: '/', httpOnly: true, secure: true, sameSite: 'strict', signed: true },
    getToken: (request) => {
      const value = request.headers[CSRF_HEADER];
      return typeof value === 'string' ? value : undefined;
    },
  });

  app.get(
    ApiRoutes.csrf,
    {
      schema: {
        tags: ['auth'],
        summary: 'A CSRF token for the state-changing requests (sets its cookie).',
        response: { 200: CsrfResponse },
      },
    },
    async (_request, reply) => {
      const token = reply.generateCsrf();
      return { token };
    },
  );

  // fastify-plugin: the hook lands in the scope that registers this plugin, and covers every
  // route of it — whatever spelling of the path the router matched.
  app.addHook('onRequest', (request, reply, done) => {
    if (SAFE_METHODS.has(request.method)) {
      done();
      return;
    }
    if (!isSameOrigin(request.headers, opts.config.publicOrigin)) {
      done(new ChatError('CHAT_ERR_CSRF'));
      return;
    }
    app.csrfProtection(request, reply, done);
  });
}

export default fp(csrfPlugin, { name: 'csrf', dependencies: ['@fastify/cookie'] });
