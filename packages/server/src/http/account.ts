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

export async function accountRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts } = app.services;
  app.addHook('preHandler', app.requireUser);

  app.get(
    ApiRoutes.twoFactor,
    { schema: { response: { 200: TwoFactorStatus } } },
    async (request) => accounts.twoFactorStatus(authOf(request)),
  );

  app.post(
    ApiRoutes.totpStart,
    { schema: { response: { 200: TotpSetupResponse } } },
    async (request) => accounts.totpStart(authOf(request)),
  );

  app.post(
    ApiRoutes.totpConfirm,
    { schema: { body: TotpConfirmRequest, response: { 200: RecoveryCodesResponse } } },
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
    { schema: { body: FreshCodeRequest } },
    async (request, reply) => {
      await accounts.totpDisable(authOf(request), request.body, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.post(
    ApiRoutes.recoveryCodes,
    { schema: { body: FreshCodeRequest, response: { 200: RecoveryCodesResponse } } },
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
    { schema: { response: { 200: PasskeysResponse } } },
    async (request) => ({ passkeys: await accounts.passkeys(authOf(request)) }),
  );

  app.post(
    ApiRoutes.passkeyAddStart,
    { schema: { response: { 200: PasskeyOptionsResponse } } },
    async (request) => ({ options: await accounts.passkeyAddStart(authOf(request)) }),
  );

  app.post(
    ApiRoutes.passkeyAddFinish,
    { schema: { body: PasskeyAddRequest, response: { 201: PasskeyInfo } } },
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
      schema: { params: PasskeyParams, body: PasskeyRenameRequest, response: { 200: PasskeyInfo } },
    },
    async (request) =>
      accounts.renamePasskey(
        authOf(request),
        request.params.passkeyId,
        request.body.name,
        requestContext(request),
      ),
  );

  app.delete(ApiRoutes.passkey, { schema: { params: PasskeyParams } }, async (request, reply) => {
    await accounts.removePasskey(
      authOf(request),
      request.params.passkeyId,
      requestContext(request),
    );
    return reply.code(204).send();
  });

  app.post(
    ApiRoutes.reauthStart,
    { schema: { body: ReauthStartRequest, response: { 200: LoginStartResponse } } },
    async (request) => {
      const auth = authOf(request);
      await app.limits.login(request.ip, accounts.rateLimitKey(auth.user.username));
      return accounts.reauthStart(auth, request.body.startLoginRequest, requestContext(request));
    },
  );

  app.post(
    ApiRoutes.reauthFinish,
    { schema: { body: ReauthFinishRequest } },
    async (request, reply) => {
      await accounts.reauthFinish(authOf(request), request.body, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.post(
    ApiRoutes.passwordStart,
    { schema: { body: PasswordChangeStartRequest, response: { 200: RegisterStartResponse } } },
    async (request) => accounts.passwordStart(authOf(request), request.body.registrationRequest),
  );

  app.post(
    ApiRoutes.passwordFinish,
    { schema: { body: PasswordChangeFinishRequest } },
    async (request, reply) => {
      await accounts.passwordFinish(authOf(request), request.body, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.get(
    ApiRoutes.identity,
    { schema: { response: { 200: IdentityResponse } } },
    async (request) => accounts.identity(authOf(request)),
  );

  // Sets the identity once; the same key again is 200 and changes nothing; another key 409.
  app.put(
    ApiRoutes.identity,
    { schema: { body: IdentityRequest, response: { 200: IdentityResponse } } },
    async (request) => accounts.setIdentity(authOf(request), request.body, requestContext(request)),
  );

  app.get(
    ApiRoutes.devices,
    { schema: { response: { 200: DevicesResponse } } },
    async (request) => ({
      devices: await accounts.devices(authOf(request)),
    }),
  );

  app.delete(ApiRoutes.device, { schema: { params: DeviceParams } }, async (request, reply) => {
    const auth = authOf(request);
    await accounts.revokeDevice(auth, request.params.deviceId, requestContext(request));
    if (request.params.deviceId === auth.device.id) app.clearSessionCookie(reply);
    return reply.code(204).send();
  });

  app.post(
    ApiRoutes.signOutOthers,
    { schema: { response: { 200: SignOutOthersResponse } } },
    async (request) => {
      const ended = await accounts.signOutOthers(authOf(request), requestContext(request));
      // This node closes the other sessions' sockets now; other nodes at their next check.
      app.recheckSessions();
      return { ended };
    },
  );

  app.get(
    ApiRoutes.activity,
    { schema: { querystring: ActivityQuery, response: { 200: ActivityResponse } } },
    async (request) => accounts.activity(authOf(request), request.query.before),
  );
}
