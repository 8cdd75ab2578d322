/** Worker process for accounts.ts: registers accounts and signs their devices in. */
import { ChatError, createClient } from '@securechat/sdk';
import {
  BENCH_PASSWORD,
  SESSION_COOKIE,
  type AccountRequests,
  type BenchAccount,
} from './accounts.js';
import { serveRequests } from './child.js';

/**
 * Retry what failed to reach the server (on a loaded machine a kept-alive connection can
 * close under a request); a registration that did land the first time is not an error.
 */
async function retried<T>(work: () => Promise<T>, done?: (error: ChatError) => T | null) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ChatError)) throw error;
      const result = attempt > 1 ? (done?.(error) ?? null) : null;
      if (result !== null) return result;
      if (error.code !== 'CHAT_ERR_UNAVAILABLE' || attempt >= 5) throw error;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

async function make(origin: string, username: string, devices: number): Promise<BenchAccount> {
  const account: BenchAccount = { username, userId: '', devices: [] };
  for (let d = 0; d < devices; d += 1) {
    // A client per device, each with its own cookie jar; this fetch also notes the session.
    const seen: { session: string | null } = { session: null };
    const client = createClient({
      baseUrl: origin,
      cookies: 'memory',
      fetch: async (url, init) => {
        const response = await fetch(url, init);
        for (const line of response.headers.getSetCookie()) {
          const pair = line.split(';', 1)[0] ?? '';
          if (pair.startsWith(`${SESSION_COOKIE}=`)) seen.session = pair;
        }
        return response;
      },
    });
    if (d === 0)
      await retried(
        () => client.register({ username, password: BENCH_PASSWORD }).then(() => true),
        (error) => (error.code === 'CHAT_ERR_USERNAME_TAKEN' ? true : null),
      );
    const signedIn = await retried(() => client.login({ username, password: BENCH_PASSWORD }));
    if (seen.session === null) throw new Error(`no session cookie for ${username}`);
    account.userId = signedIn.user.id;
    account.devices.push({ deviceId: signedIn.device.id, cookie: seen.session });
  }
  return account;
}

serveRequests<AccountRequests>({
  make: async ({ origin, usernames, devices }) => {
    const made: BenchAccount[] = [];
    for (const username of usernames) made.push(await make(origin, username, devices));
    return made;
  },
});
