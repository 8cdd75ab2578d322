/** Administration. Every route here sits behind the one `requireAdmin` check. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AdminRoomDeleted,
  AdminRoomParams,
  AdminRoomsQuery,
  AdminRoomsResponse,
  AdminUser,
  AdminUserDeleted,
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
import { NO_CONTENT } from '../plugins/openapi.js';

export async function adminRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts } = app.services;
  app.addHook('preHandler', app.requireAdmin);

  app.get(
    ApiRoutes.adminUsers,
    {
      schema: {
        tags: ['admin'],
        summary: 'Every user account.',
        response: { 200: AdminUsersResponse },
      },
    },
    async (request) => ({ users: await accounts.adminUsers(authOf(request)) }),
  );

  app.get(
    ApiRoutes.adminInvites,
    {
      schema: {
        tags: ['admin'],
        summary: 'Open invitation links.',
        response: { 200: InvitesResponse },
      },
    },
    async (request) => ({ invites: await accounts.listInvites(authOf(request)) }),
  );

  app.post(
    ApiRoutes.adminInvites,
    {
      schema: {
        tags: ['admin'],
        summary: 'Make an invitation link.',
        body: InviteCreateRequest,
        response: { 201: InviteCreateResponse },
      },
    },
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
    {
      schema: {
        tags: ['admin'],
        summary: 'Revoke an invitation link.',
        response: { 204: NO_CONTENT },
        params: InviteParams,
      },
    },
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
        tags: ['admin'],
        summary: 'Make a single-use password-reset link for a user.',
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
    {
      schema: {
        tags: ['admin'],
        summary: 'The audit log, filtered and paged.',
        querystring: AuditQuery,
        response: { 200: AuditResponse },
      },
    },
    async (request) => accounts.auditLog(authOf(request), request.query),
  );

  // Suspending ends every session of the account; this node closes their sockets now, the
  // other nodes at their next session check.
  app.post(
    ApiRoutes.adminSuspend,
    {
      schema: {
        tags: ['admin'],
        summary: 'Suspend (every session ends) or restore an account.',
        params: AdminUserParams,
        body: SuspendRequest,
        response: { 200: AdminUser },
      },
    },
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
    {
      schema: {
        tags: ['admin'],
        summary: 'Make an account an administrator or a member.',
        params: AdminUserParams,
        body: RoleRequest,
        response: { 200: AdminUser },
      },
    },
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
    {
      schema: {
        tags: ['admin'],
        summary: 'Remove every second factor of an account (it signs in with the password).',
        params: AdminUserParams,
        response: { 200: AdminUser },
      },
    },
    async (request) =>
      accounts.adminResetTwoFactor(authOf(request), request.params.userId, requestContext(request)),
  );

  // Deleting revokes every device and session of the account; this node closes their sockets
  // now, the other nodes at their next session check.
  app.delete(
    ApiRoutes.adminUser,
    {
      schema: {
        tags: ['admin'],
        summary: 'Delete an account: sessions, devices, memberships and keys; the name stays.',
        params: AdminUserParams,
        response: { 200: AdminUserDeleted },
      },
    },
    async (request) => {
      const deleted = await accounts.deleteAccount(
        authOf(request),
        request.params.userId,
        requestContext(request),
      );
      app.recheckSessions();
      return deleted;
    },
  );

  app.get(
    ApiRoutes.adminRooms,
    {
      schema: {
        tags: ['admin'],
        summary: 'Rooms with member counts and last activity, most recently active first.',
        querystring: AdminRoomsQuery,
        response: { 200: AdminRoomsResponse },
      },
    },
    async (request) => accounts.adminRooms(authOf(request), request.query),
  );

  app.delete(
    ApiRoutes.adminRoom,
    {
      schema: {
        tags: ['admin'],
        summary: 'Delete a room, its history and its files for everyone (never #general).',
        params: AdminRoomParams,
        response: { 200: AdminRoomDeleted },
      },
    },
    async (request) =>
      accounts.deleteRoom(authOf(request), request.params.roomId, requestContext(request)),
  );

  app.post(
    ApiRoutes.adminCloseRoom,
    {
      schema: {
        tags: ['admin'],
        summary: 'Close a room: its members keep reading it, nobody writes in it (not #general).',
        params: AdminRoomParams,
        response: { 204: NO_CONTENT },
      },
    },
    async (request, reply) => {
      await accounts.closeRoom(authOf(request), request.params.roomId, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.post(
    ApiRoutes.adminReopenRoom,
    {
      schema: {
        tags: ['admin'],
        summary: 'Reopen a closed room: its members may write in it again.',
        params: AdminRoomParams,
        response: { 204: NO_CONTENT },
      },
    },
    async (request, reply) => {
      await accounts.reopenRoom(authOf(request), request.params.roomId, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.get(
    ApiRoutes.adminStats,
    {
      schema: {
        tags: ['admin'],
        summary: 'Server figures: users, rooms, connections, messages, storage.',
        response: { 200: ServerStats },
      },
    },
    async (request) => accounts.serverStats(authOf(request), app.openConnections()),
  );
}
