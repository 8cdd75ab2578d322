/**
 * Sessions: reads the `__Host-sc_session` cookie on every request and resolves it to
 * `request.auth` (or null) — expired, revoked and suspended sessions resolve to null.
 * `app.requireUser` and `app.requireAdmin` are the only two access gates routes use, as
 * preHandler hooks on a route plugin's scope; every admin route sits behind `requireAdmin`.
 * The decisions themselves are domain/access.ts's.
 */
import { Limits } from '@securechat/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { accessAdmin, accessSignedIn } from '../domain/access.js';
import type { AuthContext } from '../domain/context.js';

export const SESSION_COOKIE = '__Host-sc_session';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  interface FastifyInstance {
    requireUser: (request: FastifyRequest) => Promise<void>;
    requireAdmin: (request: FastifyRequest) => Promise<void>;
    setSessionCookie: (reply: FastifyReply, token: string) => void;
    clearSessionCookie: (reply: FastifyReply) => void;
  }
}

/** The signed-in user's session; throws CHAT_ERR_UNAUTHENTICATED otherwise. */
export function authOf(request: FastifyRequest): AuthContext {
  return accessSignedIn(request.auth);
}

const cookieOptions = {
  path: '/',
  httpOnly: true,
  secure: true,
  sameSite: 'strict',
} as const;

async function authPlugin(app: FastifyInstance, _opts: { config: Config }): Promise<void> {
  app.decorateRequest('auth', null);

  app.addHook('onRequest', async (request) => {
    const token = request.cookies[SESSION_COOKIE];
    if (token && token.length <= Limits.TOKEN_MAX_LENGTH) {
      request.auth = await app.services.accounts.authenticate(token);
    }
  });

  app.decorate('requireUser', async (request: FastifyRequest) => {
    accessSignedIn(request.auth);
  });
  app.decorate('requireAdmin', async (request: FastifyRequest) => {
    accessAdmin(request.auth);
  });
  app.decorate('setSessionCookie', (reply: FastifyReply, token: string) => {
    reply.setCookie(SESSION_COOKIE, token, {
      ...cookieOptions,
      maxAge: Limits.SESSION_ABSOLUTE_SECONDS,
    });
  });
  app.decorate('clearSessionCookie', (reply: FastifyReply) => {
    reply.clearCookie(SESSION_COOKIE, cookieOptions);
  });
}

export default fp(authPlugin, { name: 'auth', dependencies: ['services'] });
