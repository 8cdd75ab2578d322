/**
 * `npm run bench`: starts the built server in its own process and measures, from this
 * process, what a person waits for. Prints one table per benchmark.
 *
 * accounts: OPAQUE registration and sign-in round trips through the sdk (both sides do the
 * full OPAQUE work, the server persists before answering), and plain API throughput.
 * codec: the WebSocket frame codec against JSON.
 */
import { createClient } from '@securechat/sdk';
import { codecBenchmark } from './codec.js';
import { startServer } from './server-process.js';
import { printTable, summarize } from './stats.js';

const USERS = Number(process.env.BENCH_USERS ?? 50);
const THROUGHPUT_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = 32;

const fmt = (ms: number) => ms.toFixed(1);

async function timed<T>(samples: number[], work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  samples.push(performance.now() - start);
  return result;
}

async function accounts(origin: string): Promise<void> {
  const register: number[] = [];
  const login: number[] = [];
  const password = 'correct horse battery staple 42';
  for (let i = 0; i < USERS; i += 1) {
    const client = createClient({ baseUrl: origin, cookies: 'memory' });
    const username = `bench-${i}-${Date.now().toString(36)}`;
    await timed(register, () => client.register({ username, password }));
    await timed(login, () => client.login({ username, password }));
  }
  const rows = [
    { operation: 'register (OPAQUE, 2 round trips)', ...row(register) },
    { operation: 'sign in (OPAQUE, 2 round trips + session)', ...row(login) },
  ];
  console.log(`\nAccounts — ${USERS} users, sequential, through the sdk`);
  printTable(rows);
}

function row(samples: number[]) {
  const s = summarize(samples);
  return { n: s.count, 'p50 ms': fmt(s.p50), 'p99 ms': fmt(s.p99), 'max ms': fmt(s.max) };
}

async function throughput(origin: string): Promise<void> {
  const samples: number[] = [];
  const until = performance.now() + THROUGHPUT_SECONDS * 1000;
  let errors = 0;
  const worker = async () => {
    while (performance.now() < until) {
      await timed(samples, async () => {
        const response = await fetch(`${origin}/api/server`);
        if (!response.ok) errors += 1;
        await response.arrayBuffer();
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const s = summarize(samples);
  console.log(
    `\nAPI throughput — GET /api/server, ${CONCURRENCY} concurrent, ${THROUGHPUT_SECONDS} s`,
  );
  printTable([
    {
      'requests/s': Math.round(s.count / THROUGHPUT_SECONDS),
      'p50 ms': fmt(s.p50),
      'p99 ms': fmt(s.p99),
      'max ms': fmt(s.max),
      errors,
    },
  ]);
}

const server = await startServer({
  RATE_LIMIT_API_PER_MINUTE: '1000000',
  RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
  RATE_LIMIT_REGISTRATIONS_PER_HOUR: '100000',
});
console.log('\nFrame codec — one event frame with a 200-byte payload, single core');
codecBenchmark();
try {
  await accounts(server.origin);
  await throughput(server.origin);
} finally {
  await server.stop();
}
