/**
 * Registration, sign-in and sign-out. Thin: validation by the protocol's schemas, work by
 * the accounts domain, rate limits before any OPAQUE work.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ApiRoutes,
  LoginFinishRequest,
  LoginStartRequest,
  LoginStartResponse,
  RegisterFinishRequest,
  RegisterFinishResponse,
  RegisterStartRequest,
  RegisterStartResponse,
  SessionResponse,
} from '@securechat/protocol';
import type { FastifyInstance } from 'fastify';
import { authOf } from '../plugins/auth.js';
import { requestContext } from './request-context.js';

export async function authRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts } = app.services;

  app.post(
    ApiRoutes.registerStart,
    { schema: { body: RegisterStartRequest, response: { 200: RegisterStartResponse } } },
    async (request) => {
      return accounts.registerStart(request.body);
    },
  );

  app.post(
    ApiRoutes.registerFinish,
    { schema: { body: RegisterFinishRequest, response: { 201: RegisterFinishResponse } } },
    async (request, reply) => {
      // Counted here, where an account is created: a client can call finish without start.
      await app.limits.registration(request.ip);
      const user = await accounts.registerFinish(request.body, requestContext(request));
      return reply.code(201).send({ user });
    },
  );

  app.post(
    ApiRoutes.loginStart,
    { schema: { body: LoginStartRequest, response: { 200: LoginStartResponse } } },
    async (request) => {
      await app.limits.login(request.ip, accounts.rateLimitKey(request.body.username));
      return accounts.loginStart(request.body);
    },
  );

  app.post(
    ApiRoutes.loginFinish,
    { schema: { body: LoginFinishRequest, response: { 200: SessionResponse } } },
    async (request, reply) => {
      const { token, auth } = await accounts.loginFinish(request.body, requestContext(request));
      app.setSessionCookie(reply, token);
      return { user: auth.user, device: { ...auth.device, current: true } };
    },
  );

  app.post(ApiRoutes.logout, async (request, reply) => {
    if (request.auth) await accounts.logout(request.auth, requestContext(request));
    app.clearSessionCookie(reply);
    return reply.code(204).send();
  });

  app.get(
    ApiRoutes.session,
    { schema: { response: { 200: SessionResponse } } },
    async (request) => {
      const auth = authOf(request);
      return { user: auth.user, device: { ...auth.device, current: true } };
    },
  );
}
