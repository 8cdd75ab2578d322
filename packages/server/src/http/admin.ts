/** Administration. Every route here sits behind the one `requireAdmin` check. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AdminUser,
  AdminUserParams,
  AdminUsersResponse,
  ApiRoutes,
  AuditQuery,
  AuditResponse,
  InviteCreateRequest,
  InviteCreateResponse,
  InviteParams,
  InvitesResponse,
  ResetLinkParams,
  ResetLinkRequest,
  ResetLinkResponse,
  RoleRequest,
  ServerStats,
  SuspendRequest,
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
    { schema: { response: { 200: AdminUsersResponse } } },
    async (request) => ({ users: await accounts.adminUsers(authOf(request)) }),
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

  app.post(
    ApiRoutes.adminResetLink,
    {
      schema: {
        params: ResetLinkParams,
        body: ResetLinkRequest,
        response: { 201: ResetLinkResponse },
      },
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const link = await accounts.createResetLink(
        authOf(request),
        request.params.userId,
        request.body.ttlSeconds,
        requestContext(request),
      );
      return reply.code(201).send(link);
    },
  );

  app.get(
    ApiRoutes.adminAudit,
    { schema: { querystring: AuditQuery, response: { 200: AuditResponse } } },
    async (request) => accounts.auditLog(authOf(request), request.query),
  );

  // Suspending ends every session of the account; this node closes their sockets now, the
  // other nodes at their next session check.
  app.post(
    ApiRoutes.adminSuspend,
    { schema: { params: AdminUserParams, body: SuspendRequest, response: { 200: AdminUser } } },
    async (request) => {
      const user = await accounts.setSuspended(
        authOf(request),
        request.params.userId,
        request.body.suspended,
        requestContext(request),
      );
      if (request.body.suspended) app.recheckSessions();
      return user;
    },
  );

  app.post(
    ApiRoutes.adminRole,
    { schema: { params: AdminUserParams, body: RoleRequest, response: { 200: AdminUser } } },
    async (request) =>
      accounts.changeRole(
        authOf(request),
        request.params.userId,
        request.body.role,
        requestContext(request),
      ),
  );

  app.post(
    ApiRoutes.adminResetTwoFactor,
    { schema: { params: AdminUserParams, response: { 200: AdminUser } } },
    async (request) =>
      accounts.adminResetTwoFactor(authOf(request), request.params.userId, requestContext(request)),
  );

  app.get(ApiRoutes.adminStats, { schema: { response: { 200: ServerStats } } }, async (request) =>
    accounts.serverStats(authOf(request), app.openConnections()),
  );
}
