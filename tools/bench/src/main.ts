/**
 * `npm run bench`: starts the built server in its own process and measures, from other
 * processes, what a person waits for. Prints one table per benchmark.
 *
 * codec: the WebSocket frame codec against JSON.
 * accounts: OPAQUE registration and sign-in round trips through the sdk (both sides do the
 * full OPAQUE work, the server persists before answering), and plain API throughput.
 * realtime: fan-out against a Socket.IO reference server, idle connections and catch-up over
 * the WebSocket (see realtime.ts).
 * cluster: the fan-out on PostgreSQL + Redis with one node, then two (see cluster.ts).
 * mls: ts-mls group sizes and costs per ciphersuite, in Node and (BENCH_MLS_BROWSER=1) in
 * Chromium (see mls.ts for its own variables).
 * search: the sdk's message index over 50,000 messages — build, restore after a restart,
 * updates and query latency (see search.ts; not in the default list: BENCH_SUITES=search).
 * scroll: the web app's virtualized message list in Chromium, 100 against 10,000 messages —
 * time to show, elements in the page, frame times while scrolling (see scroll.ts; not in the
 * default list: BENCH_SUITES=scroll).
 *
 * Environment: BENCH_SUITES (comma-separated, default `codec,accounts,realtime,cluster,mls`),
 * BENCH_QUICK=1 (small sizes and short steps), BENCH_OUT (write every figure there as JSON),
 * BENCH_STEP_SECONDS (each fan-out step), BENCH_ACCOUNTS_CACHE (a folder keeping the realtime
 * suite's accounts between runs), BENCH_REALTIME (which of `fanout,idle,catchup` to run),
 * BENCH_PAYLOAD_BYTES (bytes per realtime message, default 20; about 340 is an MLS message
 * carrying 200 bytes of text), BENCH_USERS and BENCH_SECONDS (the accounts suite),
 * BENCH_SEARCH_MESSAGES (the search suite's size), BENCH_SERVER_MAIN (another server build), BENCH_SERVER_NODE_ARGS (e.g. `--cpu-prof`),
 * BENCH_ROOMS (which fan-out rooms by member count, e.g. `100`), BENCH_IDLE (idle socket counts,
 * e.g. `5000,19000`), BENCH_REFERENCE=0 (skip the
 * Socket.IO reference), BENCH_SYNCHRONOUS (`full`, `normal` or both: SQLite's setting for the
 * fan-out runs), BENCH_SENDS_PER_SECOND (the send limits given to the server, default 1,000),
 * BENCH_CLUSTER_MEMBERS (the cluster suite's room, default 100), BENCH_DATABASE_URL and
 * BENCH_REDIS_URL (where the cluster suite makes its database and keys).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createClient } from '@securechat/sdk';
import { clusterBenchmark } from './cluster.js';
import { codecBenchmark } from './codec.js';
import { mlsBenchmark, mlsOptionsFromEnv } from './mls.js';
import { mlsBrowserBenchmark } from './mls-browser.js';
import type { TreeShape } from './mls-scenario.js';
import { FULL, QUICK, realtimeBenchmarks } from './realtime.js';
import { scrollBenchmark } from './scroll.js';
import { searchBenchmark } from './search.js';
import { startServer } from './server-process.js';
import { printTable, summarize } from './stats.js';

const QUICK_RUN = process.env.BENCH_QUICK === '1';
const SUITES = new Set(
  (process.env.BENCH_SUITES ?? 'codec,accounts,realtime,cluster,mls')
    .split(',')
    .map((s) => s.trim()),
);
const USERS = Number(process.env.BENCH_USERS ?? (QUICK_RUN ? 5 : 50));
const THROUGHPUT_SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK_RUN ? 1 : 5));
const CONCURRENCY = 32;

const fmt = (ms: number) => ms.toFixed(1);
const results: Record<string, unknown> = {
  at: new Date().toISOString(),
  quick: QUICK_RUN,
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', node: process.version },
};

async function timed<T>(samples: number[], work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  samples.push(performance.now() - start);
  return result;
}

async function accounts(origin: string) {
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
  return rows;
}

function row(samples: number[]) {
  const s = summarize(samples);
  return { n: s.count, 'p50 ms': fmt(s.p50), 'p99 ms': fmt(s.p99), 'max ms': fmt(s.max) };
}

async function throughput(origin: string) {
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
  const rows = [
    {
      'requests/s': Math.round(s.count / THROUGHPUT_SECONDS),
      'p50 ms': fmt(s.p50),
      'p99 ms': fmt(s.p99),
      'max ms': fmt(s.max),
      errors,
    },
  ];
  printTable(rows);
  return rows;
}

if (SUITES.has('codec')) {
  console.log('\nFrame codec — one event frame with a 200-byte payload, single core');
  results.codec = codecBenchmark(QUICK_RUN ? 20_000 : 200_000);
}
if (SUITES.has('accounts')) {
  const server = await startServer({
    env: {
      RATE_LIMIT_API_PER_MINUTE: '1000000',
      RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
      RATE_LIMIT_REGISTRATIONS_PER_HOUR: '100000',
    },
  });
  try {
    results.accounts = await accounts(server.origin);
    results.api = await throughput(server.origin);
  } finally {
    await server.stop();
  }
}
if (SUITES.has('realtime')) {
  const preset = QUICK_RUN ? QUICK : FULL;
  const stepSeconds = Number(process.env.BENCH_STEP_SECONDS ?? preset.stepSeconds);
  const accountsCache = process.env.BENCH_ACCOUNTS_CACHE ?? null;
  const parts = (process.env.BENCH_REALTIME ?? 'fanout,idle,catchup').split(',');
  const roomSizes = process.env.BENCH_ROOMS?.split(',').map(Number);
  const idleSizes = process.env.BENCH_IDLE?.split(',').map(Number);
  results.realtime = await realtimeBenchmarks({
    ...preset,
    ...(roomSizes ? { rooms: preset.rooms.filter((r) => roomSizes.includes(r.members)) } : {}),
    ...(idleSizes ? { idle: idleSizes } : {}),
    stepSeconds,
    accountsCache,
    reference: process.env.BENCH_REFERENCE !== '0',
    synchronous: (process.env.BENCH_SYNCHRONOUS ?? 'full')
      .split(',')
      .map((m) => (m.trim() === 'normal' ? 'normal' : 'full')),
    parts: {
      fanout: parts.includes('fanout'),
      idle: parts.includes('idle'),
      catchup: parts.includes('catchup'),
    },
  });
}
if (SUITES.has('cluster')) {
  const preset = QUICK_RUN ? QUICK : FULL;
  results.cluster = await clusterBenchmark(
    { ...preset, stepSeconds: Number(process.env.BENCH_STEP_SECONDS ?? preset.stepSeconds) },
    Number(process.env.BENCH_CLUSTER_MEMBERS ?? (QUICK_RUN ? 4 : 100)),
  );
}
if (SUITES.has('mls')) {
  const options = mlsOptionsFromEnv(QUICK_RUN);
  results.mls = await mlsBenchmark(options);
  if (process.env.BENCH_MLS_BROWSER === '1') {
    const browserSizes = (process.env.BENCH_MLS_BROWSER_SIZES ?? (QUICK_RUN ? '100' : '1000'))
      .split(',')
      .map(Number);
    const browserShapes = (process.env.BENCH_MLS_BROWSER_SHAPES ?? 'one-add,committed')
      .split(',')
      .map((s) => s.trim()) as TreeShape[];
    results.mlsBrowser = await mlsBrowserBenchmark({ ...options, browserSizes, browserShapes });
  }
}
if (SUITES.has('scroll')) {
  results.scroll = await scrollBenchmark({
    sizes: (process.env.BENCH_SCROLL_SIZES ?? '100,10000').split(',').map(Number),
    frames: Number(process.env.BENCH_SCROLL_FRAMES ?? 300),
    step: Number(process.env.BENCH_SCROLL_STEP ?? 120),
  });
}

if (SUITES.has('search')) {
  results.search = await searchBenchmark({
    messages: Number(process.env.BENCH_SEARCH_MESSAGES ?? (QUICK_RUN ? 5_000 : 50_000)),
    rooms: 40,
  });
}
if (process.env.BENCH_OUT) {
  writeFileSync(process.env.BENCH_OUT, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nfigures written to ${process.env.BENCH_OUT}`);
}
