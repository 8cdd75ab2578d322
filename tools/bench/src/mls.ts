/**
 * MLS costs in Node with ts-mls, per ciphersuite and group size (see mls-scenario.ts for what
 * each figure covers and docs/decisions/0012-mls-library-and-suites.md for what they decided).
 * Prints figures; asserts nothing about time.
 *
 * Environment: BENCH_MLS_SIZES (default `100,1000`; `100,1000,5000` for the big run, ~5 more
 * minutes), BENCH_MLS_SUITES (default `xwing,x25519`), BENCH_MLS_COMMITTED (sizes also
 * measured with a tree where members have committed, default `100`; `1000` costs ~10 minutes
 * per suite at stride 1; `none` for none), BENCH_MLS_STRIDE (every how many leaves commit in
 * that shape, default 4), BENCH_MLS_MISSED (messages a device missed, default 10000),
 * BENCH_MLS_IDENTITY (`webcrypto` or `noble`: how the credential's identity signature is
 * checked), BENCH_MLS_BROWSER=1 (also run the Chromium part, mls-browser.ts).
 * BENCH_QUICK=1: 100 members, no committed tree, 1,000 missed messages.
 */
import { gzipSync, gunzipSync } from 'node:zlib';
import {
  buildGroup,
  catchUp,
  measureCommits,
  measureMessages,
  measureSizes,
  missedMessages,
  SUITES,
  type Gzip,
  type IdentityCheck,
  type SuiteKey,
  type TreeShape,
} from './mls-scenario.js';
import { printTable } from './stats.js';

export interface MlsOptions {
  sizes: number[];
  suites: SuiteKey[];
  committedSizes: number[];
  stride: number;
  missed: number;
  identityCheck: IdentityCheck;
  /** Messages sent one by one for the per-message encrypt/decrypt figures. */
  messages: number;
}

const list = (value: string | undefined, fallback: string) =>
  (value ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'none');

export function mlsOptionsFromEnv(quick: boolean): MlsOptions {
  const suites = list(process.env.BENCH_MLS_SUITES, 'xwing,x25519');
  for (const suite of suites)
    if (!(suite in SUITES)) throw new Error(`BENCH_MLS_SUITES: unknown suite ${suite}`);
  const identityCheck = process.env.BENCH_MLS_IDENTITY ?? 'webcrypto';
  if (identityCheck !== 'webcrypto' && identityCheck !== 'noble')
    throw new Error('BENCH_MLS_IDENTITY is webcrypto or noble');
  return {
    sizes: list(process.env.BENCH_MLS_SIZES, quick ? '100' : '100,1000').map(Number),
    suites: suites as SuiteKey[],
    committedSizes: list(process.env.BENCH_MLS_COMMITTED, quick ? 'none' : '100').map(Number),
    stride: Number(process.env.BENCH_MLS_STRIDE ?? 4),
    missed: Number(process.env.BENCH_MLS_MISSED ?? (quick ? 1000 : 10_000)),
    identityCheck,
    messages: quick ? 100 : 500,
  };
}

export const nodeGzip: Gzip = {
  compress: (bytes) => Promise.resolve(new Uint8Array(gzipSync(bytes))),
  decompress: (bytes) => Promise.resolve(new Uint8Array(gunzipSync(bytes))),
};

/** Repeats of each commit step: the median is printed. Big groups get fewer for time. */
const repeatsAt = (members: number) => (members <= 100 ? 5 : members <= 1000 ? 3 : 1);

const kb = (bytes: number) => (bytes / 1024).toFixed(1);
const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(0));

export interface MlsFigures {
  suite: SuiteKey;
  suiteName: string;
  members: number;
  shape: TreeShape;
  setup: { keyPackagesMs: number; addAllMs: number; fillMs: number; fillCommits: number };
  sizes: Awaited<ReturnType<typeof measureSizes>>;
  messages: Awaited<ReturnType<typeof measureMessages>>;
  missed: { messages: number; totalMs: number } | null;
  commits: Awaited<ReturnType<typeof measureCommits>>;
  wallMs: number;
}

