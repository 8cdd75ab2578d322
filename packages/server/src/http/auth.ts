/**
 * Registration, sign-in and sign-out. Thin: validation by the protocol's schemas, work by
 * the accounts domain, rate limits before any OPAQUE work. A registration's answer is also
 * its first sign-in (session cookie and device).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ApiRoutes,
  EnrolFinishRequest,
  EnrolFinishResponse,
  EnrolStartRequest,
  Limits,
  SecondFactorChallenge,
  SecondFactorRequest,
  TotpSetupResponse,
  LoginFinishRequest,
  LoginStartRequest,
  LoginStartResponse,
  PasskeyOptionsResponse,
  PasskeySignInRequest,
  LogoutRequest,
  RegisterFinishRequest,
  SessionResponse,
  RegisterStartRequest,
  RegisterStartResponse,
  ResetCheckRequest,
  ResetCheckResponse,
  ResetFinishRequest,
  ResetStartRequest,
} from '@securechat/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SignInOutcome, SignedIn } from '../domain/accounts.js';
import { authOf } from '../plugins/auth.js';
import { requestContext } from './request-context.js';
import { NO_CONTENT } from '../plugins/openapi.js';

/** A new session's answer: the device's secret only when this sign-in created the device. */
const sessionAnswer = ({ auth, deviceSecret }: SignedIn) => ({
  user: auth.user,
  device: { ...auth.device, current: true },
  ...(deviceSecret === null ? {} : { deviceSecret }),
});

/**
 * A sign-in's (or registration's) answer: the session (cookie and body), or — when a second
 * factor is due — the challenge with its ticket and no cookie.
 */
function answer(
  app: FastifyInstance,
  reply: FastifyReply,
  outcome: SignInOutcome,
  status: 200 | 201,
): FastifyReply {
  if (outcome.kind === 'second-factor') {
    return reply.code(202).send({ secondFactor: outcome.challenge });
  }
  app.setSessionCookie(reply, outcome.signedIn.token);
  return reply.code(status).send(sessionAnswer(outcome.signedIn));
}

