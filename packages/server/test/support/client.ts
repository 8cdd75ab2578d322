/**
 * A test client that speaks to an app through inject(): carries cookies, sends the Origin
 * and CSRF token the server requires (fetched once from GET /api/csrf; a server without
 * CSRF protection answers 404 there and gets no token), and runs the real OPAQUE client.
 */
import * as opaque from '@serenity-kit/opaque';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.js';

export const ORIGIN = 'http://localhost:3000';
export const PASSWORD = 'correct horse battery staple';

export class TestClient {
  private cookies = new Map<string, string>();
  private csrf: string | undefined | null = null;

  constructor(
    private readonly app: App,
    readonly userAgent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
    readonly ip = '127.0.0.1',
  ) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  private remember(response: LightMyRequestResponse): void {
    for (const c of response.cookies) {
      if (c.maxAge === 0 || c.value === '') this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({
      method: 'GET',
      url,
      remoteAddress: this.ip,
      headers: { cookie: this.cookieHeader(), 'user-agent': this.userAgent },
    });
    this.remember(response);
    return response;
  }

  async send(
    method: 'POST' | 'PUT' | 'DELETE',
    url: string,
    body?: object,
  ): Promise<LightMyRequestResponse> {
    if (this.csrf === null) {
      const response = await this.get('/api/csrf');
      if (response.statusCode === 404) this.csrf = undefined;
      else if (response.statusCode === 200) this.csrf = response.json<{ token: string }>().token;
      else throw new Error(`GET /api/csrf answered ${response.statusCode}: ${response.body}`);
    }
    const response = await this.app.inject({
      method,
      url,
      remoteAddress: this.ip,
      headers: {
        cookie: this.cookieHeader(),
        origin: ORIGIN,
        ...(this.csrf === undefined ? {} : { 'x-csrf-token': this.csrf }),
        'user-agent': this.userAgent,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { payload: JSON.stringify(body) } : {}),
    });
    this.remember(response);
    return response;
  }

  /** `extra`: more fields of the finishing request (an identity). */
  async register(
    username: string,
    password = PASSWORD,
    proofs: { inviteToken?: string; setupToken?: string } = {},
    extra: object = {},
  ): Promise<LightMyRequestResponse> {
    await opaque.ready;
    const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({
      password,
    });
    const start = await this.send('POST', '/api/auth/register/start', {
      username,
      registrationRequest,
      ...proofs,
    });
    if (start.statusCode !== 200) return start;
    const { registrationRecord } = opaque.client.finishRegistration({
      clientRegistrationState,
      registrationResponse: start.json<{ registrationResponse: string }>().registrationResponse,
      password,
    });
    return this.send('POST', '/api/auth/register/finish', {
      username,
      registrationRecord,
      ...proofs,
      ...extra,
    });
  }

  /**
   * The first half of a sign-in: the server's answer and, when the client accepts it, the
   * proof to send. `finishLoginRequest` is undefined when OPAQUE's client refuses (wrong
   * password or unknown user: it can't tell which either).
   */
  async startLogin(username: string, password = PASSWORD): Promise<StartedLogin> {
    await opaque.ready;
    const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password });
    const response = await this.send('POST', '/api/auth/login/start', {
      username,
      startLoginRequest,
    });
    if (response.statusCode !== 200) return { response };
    const { attemptId, loginResponse } = response.json<{
      attemptId: string;
      loginResponse: string;
    }>();
    const finished = opaque.client.finishLogin({ clientLoginState, loginResponse, password });
    return { response, attemptId, finishLoginRequest: finished?.finishLoginRequest };
  }

  /** The second half: send the proof for an attempt (`extra`: more fields, e.g. a device). */
  finishLogin(
    attemptId: string,
    finishLoginRequest: string,
    extra: object = {},
  ): Promise<LightMyRequestResponse> {
    return this.send('POST', '/api/auth/login/finish', {
      attemptId,
      finishLoginRequest,
      ...extra,
    });
  }

  async login(username: string, password = PASSWORD, extra: object = {}): Promise<LoginOutcome> {
    const start = await this.startLogin(username, password);
    if (start.attemptId === undefined) return { stage: 'start', response: start.response };
    if (start.finishLoginRequest === undefined) {
      return { stage: 'client-refused', start: start.response, attemptId: start.attemptId };
    }
    const response = await this.finishLogin(start.attemptId, start.finishLoginRequest, extra);
    return { stage: 'finish', response };
  }

  /** Re-authenticate this session (the first half of a password change). */
  async reauthenticate(current: string): Promise<LightMyRequestResponse> {
    await opaque.ready;
    const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password: current });
    const start = await this.send('POST', '/api/account/reauth/start', { startLoginRequest });
    if (start.statusCode !== 200) return start;
    const { attemptId, loginResponse } = start.json<{ attemptId: string; loginResponse: string }>();
    const finished = opaque.client.finishLogin({
      clientLoginState,
      loginResponse,
      password: current,
    });
    if (!finished) throw new Error('wrong current password');
    return this.send('POST', '/api/account/reauth/finish', {
      attemptId,
      finishLoginRequest: finished.finishLoginRequest,
    });
  }

  async changePassword(
    current: string,
    next: string,
    extra: object = {},
  ): Promise<LightMyRequestResponse> {
    const reauth = await this.reauthenticate(current);
    if (reauth.statusCode !== 204) return reauth;
    return this.setPassword(next, extra);
  }

  /** `extra`: more fields of the finishing request (an identity backup). */
  async setPassword(next: string, extra: object = {}): Promise<LightMyRequestResponse> {
    const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({
      password: next,
    });
    const start = await this.send('POST', '/api/account/password/start', { registrationRequest });
    if (start.statusCode !== 200) return start;
    const { registrationRecord } = opaque.client.finishRegistration({
      clientRegistrationState,
      registrationResponse: start.json<{ registrationResponse: string }>().registrationResponse,
      password: next,
    });
    return this.send('POST', '/api/account/password/finish', { registrationRecord, ...extra });
  }
}

export interface StartedLogin {
  response: LightMyRequestResponse;
  attemptId?: string;
  finishLoginRequest?: string | undefined;
}

export type LoginOutcome =
  | { stage: 'start'; response: LightMyRequestResponse }
  | { stage: 'client-refused'; start: LightMyRequestResponse; attemptId: string }
  | { stage: 'finish'; response: LightMyRequestResponse };

/** Register, which signs in on the same answer; fails the test if it does not. */
export async function signedIn(app: App, username: string, ip?: string): Promise<TestClient> {
  const client = new TestClient(app, undefined, ip);
  const registered = await client.register(username);
  if (registered.statusCode !== 201) throw new Error(`register failed: ${registered.body}`);
  if (client.cookie('__Host-sc_session') === undefined) throw new Error('register: no session');
  return client;
}

/** What a browser sends with this client's WebSocket upgrade: its origin and session cookie. */
export const socketHeaders = (client: TestClient): Record<string, string> => ({
  origin: ORIGIN,
  cookie: `__Host-sc_session=${client.cookie('__Host-sc_session')}`,
});