export async function mlsBenchmark(options: MlsOptions): Promise<MlsFigures[]> {
  const runs: { suite: SuiteKey; members: number; shape: TreeShape }[] = [];
  for (const suite of options.suites) {
    for (const members of options.sizes) runs.push({ suite, members, shape: 'one-add' });
    for (const members of options.committedSizes) runs.push({ suite, members, shape: 'committed' });
  }
  const figures: MlsFigures[] = [];
  for (const run of runs) {
    const started = performance.now();
    const group = await buildGroup({
      ...run,
      fillStride: options.stride,
      identityCheck: options.identityCheck,
    });
    const sizes = await measureSizes(group, nodeGzip);
    const messages = await measureMessages(group, options.messages);
    // Missed messages do not depend on the group's size: once per suite, at the first size.
    const first = runs.find((r) => r.suite === run.suite);
    let missed: { messages: number; totalMs: number } | null = null;
    if (first === run && options.missed > 0) {
      const backlog = await missedMessages(group, options.missed);
      missed = { messages: backlog.length, totalMs: await catchUp(group, backlog) };
    }
    const commits = await measureCommits(group, nodeGzip, repeatsAt(run.members));
    figures.push({
      ...run,
      suiteName: SUITES[run.suite],
      setup: group.setup,
      sizes,
      messages,
      missed,
      commits,
      wallMs: performance.now() - started,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    console.log(
      `mls: ${run.suite}, ${run.members} members, ${run.shape} tree: done in ${seconds} s`,
    );
  }
  print(figures, options);
  return figures;
}

function print(figures: MlsFigures[], options: MlsOptions) {
  const label = (f: MlsFigures) => ({
    suite: f.suite,
    members: f.members,
    tree: f.shape === 'one-add' ? 'one add' : `1/${options.stride} committed`,
  });
  console.log('\nMLS sizes — group info blob (group info + ratchet tree), TLS-encoded');
  printTable(
    figures.map((f) => ({
      ...label(f),
      'blob KiB': kb(f.sizes.groupInfoWithTree),
      'gzip KiB': kb(f.sizes.groupInfoWithTreeGzip),
      'tree KiB': kb(f.sizes.ratchetTree),
      'info alone B': f.sizes.groupInfo,
      'state KiB': kb(f.sizes.memberState),
      'add commit B': f.commits.addOneCommitBytes,
      'ext commit KiB': kb(f.commits.externalCommitBytes),
    })),
  );
  console.log(
    '\nMLS times — ms, Node; commits and joins: median of 5 runs (100 members), 3 (1,000), ' +
      '1 (more); messages: mean per message',
  );
  printTable(
    figures.map((f) => ({
      ...label(f),
      'add one': ms(f.commits.addOneMs),
      'process add': ms(f.commits.processAddMs),
      'welcome join': ms(f.commits.welcomeJoinMs),
      'ext join': ms(f.commits.externalJoinMs),
      'process ext': ms(f.commits.processExternalMs),
      encrypt: ms(f.messages.encryptMs),
      decrypt: ms(f.messages.decryptMs),
    })),
  );
  for (const f of figures) {
    if (f.missed)
      console.log(
        `${f.suite}: ${f.missed.messages} missed messages (4 senders, one epoch) decrypted in ` +
          `${ms(f.missed.totalMs)} ms (${ms(f.missed.totalMs / f.missed.messages)} ms each)`,
      );
  }
  console.log('\nMLS setup (not targets) — ms');
  printTable(
    figures.map((f) => ({
      ...label(f),
      'key packages': ms(f.setup.keyPackagesMs),
      'one commit adding all': ms(f.setup.addAllMs),
      'member commits': f.setup.fillCommits,
      'their time': ms(f.setup.fillMs),
      'run total': ms(f.wallMs),
    })),
  );
}
