/**
 * The search suite: the sdk's message index (packages/sdk/src/conversations/search.ts) over
 * 50,000 generated messages in 40 rooms — words drawn from a Zipf-like vocabulary of common
 * English and rarer made-up words (names, places, jargon), 3 to 30 words a message.
 *
 * It times what the facade does: building the index from timelines held in memory; the
 * path after a restart, where each room's timeline is read from the store — opened as
 * `indexeddb.dom.ts` stores it (AES-GCM, then MessagePack), without IndexedDB's own I/O —
 * and indexed; keeping it in step (one arrival, one edit); and single-word, prefix and
 * two-word queries over all rooms and over one. Single core, in Node (V8, as in Chromium).
 */
import { decode, encode } from '@msgpack/msgpack';
import { MessageIndex, type MessageItem, type TimelineState } from '@securechat/sdk/raw';
import { printTable, summarize } from './stats.js';

const COMMON = `the be to of and a in that have I it for not on with he as you do at this but his by
from they we say her she or an will my one all would there their what so up out if about who get
which go me when make can like time no just him know take people into year your good some could
them see other than then now look only come its over think also back after use two how our work
first well way even new want because any these give day most us meeting release deploy review
lunch coffee tomorrow today weekend plan plans budget invoice design draft ticket bug fix test
build server client phone call later thanks please sorry great nice sure okay maybe soon late
early office home travel flight train hotel dinner party birthday photo video doc link update`
  .split(/\s+/)
  .filter(Boolean);

const SYLLABLES =
  'ka lo mi ne ru sa ti vo be da fe gi ho ju ly pa qui re so tu va we xe yo zu'.split(' ');

/** A deterministic pseudo-random source (so two runs index the same messages). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function vocabulary(next: () => number, rare: number): string[] {
  const words = [...COMMON];
  for (let i = 0; i < rare; i += 1) {
    const parts = 2 + Math.floor(next() * 3);
    let word = '';
    for (let j = 0; j < parts; j += 1) word += SYLLABLES[Math.floor(next() * SYLLABLES.length)];
    words.push(next() < 0.1 ? word[0]?.toUpperCase() + word.slice(1) : word);
  }
  return words;
}

/** A word whose rank follows a Zipf-like law (rank r drawn with weight about 1/r). */
const zipf = (next: () => number, words: readonly string[]): string =>
  words[
    Math.min(words.length - 1, Math.floor(Math.exp(next() * Math.log(words.length + 1)) - 1))
  ] ?? '';

function message(next: () => number, words: readonly string[]): string {
  const count = 3 + Math.floor(next() * next() * 28);
  const parts: string[] = [];
  for (let i = 0; i < count; i += 1) parts.push(zipf(next, words));
  const text = parts.join(' ');
  return `${text[0]?.toUpperCase() ?? ''}${text.slice(1)}${next() < 0.3 ? '?' : '.'}`;
}

function item(seq: number, text: string, at: number, sender: string): MessageItem {
  return {
    type: 'message',
    seq,
    sender,
    device: 'D'.repeat(22),
    cmid: `c${seq}x${at}`,
    at,
    text,
    rich: null,
    unreadable: false,
    unreadableReason: null,
    deleted: false,
    edited: false,
    replyTo: null,
    quote: null,
    reactions: [],
    file: null,
  };
}

/** Timelines as the store keeps them: items, and the facts they are derived from. */
function timelines(total: number, rooms: number, next: () => number, words: readonly string[]) {
  const senders = Array.from({ length: 30 }, (_, i) => `U${String(i).padStart(21, '0')}`);
  const byRoom = new Map<string, MessageItem[]>();
  for (let i = 0; i < total; i += 1) {
    // Some rooms are much busier than others.
    const room = `R${String(Math.floor(next() * next() * rooms)).padStart(21, '0')}`;
    const items = byRoom.get(room) ?? [];
    const sender = senders[Math.floor(next() * senders.length)] ?? '';
    items.push(
      item(items.length + 1, message(next, words), 1_700_000_000_000 + i * 60_000, sender),
    );
    byRoom.set(room, items);
  }
  const states = new Map<string, TimelineState>();
  for (const [room, items] of byRoom) {
    const originals: Record<string, unknown> = {};
    for (const m of items)
      originals[String(m.seq)] = {
        sender: m.sender,
        device: m.device,
        cmid: m.cmid,
        at: m.at,
        text: m.text,
        replyTo: null,
        erased: false,
      };
    states.set(room, {
      items,
      facts: {
        originals,
        edits: {},
        reactions: {},
        tombstones: {},
        deleteRequests: {},
        name: null,
        topic: null,
      } as unknown as TimelineState['facts'],
      profile: { name: null, topic: null },
      newest: items.length,
      oldest: 1,
      complete: true,
    });
  }
  return states;
}