export async function authRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts } = app.services;

  // Sign-ins left unfinished are failures the server would otherwise never hear of (a wrong
  // password ends in the client): sweep and audit them even when nobody signs in.
  const sweeper = setInterval(() => {
    accounts.sweepUnfinishedLogins().then(
      (count) => {
        if (count > 0) app.log.info({ count }, 'unfinished sign-ins counted as failed');
      },
      (error: unknown) => app.log.warn({ err: error }, 'sweeping unfinished sign-ins failed'),
    );
  }, Limits.LOGIN_ATTEMPT_TTL_SECONDS * 1000);
  sweeper.unref();
  app.addHook('onClose', async () => clearInterval(sweeper));

  app.post(
    ApiRoutes.registerStart,
    {
      schema: {
        tags: ['auth'],
        summary: 'Register, step 1: the OPAQUE registration request.',
        body: RegisterStartRequest,
        response: { 200: RegisterStartResponse },
      },
    },
    async (request) => {
      return accounts.registerStart(request.body);
    },
  );

  app.post(
    ApiRoutes.registerFinish,
    {
      schema: {
        tags: ['auth'],
        summary: 'Register, step 2: the OPAQUE record; signs in (session cookie).',
        body: RegisterFinishRequest,
        response: { 201: SessionResponse, 202: SecondFactorChallenge },
      },
    },
    async (request, reply) => {
      // Counted here, before an account is created (a client can call finish without start):
      // over the limit, the answer is a clear refusal and no account exists.
      await app.limits.registration(request.ip);
      const outcome = await accounts.registerFinish(request.body, requestContext(request));
      // Signed in by the same answer: no separate sign-in that a limit could refuse (with
      // REQUIRE_2FA, the answer is the enrolment step instead).
      return answer(app, reply, outcome, 201);
    },
  );

  app.post(
    ApiRoutes.loginStart,
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in, step 1: the OPAQUE login request.',
        body: LoginStartRequest,
        response: { 200: LoginStartResponse },
      },
    },
    async (request) => {
      await app.limits.login(request.ip, accounts.rateLimitKey(request.body.username));
      return accounts.loginStart(request.body, requestContext(request));
    },
  );

  app.post(
    ApiRoutes.loginFinish,
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in, step 2: the OPAQUE finalization; sets the session cookie.',
        body: LoginFinishRequest,
        response: { 200: SessionResponse, 202: SecondFactorChallenge },
      },
    },
    async (request, reply) => {
      const outcome = await accounts.loginFinish(request.body, requestContext(request));
      return answer(app, reply, outcome, 200);
    },
  );

  // The second step of a sign-in, with no session yet: the ticket is the authority, and
  // wrong codes spend the account's budget (Limits.SECOND_FACTOR_FAILURES_MAX).
  app.post(
    ApiRoutes.loginSecondFactor,
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in, second factor: a TOTP or recovery code; sets the session cookie.',
        body: SecondFactorRequest,
        response: { 200: SessionResponse },
      },
    },
    async (request, reply) => {
      const signedIn = await accounts.secondFactor(request.body, requestContext(request));
      app.setSessionCookie(reply, signedIn.token);
      return sessionAnswer(signedIn);
    },
  );

  // The second step with a passkey instead of a code: options, then the browser's assertion.
  app.post(
    ApiRoutes.loginPasskeyStart,
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in, second factor with a passkey: WebAuthn options.',
        body: EnrolStartRequest,
        response: { 200: PasskeyOptionsResponse },
      },
    },
    async (request) => ({ options: await accounts.passkeySignInStart(request.body.ticket) }),
  );

  app.post(
    ApiRoutes.loginPasskeyFinish,
    {
      schema: {
        tags: ['auth'],
        summary: "Sign in, second factor with a passkey: the browser's assertion.",
        body: PasskeySignInRequest,
        response: { 200: SessionResponse },
      },
    },
    async (request, reply) => {
      const signedIn = await accounts.passkeySignInFinish(request.body, requestContext(request));
      app.setSessionCookie(reply, signedIn.token);
      return sessionAnswer(signedIn);
    },
  );

  // REQUIRE_2FA: an account without a second factor enrols during its sign-in.
  app.post(
    ApiRoutes.loginEnrolStart,
    {
      schema: {
        tags: ['auth'],
        summary: 'REQUIRE_2FA: start TOTP enrolment during sign-in.',
        body: EnrolStartRequest,
        response: { 200: TotpSetupResponse },
      },
    },
    async (request) => accounts.enrolStart(request.body.ticket),
  );

  app.post(
    ApiRoutes.loginEnrolFinish,
    {
      schema: {
        tags: ['auth'],
        summary: 'REQUIRE_2FA: confirm enrolment; sets the session cookie.',
        body: EnrolFinishRequest,
        response: { 200: EnrolFinishResponse },
      },
    },
    async (request, reply) => {
      const { signedIn, recoveryCodes } = await accounts.enrolFinish(
        request.body,
        requestContext(request),
      );
      app.setSessionCookie(reply, signedIn.token);
      return { ...sessionAnswer(signedIn), recoveryCodes };
    },
  );

  // A password-reset link: what it is for, then the OPAQUE re-registration. The token is the
  // authority (256 random bits); the OPAQUE step counts like a registration from the address.
  app.post(
    ApiRoutes.resetCheck,
    {
      schema: {
        tags: ['auth'],
        summary: 'What a password-reset link is for (and whether it still works).',
        body: ResetCheckRequest,
        response: { 200: ResetCheckResponse },
      },
    },
    async (request) => accounts.resetCheck(request.body.token),
  );

  app.post(
    ApiRoutes.resetStart,
    {
      schema: {
        tags: ['auth'],
        summary: 'Password reset, step 1: OPAQUE re-registration request.',
        body: ResetStartRequest,
        response: { 200: RegisterStartResponse },
      },
    },
    async (request) => {
      await app.limits.registration(request.ip);
      return accounts.resetStart(request.body.token, request.body.registrationRequest);
    },
  );

  app.post(
    ApiRoutes.resetFinish,
    {
      schema: {
        tags: ['auth'],
        summary: 'Password reset, step 2: the new OPAQUE record; every session ends.',
        response: { 204: NO_CONTENT },
        body: ResetFinishRequest,
      },
    },
    async (request, reply) => {
      await accounts.resetFinish(
        request.body.token,
        request.body.registrationRecord,
        requestContext(request),
      );
      app.recheckSessions();
      return reply.code(204).send();
    },
  );

  // Ends this session; the device stays unless `removeDevice` (then it is revoked).
  app.post(
    ApiRoutes.logout,
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign out this session (optionally removing this device).',
        response: { 204: NO_CONTENT },
        body: LogoutRequest,
      },
      // A sign-out without a body is one with `{}`.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const removeDevice = request.body.removeDevice === true;
      if (request.auth) await accounts.logout(request.auth, requestContext(request), removeDevice);
      app.clearSessionCookie(reply);
      return reply.code(204).send();
    },
  );

  app.get(
    ApiRoutes.session,
    {
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user and this device.',
        response: { 200: SessionResponse },
      },
    },
    async (request) => {
      const auth = authOf(request);
      return { user: auth.user, device: { ...auth.device, current: true } };
    },
  );
}
