/**
 * The MLS benchmark in headless Chromium (Debian's, driven by playwright-core): Node builds
 * the groups (mls-scenario.ts), serves the group info blobs, encoded client states and
 * missed messages with the bundled mls-browser-entry.ts from a loopback HTTP server, and the
 * page measures external joins (download over loopback included), missed messages and
 * per-message encrypt/decrypt. Prints figures; asserts nothing about time.
 *
 * Environment: BENCH_MLS_BROWSER_SIZES (default `1000`), BENCH_MLS_BROWSER_SHAPES (default
 * `one-add,committed`), BENCH_MLS_SUITES, BENCH_MLS_STRIDE, BENCH_MLS_MISSED, CHROMIUM (default
 * /usr/bin/chromium).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromiumPath, launchChromium, serveFiles } from './browser.js';
import type { BrowserRunFigures, BrowserRunParams, MlsBrowserApi } from './mls-browser-entry.js';
import { nodeGzip, type MlsOptions } from './mls.js';
import {
  buildGroup,
  encodeClientState,
  groupInfoBlob,
  missedMessages,
  type TreeShape,
} from './mls-scenario.js';
import { printTable } from './stats.js';

/** ts-mls imports these only for suites we do not use, and they are not installed. */
const UNUSED_PEERS = ['@hpke/dhkem-x448', '@hpke/chacha20poly1305'];

async function bundle(): Promise<Uint8Array> {
  const here = fileURLToPath(import.meta.url);
  const entry = here.replace(/mls-browser\.(ts|js)$/, 'mls-browser-entry.$1');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    external: UNUSED_PEERS,
    write: false,
    logLevel: 'error',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('esbuild wrote nothing');
  return output.contents;
}

function lengthPrefixed(messages: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(messages.reduce((n, m) => n + 4 + m.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const message of messages) {
    view.setUint32(at, message.length);
    out.set(message, at + 4);
    at += 4 + message.length;
  }
  return out;
}

const PAGE = '<!doctype html><meta charset="utf-8"><script type="module" src="/entry.js"></script>';

export async function mlsBrowserBenchmark(
  options: MlsOptions & { browserSizes: number[]; browserShapes: TreeShape[] },
): Promise<BrowserRunFigures[]> {
  for (const shape of options.browserShapes)
    if (shape !== 'one-add' && shape !== 'committed')
      throw new Error(`BENCH_MLS_BROWSER_SHAPES: unknown shape ${String(shape)}`);
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) {
    console.log(`\nMLS in Chromium — skipped: no Chromium at ${executablePath}`);
    return [];
  }
  const files = new Map<string, { type: string; body: Uint8Array }>();
  files.set('/', { type: 'text/html', body: new TextEncoder().encode(PAGE) });
  files.set('/entry.js', { type: 'text/javascript', body: await bundle() });
  const runs: BrowserRunParams[] = [];
  for (const suite of options.suites) {
    const blobs: BrowserRunParams['blobs'] = [];
    let prepared: Pick<BrowserRunParams, 'memberState' | 'ownerState' | 'missed'> | null = null;
    for (const members of options.browserSizes) {
      for (const shape of options.browserShapes) {
        const group = await buildGroup({
          suite,
          members,
          shape,
          fillStride: options.stride,
          identityCheck: options.identityCheck,
        });
        const path = `/${suite}-${members}-${shape}.gz`;
        const blob = await nodeGzip.compress(await groupInfoBlob(group.context, group.owner));
        files.set(path, { type: 'application/octet-stream', body: blob });
        const label = shape === 'one-add' ? 'one add' : `1/${options.stride} committed`;
        blobs.push({ label, members, path });
        if (prepared) continue;
        const memberState = encodeClientState(group.member);
        const backlog = await missedMessages(group, options.missed);
        prepared = {
          memberState: `/${suite}-member`,
          ownerState: `/${suite}-owner`,
          missed: `/${suite}-missed`,
        };
        const octets = 'application/octet-stream';
        files.set(prepared.memberState, { type: octets, body: memberState });
        files.set(prepared.ownerState, { type: octets, body: encodeClientState(group.owner) });
        files.set(prepared.missed, { type: octets, body: lengthPrefixed(backlog) });
      }
    }
    if (!prepared) continue;
    runs.push({ suite, blobs, joins: 3, messages: options.messages, ...prepared });
  }

  const served = await serveFiles(files);
  const browser = await launchChromium();
  const figures: BrowserRunFigures[] = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error('page error:', error.message));
    await page.goto(`${served.origin}/`);
    await page.waitForFunction(() => 'mlsBench' in globalThis);
    for (const params of runs) {
      figures.push(
        await page.evaluate(
          (p) => (globalThis as unknown as { mlsBench: MlsBrowserApi }).mlsBench.run(p),
          params,
        ),
      );
    }
  } finally {
    await browser.close();
    await served.close();
  }
  print(figures);
  return figures;
}

function print(figures: BrowserRunFigures[]) {
  const agent = figures[0]?.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? 'Chromium';
  console.log(`\nMLS in ${agent} — external join from the gzip blob over loopback, median of 3`);
  printTable(
    figures.flatMap((f) =>
      f.joins.map((j) => ({
        suite: f.suite,
        members: j.members,
        tree: j.label,
        'gzip KiB': (j.gzipBytes / 1024).toFixed(1),
        'fetch+gunzip ms': j.downloadMs.toFixed(0),
        'join ms': j.joinMs.toFixed(0),
        'total ms': j.totalMs.toFixed(0),
      })),
    ),
  );
  console.log(`\nMLS messages in ${agent} — 200-byte messages`);
  printTable(
    figures.map((f) => ({
      suite: f.suite,
      'encrypt ms': f.encryptMs.toFixed(2),
      'decrypt ms': f.decryptMs.toFixed(2),
      missed: f.missed.messages,
      'missed total ms': f.missed.totalMs.toFixed(0),
      'ms each': (f.missed.totalMs / Math.max(1, f.missed.messages)).toFixed(2),
    })),
  );
}
