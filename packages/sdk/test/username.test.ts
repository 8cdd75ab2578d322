/**
 * Usernames and passwords are checked in the client before anything is sent: the same
 * normalizeUsername the server runs, and the password policy.
 */
import { describe, expect, it } from 'vitest';
import { ChatError, createClient, normalizeUsername } from '../src/index.js';
import { json, unsafeTestingFetch } from './support/unsafe-testing-fetch.js';

const STRONG = 'violet tractor sings under 7 moons';

/** A client whose every request is recorded and refused. */
function recordingClient() {
  const { fetch, requests } = unsafeTestingFetch({});
  return { client: createClient({ baseUrl: 'http://127.0.0.1:9', fetch }), requests };
}

describe('usernames in the client', () => {
  it.each(['ab', 'has space', 'admin', 'r00t', 'ad-min', 'emoji😀', 'x'.repeat(33), '-dash'])(
    'refuses %j for register (and, when malformed, login) without a request',
    async (username) => {
      const { client, requests } = recordingClient();
      const reserved = normalizeUsername(username);
      const attempts = [client.register({ username, password: STRONG })];
      if (!(!reserved.ok && reserved.problem === 'reserved')) {
        attempts.push(client.login({ username, password: STRONG }));
      }
      for (const attempt of attempts) {
        const error = await attempt.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ChatError);
        expect(error).toMatchObject({ code: 'CHAT_ERR_USERNAME_INVALID', field: 'username' });
        expect((error as ChatError).message).toBe(
          normalizeUsername(username).ok
            ? ''
            : (normalizeUsername(username) as { message: string }).message,
        );
      }
      expect(requests).toEqual([]);
    },
  );

  it('lets a reserved but well-formed name sign in: the account may predate the reservation', async () => {
    const { fetch, requests } = unsafeTestingFetch({
      'POST /api/auth/login/start': () =>
        json(429, { code: 'CHAT_ERR_RATE_LIMITED', message: 'Later.', retryAfter: 30 }),
    });
    const client = createClient({ baseUrl: 'http://127.0.0.1:9', fetch });
    await expect(client.login({ username: 'Support', password: STRONG })).rejects.toMatchObject({
      code: 'CHAT_ERR_RATE_LIMITED',
    });
    const sent = requests.filter((r) => r.method === 'POST').map((r) => r.body);
    expect(sent).toMatchObject([{ username: 'support' }]);
  });

  it('sends the normalized username', async () => {
    const { fetch, requests } = unsafeTestingFetch({
      'POST /api/auth/register/start': () =>
        json(409, { code: 'CHAT_ERR_USERNAME_TAKEN', message: 'That username is already taken.' }),
      'POST /api/auth/login/start': () =>
        json(429, { code: 'CHAT_ERR_RATE_LIMITED', message: 'Later.', retryAfter: 30 }),
    });
    const client = createClient({ baseUrl: 'http://127.0.0.1:9', fetch });
    await expect(
      client.register({ username: '  Ｏｌｉｖｉａ ', password: STRONG }),
    ).rejects.toMatchObject({ code: 'CHAT_ERR_USERNAME_TAKEN' });
    await expect(client.login({ username: 'OLIVIA', password: STRONG })).rejects.toMatchObject({
      code: 'CHAT_ERR_RATE_LIMITED',
      retryAfter: 30,
    });
    const sent = requests.filter((r) => r.method === 'POST').map((r) => r.body);
    expect(sent).toMatchObject([{ username: 'olivia' }, { username: 'olivia' }]);
  });

  it('refuses a weak password with the reason before a request', async () => {
    const { client, requests } = recordingClient();
    for (const [password, message] of [
      ['short1!', 'Use at least 10 characters.'],
      ['password123456', 'This is a commonly used password.'],
      ['olivia-was-here-2024', 'Don’t use your username in your password.'],
    ] as const) {
      const error = await client
        .register({ username: 'Olivia', password })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChatError);
      expect(error).toMatchObject({ code: 'CHAT_ERR_VALIDATION', field: 'password', message });
    }
    expect(requests).toEqual([]);
  });
});
