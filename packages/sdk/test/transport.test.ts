/**
 * What the sdk does with what comes over the wire: errors become ChatError with the server's
 * fields, malformed answers are refused, the CSRF token is fetched once and renewed once.
 */
import { describe, expect, it } from 'vitest';
import { ChatError, createClient } from '../src/index.js';
import { json, unsafeTestingFetch } from './support/unsafe-testing-fetch.js';

const baseUrl = 'http://127.0.0.1:9';

const session = {
  user: { id: 'u1', username: 'olivia', role: 'member', createdAt: '2026-01-01T00:00:00.000Z' },
  device: {
    id: 'd1',
    name: 'Node',
    createdAt: '2026-01-01T00:00:00.000Z',
    lastSeenAt: '2026-01-01T00:00:00.000Z',
    current: true,
  },
};

describe('http transport', () => {
  it('says the server is unavailable when fetch fails', async () => {
    const client = createClient({
      baseUrl,
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    const error = await client.serverInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: 'CHAT_ERR_UNAVAILABLE' });
  });

  it('carries the server error code, message, retryAfter and field', async () => {
    const { fetch } = unsafeTestingFetch({
      'POST /api/admin/invites': () =>
        json(429, {
          code: 'CHAT_ERR_RATE_LIMITED',
          message: 'Slow down.',
          retryAfter: 12,
          field: 'ttlSeconds',
        }),
    });
    const error = await createClient({ baseUrl, fetch })
      .admin.createInvite({ ttlSeconds: 60 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({
      code: 'CHAT_ERR_RATE_LIMITED',
      message: 'Slow down.',
      retryAfter: 12,
      field: 'ttlSeconds',
      status: 429,
    });
  });

  it('maps answers that are not ours by status', async () => {
    const { fetch } = unsafeTestingFetch({
      'GET /api/server': () => new Response('<html>Bad gateway</html>', { status: 502 }),
      'GET /api/devices': () => new Response('', { status: 429, headers: { 'retry-after': '7' } }),
    });
    const client = createClient({ baseUrl, fetch });
    await expect(client.serverInfo()).rejects.toMatchObject({ code: 'CHAT_ERR_UNAVAILABLE' });
    await expect(client.devices()).rejects.toMatchObject({
      code: 'CHAT_ERR_RATE_LIMITED',
      retryAfter: 7,
    });
  });

  it('refuses an answer that does not match its schema', async () => {
    const { fetch } = unsafeTestingFetch({
      'GET /api/auth/session': () => json(200, { ...session, isAdmin: true }),
      'GET /api/devices': () => json(200, { devices: [{ id: 'd1' }] }),
      'GET /api/server': () => new Response('not json', { status: 200 }),
    });
    const client = createClient({ baseUrl, fetch });
    await expect(client.session()).rejects.toMatchObject({ code: 'CHAT_ERR_INTERNAL' });
    await expect(client.devices()).rejects.toMatchObject({ code: 'CHAT_ERR_INTERNAL' });
    await expect(client.serverInfo()).rejects.toMatchObject({ code: 'CHAT_ERR_INTERNAL' });
  });

  it('answers null for the session when signed out', async () => {
    const { fetch } = unsafeTestingFetch({
      'GET /api/auth/session': () =>
        json(401, { code: 'CHAT_ERR_UNAUTHENTICATED', message: 'You are not signed in.' }),
    });
    expect(await createClient({ baseUrl, fetch }).session()).toBeNull();
  });

  it('sends JSON with the CSRF token and Origin, fetching the token once', async () => {
    const { fetch, requests } = unsafeTestingFetch({
      'POST /api/auth/logout': () => new Response(null, { status: 204 }),
      'DELETE /api/devices/d%2F2': () => new Response(null, { status: 204 }),
    });
    const client = createClient({ baseUrl, fetch });
    await Promise.all([client.logout(), client.revokeDevice('d/2'), client.logout()]);
    expect(requests.filter((r) => r.path === '/api/csrf')).toHaveLength(1);
    const writes = requests.filter((r) => r.method !== 'GET');
    expect(writes).toHaveLength(3);
    for (const write of writes) {
      expect(write.headers).toMatchObject({
        'x-csrf-token': 'token-1',
        'content-type': 'application/json',
        origin: 'http://127.0.0.1:9',
      });
      expect(write.body).toEqual({});
    }
  });

  it('renews a refused CSRF token once, then gives up', async () => {
    const csrfError = () =>
      json(403, { code: 'CHAT_ERR_CSRF', message: 'The request was refused.' });
    let logoutCalls = 0;
    const { fetch, requests } = unsafeTestingFetch({
      'POST /api/auth/logout': (request) => {
        logoutCalls += 1;
        return request.headers['x-csrf-token'] === 'token-2'
          ? new Response(null, { status: 204 })
          : csrfError();
      },
      'DELETE /api/devices/d1': csrfError,
    });
    const client = createClient({ baseUrl, fetch });
    await client.logout();
    expect(logoutCalls).toBe(2);
    await expect(client.revokeDevice('d1')).rejects.toMatchObject({ code: 'CHAT_ERR_CSRF' });
    expect(requests.filter((r) => r.path === '/api/devices/d1')).toHaveLength(2);
  });

  it('keeps cookies per client and drops them when the server deletes them', async () => {
    const cookie = (value: string) =>
      `__Host-sc_session=${value}; Path=/; HttpOnly; Secure; SameSite=Lax`;
    const { fetch, requests } = unsafeTestingFetch({
      'POST /api/auth/login/start': () =>
        json(
          401,
          { code: 'CHAT_ERR_LOGIN_FAILED', message: 'Wrong username or password.' },
          { 'set-cookie': cookie('s1') },
        ),
      'GET /api/devices': () => json(200, { devices: [] }),
      'POST /api/auth/logout': () =>
        new Response(null, { status: 204, headers: { 'set-cookie': `${cookie('')}; Max-Age=0` } }),
    });
    const client = createClient({ baseUrl, fetch });
    await client.login({ username: 'olivia', password: 'whatever it is' }).catch(() => undefined);
    await client.devices();
    await createClient({ baseUrl, fetch }).devices();
    await client.logout();
    await client.devices();
    const devicesCookies = requests
      .filter((r) => r.path === '/api/devices')
      .map((r) => r.headers.cookie);
    expect(devicesCookies).toEqual(['__Host-sc_session=s1', undefined, undefined]);
  });

  it('turns a malformed OPAQUE answer into CHAT_ERR_INTERNAL', async () => {
    const { fetch } = unsafeTestingFetch({
      'POST /api/auth/register/start': () => json(200, { registrationResponse: 'AAAA' }),
      'POST /api/auth/login/start': () =>
        json(200, { attemptId: 'a'.repeat(43), loginResponse: 'AAAA' }),
    });
    const client = createClient({ baseUrl, fetch });
    const password = 'violet tractor sings under 7 moons';
    const registered = await client
      .register({ username: 'olivia', password })
      .catch((e: unknown) => e);
    expect(registered).toBeInstanceOf(ChatError);
    expect(registered).toMatchObject({ code: 'CHAT_ERR_INTERNAL' });
    const login = await client.login({ username: 'olivia', password }).catch((e: unknown) => e);
    expect(login).toBeInstanceOf(ChatError);
    expect(login).toMatchObject({ code: 'CHAT_ERR_INTERNAL' });
  });
});
