/**
 * Search over the messages this device has decrypted: a full-text index (MiniSearch) of the
 * current text of every message in every room's timeline, kept in memory only. It is built
 * from the timelines in the local store — sealed at rest like everything else there — the
 * first time someone searches, and kept in step with every change the facade commits
 * (arrivals, edits, deletes, rooms forgotten). See docs/decisions/0014-search.md.
 *
 * Words are split on spaces, punctuation and symbols; case and diacritics are ignored
 * ("Élan" finds "elan"), and every word of a query may be the start of a word ("pla" finds
 * "plans"). All words of a query must appear in a message.
 */
import MiniSearch from 'minisearch';
import type { TimelineItem } from './timeline.js';

/** One message that matches a search. */
export interface SearchHit {
  readonly room: string;
  readonly seq: number;
  readonly sender: string;
  readonly at: number;
  /** The message's current text (edits applied). */
  readonly text: string;
  /** The words of `text` that matched, normalized (see `highlightRanges`). */
  readonly terms: readonly string[];
}

export interface SearchResults {
  /** Newest first, at most `limit`. */
  readonly hits: readonly SearchHit[];
  /** How many messages match in all (may exceed `hits.length`). */
  readonly total: number;
}

export interface SearchOptions {
  /** Only this room; every room when absent. */
  readonly room?: string;
  /** At most this many hits (default 50). */
  readonly limit?: number;
}

/** A part of a text to highlight: `text.slice(start, end)` is a matched word. */
export interface HighlightRange {
  readonly start: number;
  readonly end: number;
}

const DEFAULT_LIMIT = 50;
/** Messages indexed between two yields to the event loop (a few ms of work). */
const CHUNK = 500;

/** A word: anything between spaces, line breaks, punctuation and symbols. */
const WORD = /[^\p{Z}\p{P}\p{S}\p{C}\s]+/gu;

/** The words of `text`, as they appear in it. */
const words = (text: string): string[] => text.match(WORD) ?? [];

/** A word as the index keeps it: lower case, without diacritics. */
const normalizeWord = (word: string): string =>
  word
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();

/** Where the words that matched (`terms`, as in a hit) appear in `text`, in order. */
export function highlightRanges(text: string, terms: readonly string[]): HighlightRange[] {
  const wanted = new Set(terms);
  const ranges: HighlightRange[] = [];
  for (const match of text.matchAll(WORD))
    if (wanted.has(normalizeWord(match[0])))
      ranges.push({ start: match.index, end: match.index + match[0].length });
  return ranges;
}

interface Doc {
  readonly id: string;
  readonly room: string;
  readonly seq: number;
  readonly sender: string;
  readonly at: number;
  readonly text: string;
}

const idOf = (room: string, seq: number): string => `${room}\n${seq}`;

/** What of an item is searchable: a message's current text (not deleted, not unreadable). */
function docOf(room: string, item: TimelineItem): Doc | null {
  if (item.type !== 'message' || item.deleted || item.text === null || item.text === '')
    return null;
  return {
    id: idOf(room, item.seq),
    room,
    seq: item.seq,
    sender: item.sender,
    at: item.at,
    text: item.text,
  };
}

/** The in-memory index of every room's messages. */
export class MessageIndex {
  private readonly mini = new MiniSearch<Doc>({
    fields: ['text'],
    storeFields: [],
    tokenize: words,
    processTerm: (term) => normalizeWord(term) || null,
  });
  private readonly docs = new Map<string, Doc>();
  /** The ids of each indexed room's documents (a room with no messages has an empty set). */
  private readonly rooms = new Map<string, Set<string>>();

  /** The number of messages indexed. */
  get size(): number {
    return this.docs.size;
  }

  /** Whether `room` was indexed (`setRoom`) and not removed since. */
  has(room: string): boolean {
    return this.rooms.has(room);
  }

  /** Index a room from its items, replacing whatever was indexed of it. */
  setRoom(room: string, items: readonly TimelineItem[]): void {
    this.mini.addAll(this.replaceRoom(room, items));
  }

  /**
   * `setRoom` in chunks that yield to the event loop between them, so indexing a long
   * history does not freeze a page. Nothing else may change the room meanwhile (the facade
   * runs it in the room's queue).
   */
  async setRoomInChunks(room: string, items: readonly TimelineItem[]): Promise<void> {
    await this.mini.addAllAsync(this.replaceRoom(room, items), { chunkSize: CHUNK });
  }

  /**
   * A room's timeline changed from `before` to `after` (both sorted by seq, as timelines
   * are): re-index the items that are new or changed. A timeline reuses the objects of the
   * items it did not change, so this compares references and reads no text twice.
   */
  update(room: string, before: readonly TimelineItem[], after: readonly TimelineItem[]): void {
    if (!this.rooms.has(room)) {
      this.setRoom(room, after);
      return;
    }
    let i = 0;
    for (const item of after) {
      while (i < before.length && (before[i]?.seq ?? 0) < item.seq) i += 1;
      const previous = before[i];
      if (previous === item) continue;
      this.put(room, item);
    }
  }

  /** Forget a room's messages (left, removed, deleted). */
  removeRoom(room: string): void {
    const ids = this.rooms.get(room);
    if (!ids) return;
    for (const id of ids) {
      this.mini.discard(id);
      this.docs.delete(id);
    }
    this.rooms.delete(room);
  }

  /** The messages with every word of `query` (each as a word or a word's start). */
  search(query: string, options: SearchOptions = {}): SearchResults {
    if (words(query).length === 0) return { hits: [], total: 0 };
    const { room } = options;
    const found = this.mini.search(query, {
      prefix: true,
      combineWith: 'AND',
      ...(room === undefined
        ? {}
        : { filter: (result) => this.docs.get(result.id as string)?.room === room }),
    });
    const hits: SearchHit[] = [];
    for (const result of found) {
      const doc = this.docs.get(result.id as string);
      if (doc)
        hits.push({
          room: doc.room,
          seq: doc.seq,
          sender: doc.sender,
          at: doc.at,
          text: doc.text,
          terms: result.terms,
        });
    }
    hits.sort((a, b) => b.at - a.at || b.seq - a.seq);
    return { hits: hits.slice(0, options.limit ?? DEFAULT_LIMIT), total: hits.length };
  }

  /** Forget what was indexed of `room`, then keep its new documents (returned to be added). */
  private replaceRoom(room: string, items: readonly TimelineItem[]): Doc[] {
    this.removeRoom(room);
    const ids = new Set<string>();
    this.rooms.set(room, ids);
    const docs: Doc[] = [];
    for (const item of items) {
      const doc = docOf(room, item);
      if (!doc) continue;
      docs.push(doc);
      ids.add(doc.id);
      this.docs.set(doc.id, doc);
    }
    return docs;
  }

  /** Index one item as it is now (or drop it when it is no longer searchable). */
  private put(room: string, item: TimelineItem): void {
    const id = idOf(room, item.seq);
    const existing = this.docs.get(id);
    const doc = docOf(room, item);
    if (existing && doc && existing.text === doc.text) return;
    const ids = this.rooms.get(room);
    if (existing) {
      this.mini.discard(id);
      this.docs.delete(id);
      ids?.delete(id);
    }
    if (!doc) return;
    this.mini.add(doc);
    this.docs.set(id, doc);
    ids?.add(id);
  }
}
