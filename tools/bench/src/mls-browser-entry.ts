/**
 * The Chromium side of the MLS benchmark, bundled by mls-browser.ts: fetches what Node
 * prepared (group info blobs, encoded client states, missed messages) from the page's
 * origin and measures there. Installs `globalThis.mlsBench`.
 */
import { clientStateDecoder, decode, type ClientState } from 'ts-mls';
import {
  decryptMessage,
  encryptMessage,
  externalJoin,
  mlsContext,
  newDevice,
  type SuiteKey,
} from './mls-scenario.js';

export interface BrowserRunParams {
  suite: SuiteKey;
  /** Group info blobs (gzip) to join by external commit, with a label each. */
  blobs: { label: string; members: number; path: string }[];
  joins: number;
  /** The member's state before the missed messages, and those messages. */
  memberState: string;
  ownerState: string;
  missed: string;
  messages: number;
}

export interface BrowserJoinFigures {
  label: string;
  members: number;
  gzipBytes: number;
  /** Median of `joins`: fetch + gunzip, then decode + joinGroupExternal + encode. */
  downloadMs: number;
  joinMs: number;
  totalMs: number;
}

export interface BrowserRunFigures {
  suite: SuiteKey;
  userAgent: string;
  joins: BrowserJoinFigures[];
  missed: { messages: number; totalMs: number };
  encryptMs: number;
  decryptMs: number;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function bytesOf(path: string): Promise<Uint8Array> {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([new Uint8Array(bytes)])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function stateOf(bytes: Uint8Array): ClientState {
  const state = decode(clientStateDecoder, bytes);
  if (!state) throw new Error('undecodable client state');
  return state;
}

/** Length-prefixed (4 bytes, big-endian) messages, as mls-browser.ts writes them. */
function split(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const length = view.getUint32(at);
    out.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

async function run(params: BrowserRunParams): Promise<BrowserRunFigures> {
  const context = await mlsContext(params.suite, 'webcrypto');
  const joins: BrowserJoinFigures[] = [];
  const first = params.blobs[0];
  if (first) {
    // Warm up (JIT, WebCrypto) on one join that is not counted.
    await externalJoin(context, await gunzip(await bytesOf(first.path)));
  }
  for (const blob of params.blobs) {
    const download: number[] = [];
    const join: number[] = [];
    let gzipBytes = 0;
    for (let i = 0; i < params.joins; i += 1) {
      const joiner = await newDevice(context, 0x7ffffffc - i);
      const start = performance.now();
      const stored = await bytesOf(blob.path);
      const plain = await gunzip(stored);
      const fetched = performance.now();
      await externalJoin(context, plain, joiner);
      join.push(performance.now() - fetched);
      download.push(fetched - start);
      gzipBytes = stored.length;
    }
    const downloadMs = median(download);
    const joinMs = median(join);
    joins.push({ ...blob, gzipBytes, downloadMs, joinMs, totalMs: downloadMs + joinMs });
  }

  let member = stateOf(await bytesOf(params.memberState));
  const backlog = split(await bytesOf(params.missed));
  const start = performance.now();
  for (const bytes of backlog) member = (await decryptMessage(context, member, bytes)).state;
  const missed = { messages: backlog.length, totalMs: performance.now() - start };

  let owner = stateOf(await bytesOf(params.ownerState));
  const text = new Uint8Array(200).fill(0x61);
  let encrypt = 0;
  let decrypt = 0;
  for (let i = 0; i < params.messages; i += 1) {
    const t0 = performance.now();
    const sent = await encryptMessage(context, owner, text);
    const t1 = performance.now();
    member = (await decryptMessage(context, member, sent.bytes)).state;
    decrypt += performance.now() - t1;
    encrypt += t1 - t0;
    owner = sent.state;
  }
  return {
    suite: params.suite,
    userAgent: (globalThis as { navigator?: { userAgent: string } }).navigator?.userAgent ?? '',
    joins,
    missed,
    encryptMs: encrypt / params.messages,
    decryptMs: decrypt / params.messages,
  };
}

export interface MlsBrowserApi {
  run(params: BrowserRunParams): Promise<BrowserRunFigures>;
}

(globalThis as unknown as { mlsBench: MlsBrowserApi }).mlsBench = { run };
