/** Administration. Every route here sits behind the one `requireAdmin` check. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ApiRoutes,
  InviteCreateRequest,
  InviteCreateResponse,
  InviteParams,
  InvitesResponse,
  UsersResponse,
} from '@securechat/protocol';
import type { FastifyInstance } from 'fastify';
import { authOf } from '../plugins/auth.js';
import { requestContext } from './request-context.js';

export async function adminRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts } = app.services;
  app.addHook('preHandler', app.requireAdmin);

  app.get(
    ApiRoutes.adminUsers,
    { schema: { response: { 200: UsersResponse } } },
    async (request) => ({ users: await accounts.listUsers(authOf(request)) }),
  );

  app.get(
    ApiRoutes.adminInvites,
    { schema: { response: { 200: InvitesResponse } } },
    async (request) => ({ invites: await accounts.listInvites(authOf(request)) }),
  );

  app.post(
    ApiRoutes.adminInvites,
    { schema: { body: InviteCreateRequest, response: { 201: InviteCreateResponse } } },
    async (request, reply) => {
      const created = await accounts.createInvite(
        authOf(request),
        request.body.ttlSeconds,
        requestContext(request),
      );
      return reply.code(201).send(created);
    },
  );

  app.delete(
    ApiRoutes.adminInvite,
    { schema: { params: InviteParams } },
    async (request, reply) => {
      await accounts.revokeInvite(
        authOf(request),
        request.params.inviteId,
        requestContext(request),
      );
      return reply.code(204).send();
    },
  );
}
