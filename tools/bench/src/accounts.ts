/**
 * Bench accounts, made through the sdk the way people make them: OPAQUE registration, then
 * one OPAQUE sign-in per device. Each sign-in's session cookie is what a device's WebSocket
 * upgrade presents. The client side of OPAQUE is memory-hard on purpose (about 0.2 s of CPU
 * each), so accounts are made in parallel worker processes.
 */
import { availableParallelism } from 'node:os';
import { sibling, spawnNode, Worker } from './child.js';

export const SESSION_COOKIE = '__Host-sc_session';
export const BENCH_PASSWORD = 'correct horse battery staple 42';

export interface BenchDevice {
  deviceId: string;
  /** The `Cookie` header value that carries this device's session. */
  cookie: string;
}

export interface BenchAccount {
  username: string;
  userId: string;
  devices: BenchDevice[];
}

export interface MakeAccounts {
  origin: string;
  usernames: string[];
  devices: number;
}

export type AccountRequests = {
  make: { message: MakeAccounts; result: BenchAccount[] };
};

/**
 * Make `count` accounts named `${prefix}${first}`, `${prefix}${first + 1}`, … with `devices`
 * signed-in devices each, over `workers` processes. Resolves in index order.
 */
export async function makeAccounts(input: {
  origin: string;
  prefix: string;
  first: number;
  count: number;
  devices: number;
  workers?: number;
}): Promise<BenchAccount[]> {
  const usernames = Array.from(
    { length: input.count },
    (_, i) => `${input.prefix}${input.first + i}`,
  );
  const workerCount = Math.min(
    input.workers ?? availableParallelism() * 2,
    Math.max(1, Math.ceil(usernames.length / 5)),
  );
  const workers = Array.from(
    { length: workerCount },
    () => new Worker<AccountRequests>(spawnNode(sibling('accounts-worker.js'), [], { ipc: true })),
  );
  const batch = 10;
  const made = new Map<string, BenchAccount>();
  let next = 0;
  try {
    await Promise.all(
      workers.map(async (worker) => {
        while (next < usernames.length) {
          const names = usernames.slice(next, next + batch);
          next += batch;
          const accounts = await worker.call('make', {
            origin: input.origin,
            usernames: names,
            devices: input.devices,
          });
          for (const account of accounts) made.set(account.username, account);
        }
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
  return usernames.map((name) => {
    const account = made.get(name);
    if (!account) throw new Error(`account ${name} was not made`);
    return account;
  });
}