interface Sealed {
  iv: Uint8Array<ArrayBuffer>;
  data: ArrayBuffer;
}

const fmt = (ms: number) => ms.toFixed(2);

function latencies(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    n: sorted.length,
    'p50 ms': fmt(at(0.5)),
    'p95 ms': fmt(at(0.95)),
    'max ms': fmt(at(1)),
  };
}

export async function searchBenchmark(options: { messages: number; rooms: number }) {
  const next = random(14);
  const words = vocabulary(next, 5_000);
  const states = timelines(options.messages, options.rooms, next, words);

  // Build from timelines in memory (a search right after this session loaded them).
  let start = performance.now();
  const index = new MessageIndex();
  for (const [room, state] of states) index.setRoom(room, state.items);
  const buildMs = performance.now() - start;
  const indexed = index.size;

  // What the store holds: each timeline sealed as indexeddb.dom.ts seals it.
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
  start = performance.now();
  const sealed = new Map<string, Sealed>();
  let bytes = 0;
  for (const [room, state] of states) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv },
      key,
      encode(state, { ignoreUndefined: true }),
    );
    bytes += data.byteLength;
    sealed.set(room, { iv, data });
  }
  const sealMs = performance.now() - start;

  // After a restart: open every stored timeline and index it.
  start = performance.now();
  const restored = new MessageIndex();
  for (const [room, value] of sealed) {
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: value.iv }, key, value.data);
    const state = decode(new Uint8Array(plain)) as TimelineState;
    // As the facade does it: in chunks that let the page breathe.
    await restored.setRoomInChunks(room, state.items);
  }
  const restoreMs = performance.now() - start;

  // Kept in step: one new message, one edit, in the busiest room.
  const [busiest, state] =
    [...states].sort((a, b) => b[1].items.length - a[1].items.length)[0] ?? [];
  const update: number[] = [];
  if (busiest && state) {
    let items = state.items;
    for (let i = 0; i < 200; i += 1) {
      const last = items.at(-1);
      const arrived = item((last?.seq ?? 0) + 1, message(next, words), Date.now(), 'U'.repeat(22));
      const edited = { ...arrived, text: message(next, words), edited: true };
      const withNew = [...items, arrived];
      start = performance.now();
      index.update(busiest, items, withNew);
      const withEdit = [...items, edited];
      index.update(busiest, withNew, withEdit);
      update.push((performance.now() - start) / 2);
      items = withEdit;
    }
  }

  // Queries: common and rare words, prefixes, two words; over every room and over one.
  const pick = (from: number, to: number) =>
    words[from + Math.floor(next() * (to - from))] ?? 'the';
  const kinds: Record<string, () => string> = {
    'one common word': () => pick(0, 150),
    'one rare word': () => pick(COMMON.length, words.length),
    'prefix (2-4 letters)': () => {
      const word = pick(0, words.length);
      return word.slice(0, 2 + Math.floor(next() * 3));
    },
    'two words': () => `${pick(0, 300)} ${pick(0, words.length)}`,
  };
  const queryRows: Record<string, string | number>[] = [];
  let hits = 0;
  for (const [kind, query] of Object.entries(kinds))
    for (const room of [undefined, busiest]) {
      const samples: number[] = [];
      for (let i = 0; i < 300; i += 1) {
        const q = query();
        start = performance.now();
        const result = restored.search(q, room === undefined ? {} : { room });
        samples.push(performance.now() - start);
        hits += result.total;
      }
      queryRows.push({
        query: `${kind}, ${room === undefined ? 'all rooms' : 'busiest room'}`,
        ...latencies(samples),
      });
    }

  const busiestSize = state?.items.length ?? 0;
  console.log(
    `\nSearch — ${indexed} messages in ${states.size} rooms (busiest ${busiestSize}), single core`,
  );
  const setup = [
    { step: 'build the index from timelines in memory', ms: fmt(buildMs) },
    {
      step: `seal the timelines as the store does (${(bytes / 1e6).toFixed(1)} MB)`,
      ms: fmt(sealMs),
    },
    { step: 'after a restart: open the sealed timelines and index them', ms: fmt(restoreMs) },
    { step: 'keep in step: one arrival or edit (busiest room)', ms: fmt(summarize(update).p50) },
  ];
  printTable(setup);
  console.log();
  printTable(queryRows);
  return { messages: indexed, rooms: states.size, setup, queries: queryRows, hits };
}
