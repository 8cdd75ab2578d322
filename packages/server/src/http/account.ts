/**
 * The signed-in user's own account: password change (after re-authentication), two-factor
 * sign-in, devices and identity (key and encrypted backup).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ActivityQuery,
  ActivityResponse,
  ApiRoutes,
  DeviceParams,
  DevicesResponse,
  FreshCodeRequest,
  PasskeyAddRequest,
  PasskeyInfo,
  PasskeyOptionsResponse,
  PasskeyParams,
  PasskeyRenameRequest,
  PasskeysResponse,
  RecoveryCodesResponse,
  TotpConfirmRequest,
  TotpSetupResponse,
  TwoFactorStatus,
  IdentityRequest,
  IdentityResponse,
  LoginStartResponse,
  PasswordChangeFinishRequest,
  PasswordChangeStartRequest,
  ReauthFinishRequest,
  ReauthStartRequest,
  RegisterStartResponse,
  SignOutOthersResponse,
} from '@securechat/protocol';
import type { FastifyInstance } from 'fastify';
import { authOf } from '../plugins/auth.js';
import { requestContext } from './request-context.js';
import { NO_CONTENT } from '../plugins/openapi.js';

export async function accountRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts } = app.services;
  app.addHook('preHandler', app.requireUser);

  app.get(
    ApiRoutes.twoFactor,
    {
      schema: {
        tags: ['account'],
        summary: "The signed-in user's second factors.",
        response: { 200: TwoFactorStatus },
      },
    },
    async (request) => accounts.twoFactorStatus(authOf(request)),
  );

  app.post(
    ApiRoutes.totpStart,
    {
      schema: {
        tags: ['account'],
        summary: 'Start TOTP enrolment: a new secret and its otpauth URI.',
        response: { 200: TotpSetupResponse },
      },
    },
    async (request) => accounts.totpStart(authOf(request)),
  );

  app.post(
    ApiRoutes.totpConfirm,
    {
      schema: {
        tags: ['account'],
        summary: 'Confirm TOTP with a first code; returns the recovery codes.',
        body: TotpConfirmRequest,
        response: { 200: RecoveryCodesResponse },
      },
    },
    async (request) => ({
      recoveryCodes: await accounts.totpConfirm(
        authOf(request),
        request.body.code,
        requestContext(request),
      ),
    }),
  );

  app.post(
    ApiRoutes.totpDisable,
    {
      schema: {
        tags: ['account'],
        summary: 'Turn TOTP off with a fresh code or a recovery code.',
        response: { 204: NO_CONTENT },
        body: FreshCodeRequest,
      },
    },
    async (request, reply) => {
      await accounts.totpDisable(authOf(request), request.body, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.post(
    ApiRoutes.recoveryCodes,
    {
      schema: {
        tags: ['account'],
        summary: 'New recovery codes, with a fresh code.',
        body: FreshCodeRequest,
        response: { 200: RecoveryCodesResponse },
      },
    },
    async (request) => ({
      recoveryCodes: await accounts.regenerateRecoveryCodes(
        authOf(request),
        request.body,
        requestContext(request),
      ),
    }),
  );

  app.get(
    ApiRoutes.passkeys,
    {
      schema: {
        tags: ['account'],
        summary: "The signed-in user's passkeys.",
        response: { 200: PasskeysResponse },
      },
    },
    async (request) => ({ passkeys: await accounts.passkeys(authOf(request)) }),
  );

  app.post(
    ApiRoutes.passkeyAddStart,
    {
      schema: {
        tags: ['account'],
        summary: 'Start adding a passkey: WebAuthn registration options.',
        response: { 200: PasskeyOptionsResponse },
      },
    },
    async (request) => ({ options: await accounts.passkeyAddStart(authOf(request)) }),
  );

  app.post(
    ApiRoutes.passkeyAddFinish,
    {
      schema: {
        tags: ['account'],
        summary: "Finish adding a passkey with the browser's credential.",
        body: PasskeyAddRequest,
        response: { 201: PasskeyInfo },
      },
    },
    async (request, reply) => {
      const added = await accounts.passkeyAddFinish(
        authOf(request),
        request.body,
        requestContext(request),
      );
      return reply.code(201).send(added);
    },
  );

  app.put(
    ApiRoutes.passkey,
    {
      schema: {
        tags: ['account'],
        summary: 'Rename a passkey.',
        params: PasskeyParams,
        body: PasskeyRenameRequest,
        response: { 200: PasskeyInfo },
      },
    },
    async (request) =>
      accounts.renamePasskey(
        authOf(request),
        request.params.passkeyId,
        request.body.name,
        requestContext(request),
      ),
  );

  app.delete(
    ApiRoutes.passkey,
    {
      schema: {
        tags: ['account'],
        summary: 'Remove a passkey (after signing in again).',
        params: PasskeyParams,
        response: { 204: NO_CONTENT },
      },
    },
    async (request, reply) => {
      await accounts.removePasskey(
        authOf(request),
        request.params.passkeyId,
        requestContext(request),
      );
      return reply.code(204).send();
    },
  );

  app.post(
    ApiRoutes.reauthStart,
    {
      schema: {
        tags: ['account'],
        summary: 'Confirm the password again, step 1 (OPAQUE).',
        body: ReauthStartRequest,
        response: { 200: LoginStartResponse },
      },
    },
    async (request) => {
      const auth = authOf(request);
      await app.limits.login(request.ip, accounts.rateLimitKey(auth.user.username));
      return accounts.reauthStart(auth, request.body.startLoginRequest, requestContext(request));
    },
  );

  app.post(
    ApiRoutes.reauthFinish,
    {
      schema: {
        tags: ['account'],
        summary: 'Confirm the password again, step 2.',
        response: { 204: NO_CONTENT },
        body: ReauthFinishRequest,
      },
    },
    async (request, reply) => {
      await accounts.reauthFinish(authOf(request), request.body, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.post(
    ApiRoutes.passwordStart,
    {
      schema: {
        tags: ['account'],
        summary: 'Change the password, step 1 (OPAQUE re-registration).',
        body: PasswordChangeStartRequest,
        response: { 200: RegisterStartResponse },
      },
    },
    async (request) => accounts.passwordStart(authOf(request), request.body.registrationRequest),
  );

  app.post(
    ApiRoutes.passwordFinish,
    {
      schema: {
        tags: ['account'],
        summary: 'Change the password, step 2; other sessions end.',
        response: { 204: NO_CONTENT },
        body: PasswordChangeFinishRequest,
      },
    },
    async (request, reply) => {
      await accounts.passwordFinish(authOf(request), request.body, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.get(
    ApiRoutes.identity,
    {
      schema: {
        tags: ['account'],
        summary: 'The identity key and its encrypted backup.',
        response: { 200: IdentityResponse },
      },
    },
    async (request) => accounts.identity(authOf(request)),
  );

  // Sets the identity once; the same key again is 200 and changes nothing; another key 409.
  app.put(
    ApiRoutes.identity,
    {
      schema: {
        tags: ['account'],
        summary: 'Set the identity key and backup, once.',
        body: IdentityRequest,
        response: { 200: IdentityResponse },
      },
    },
    async (request) => accounts.setIdentity(authOf(request), request.body, requestContext(request)),
  );

  app.get(
    ApiRoutes.devices,
    {
      schema: {
        tags: ['account'],
        summary: "This user's devices.",
        response: { 200: DevicesResponse },
      },
    },
    async (request) => ({
      devices: await accounts.devices(authOf(request)),
    }),
  );

  app.delete(
    ApiRoutes.device,
    {
      schema: {
        tags: ['account'],
        summary: 'Remove a device: its sessions end and its keys go.',
        response: { 204: NO_CONTENT },
        params: DeviceParams,
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      await accounts.revokeDevice(auth, request.params.deviceId, requestContext(request));
      if (request.params.deviceId === auth.device.id) app.clearSessionCookie(reply);
      return reply.code(204).send();
    },
  );

  app.post(
    ApiRoutes.signOutOthers,
    {
      schema: {
        tags: ['account'],
        summary: 'Sign out every other session of this user.',
        response: { 200: SignOutOthersResponse },
      },
    },
    async (request) => {
      const ended = await accounts.signOutOthers(authOf(request), requestContext(request));
      // This node closes the other sessions' sockets now; other nodes at their next check.
      app.recheckSessions();
      return { ended };
    },
  );

  app.get(
    ApiRoutes.activity,
    {
      schema: {
        tags: ['account'],
        summary: "This user's own security events, newest first.",
        querystring: ActivityQuery,
        response: { 200: ActivityResponse },
      },
    },
    async (request) => accounts.activity(authOf(request), request.query.before),
  );
}
