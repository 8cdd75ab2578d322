/**
 * A room's timeline: its events reduced to what a person sees — messages with edits applied,
 * reactions counted, deletions as tombstones, replies quoting their original's current text,
 * server notices and room-profile changes.
 *
 * `applyEvent(state, event)` is pure: it returns a new state and never mutates its input, and
 * the result depends only on the set of events applied, not on their order or on repeats, so
 * a history page that arrives after live events (or overlaps them) changes nothing it
 * shouldn't. The state is plain data (no Map or class), so a store can keep it as it is.
 */
import type { Notice } from '@securechat/protocol';
import type { DecodedEvent } from './codec.js';
import type { Decoded, FileContent, UnreadableReason } from './content.js';
import type { RichDocument } from './rich.js';

export interface Reaction {
  readonly emoji: string;
  /** Ids of the users who reacted with it, sorted. */
  readonly users: readonly string[];
}

/** What a reply shows of the message it answers. */
export interface Quote {
  readonly seq: number;
  /** null while the original is not in the timeline (not loaded yet). */
  readonly sender: string | null;
  /** The original's current text (edits applied); null when deleted, unreadable or not loaded. */
  readonly text: string | null;
  readonly deleted: boolean;
}

export interface MessageItem {
  readonly type: 'message';
  readonly seq: number;
  readonly sender: string;
  readonly device: string;
  readonly cmid: string;
  readonly at: number;
  /** The current text; null when deleted or unreadable. */
  readonly text: string | null;
  /** How to show the current text, when it has formatting (null: show `text` as it is). */
  readonly rich: RichDocument | null;
  readonly unreadable: boolean;
  /** Why it is unreadable (null when it is not). */
  readonly unreadableReason: UnreadableReason | null;
  readonly deleted: boolean;
  readonly edited: boolean;
  readonly replyTo: number | null;
  readonly quote: Quote | null;
  readonly reactions: readonly Reaction[];
  /** The file it carries (its text is the caption); null when none, or once deleted. */
  readonly file: FileRef | null;
}

/** A message's file: what opening it needs (Conversations.openFile). */
export interface FileRef {
  readonly blob: string;
  /** The name its sender gave it (unsanitized: files/types.ts `safeFileName` before use). */
  readonly name: string;
  /** The extension its sender declared; the bytes decide what it really is. */
  readonly fileType: string;
  readonly size: number;
  readonly key: string;
  readonly hash: string;
}

export interface NoticeItem {
  readonly type: 'notice';
  readonly seq: number;
  readonly sender: string;
  readonly at: number;
  readonly notice: Notice;
}

/** Someone renamed the room or changed its topic (private groups and direct rooms). */
export interface ProfileItem {
  readonly type: 'profile';
  readonly seq: number;
  readonly sender: string;
  readonly at: number;
  readonly name?: string;
  readonly topic?: string | null;
}

export type TimelineItem = MessageItem | NoticeItem | ProfileItem;

/** A member's display name and avatar as they last shared them (null: none). */
export interface PersonProfile {
  readonly name: string | null;
  /** Their avatar, opened like a message's file (Conversations.openFile) in its room. */
  readonly avatar: FileRef | null;
  /** When they shared it: across rooms, the newest wins. */
  readonly at: number;
}

/** A room's name and topic as its members set them in content (null: never set). */
export interface RoomProfile {
  readonly name: string | null;
  readonly topic: string | null;
}

interface Original {
  readonly sender: string;
  readonly device: string;
  readonly cmid: string;
  readonly at: number;
  readonly text: string | null;
  /** Its formatting (absent for plain text, and in timelines stored before rich text). */
  readonly rich?: RichDocument;
  readonly replyTo: number | null;
  readonly erased: boolean;
  /** The file it carries (absent in timelines stored before files, and for plain text). */
  readonly file?: FileRef;
  /** Why its text is null (absent in timelines stored before reasons were kept). */
  readonly reason?: UnreadableReason;
}
/** An edit's new text: a bare string in timelines stored before rich text, and for plain text. */
type EditValue = string | { readonly text: string; readonly rich: RichDocument };

interface Newest<T> {
  readonly seq: number;
  readonly value: T;
}
type Table<T> = Readonly<Record<string, T>>;

/** What the items are derived from; each part is a set or a "newest by seq" choice. */
export interface TimelineFacts {
  readonly originals: Table<Original>;
  /** target → sender → their newest edit. */
  readonly edits: Table<Table<Newest<EditValue>>>;
  /** target → `user\nemoji` → the newest reaction event. */
  readonly reactions: Table<Table<Newest<boolean>>>;
  /** Targets the server erased (its tombstones). */
  readonly tombstones: Table<true>;
  /** target → senders who asked for it to be deleted (applies when it is the sender). */
  readonly deleteRequests: Table<Table<true>>;
  readonly name: Newest<string> | null;
  readonly topic: Newest<string | null> | null;
  /** user → their newest profile here (absent in timelines stored before profiles). */
  readonly people?: Table<Newest<PersonProfile>>;
}

export interface TimelineState {
  /** Messages, notices and profile changes, oldest first. */
  readonly items: readonly TimelineItem[];
  readonly facts: TimelineFacts;
  readonly profile: RoomProfile;
  /** The highest seq applied (0: none). */
  readonly newest: number;
  /** The lowest seq of the history loaded from the server (null: none loaded yet). */
  readonly oldest: number | null;
  /** Nothing older than `oldest` remains on the server. */
  readonly complete: boolean;
}

export const emptyTimeline: TimelineState = {
  items: [],
  facts: {
    originals: {},
    edits: {},
    reactions: {},
    tombstones: {},
    deleteRequests: {},
    name: null,
    topic: null,
  },
  profile: { name: null, topic: null },
  newest: 0,
  oldest: null,
  complete: false,
};

const key = (seq: number): string => String(seq);

function newer<T>(current: Newest<T> | null | undefined, seq: number, value: T): Newest<T> | null {
  return current && current.seq >= seq ? null : { seq, value };
}

/** `table[outer][inner] = value`, copying only the path it changes. */
function setIn<T>(table: Table<Table<T>>, outer: string, inner: string, value: T): Table<Table<T>> {
  return { ...table, [outer]: { ...table[outer], [inner]: value } };
}

function isDeleted(facts: TimelineFacts, seq: number, original: Original): boolean {
  return (
    original.erased ||
    facts.tombstones[key(seq)] === true ||
    facts.deleteRequests[key(seq)]?.[original.sender] === true
  );
}

/** The text a message shows now, and whether an edit changed it. */
function currentText(
  facts: TimelineFacts,
  seq: number,
  original: Original,
): { text: string | null; rich: RichDocument | null; edited: boolean; deleted: boolean } {
  if (isDeleted(facts, seq, original))
    return { text: null, rich: null, edited: false, deleted: true };
  // Only the original sender's edits apply.
  const edit = facts.edits[key(seq)]?.[original.sender];
  if (!edit)
    return { text: original.text, rich: original.rich ?? null, edited: false, deleted: false };
  return typeof edit.value === 'string'
    ? { text: edit.value, rich: null, edited: true, deleted: false }
    : { text: edit.value.text, rich: edit.value.rich, edited: true, deleted: false };
}

function reactionsOf(facts: TimelineFacts, seq: number): Reaction[] {
  const byEmoji = new Map<string, string[]>();
  for (const [who, reaction] of Object.entries(facts.reactions[key(seq)] ?? {})) {
    if (!reaction.value) continue;
    const split = who.indexOf('\n');
    const user = who.slice(0, split);
    const emoji = who.slice(split + 1);
    byEmoji.set(emoji, [...(byEmoji.get(emoji) ?? []), user]);
  }
  return [...byEmoji]
    .map(([emoji, users]) => ({ emoji, users: users.sort() }))
    .sort((a, b) => (a.emoji < b.emoji ? -1 : a.emoji > b.emoji ? 1 : 0));
}

function quoteOf(facts: TimelineFacts, replyTo: number): Quote {
  const original = facts.originals[key(replyTo)];
  if (!original) return { seq: replyTo, sender: null, text: null, deleted: false };
  const { text, deleted } = currentText(facts, replyTo, original);
  return { seq: replyTo, sender: original.sender, text, deleted };
}

function messageItem(facts: TimelineFacts, seq: number, original: Original): MessageItem {
  const { text, rich, edited, deleted } = currentText(facts, seq, original);
  return {
    type: 'message',
    seq,
    sender: original.sender,
    device: original.device,
    cmid: original.cmid,
    at: original.at,
    text,
    rich,
    unreadable: !deleted && original.text === null,
    unreadableReason: !deleted && original.text === null ? (original.reason ?? 'malformed') : null,
    deleted,
    edited,
    replyTo: original.replyTo,
    quote: original.replyTo === null || deleted ? null : quoteOf(facts, original.replyTo),
    reactions: deleted ? [] : reactionsOf(facts, seq),
    file: deleted ? null : (original.file ?? null),
  };
}

function fileRefOf(content: FileContent): FileRef {
  const { blob, name, fileType, size, key: fileKey, hash } = content;
  return { blob, name, fileType, size, key: fileKey, hash };
}

/** Insert or replace items by seq, keeping the list sorted; returns a new array. */
function upsertItems(
  items: readonly TimelineItem[],
  changed: ReadonlyMap<number, TimelineItem>,
): TimelineItem[] {
  const next = items.filter((item) => !changed.has(item.seq));
  for (const item of changed.values()) {
    let low = 0;
    let high = next.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((next[mid]?.seq ?? 0) < item.seq) low = mid + 1;
      else high = mid;
    }
    next.splice(low, 0, item);
  }
  return next;
}

/** Fold one decoded event into the facts; returns the seqs whose message item may change. */
function foldFacts(
  facts: TimelineFacts,
  event: DecodedEvent,
): { facts: TimelineFacts; touched: number[] } {
  const content: Decoded | null = event.content;
  if (content === null) return { facts, touched: [] };
  switch (content.type) {
    case 'text':
    case 'reply':
    case 'file':
    case 'unreadable': {
      if (event.kind !== 'message') break;
      // First one wins, except that a message this device could not open *yet* gives way to
      // what opening it later gave (both orders end the same).
      const existing = facts.originals[key(event.seq)];
      const later = content.type !== 'unreadable' || content.reason !== 'waiting';
      if (existing && !(existing.reason === 'waiting' && later)) break;
      const original: Original = {
        sender: event.sender,
        device: event.device,
        cmid: event.cmid,
        at: event.at,
        text: content.type === 'unreadable' ? null : content.text,
        ...(content.type !== 'unreadable' && content.type !== 'file' && content.rich
          ? { rich: content.rich }
          : {}),
        replyTo: content.type === 'reply' ? content.replyTo : null,
        erased: content.type === 'unreadable' && content.reason === 'erased',
        ...(content.type === 'unreadable' ? { reason: content.reason } : {}),
        ...(content.type === 'file' ? { file: fileRefOf(content) } : {}),
      };
      return {
        facts: { ...facts, originals: { ...facts.originals, [key(event.seq)]: original } },
        touched: [event.seq],
      };
    }
    case 'edit': {
      const current = facts.edits[key(content.target)]?.[event.sender];
      const value: EditValue = content.rich
        ? { text: content.text, rich: content.rich }
        : content.text;
      const next = newer(current, event.seq, value);
      if (!next) break;
      return {
        facts: { ...facts, edits: setIn(facts.edits, key(content.target), event.sender, next) },
        touched: [content.target],
      };
    }
    case 'reaction': {
      const who = `${event.sender}\n${content.emoji}`;
      const next = newer(facts.reactions[key(content.target)]?.[who], event.seq, content.on);
      if (!next) break;
      return {
        facts: {
          ...facts,
          reactions: setIn(facts.reactions, key(content.target), who, next),
        },
        touched: [content.target],
      };
    }
    case 'delete': {
      const target = key(content.target);
      if (event.kind === 'delete') {
        if (facts.tombstones[target]) break;
        return {
          facts: { ...facts, tombstones: { ...facts.tombstones, [target]: true } },
          touched: [content.target],
        };
      }
      if (facts.deleteRequests[target]?.[event.sender]) break;
      return {
        facts: {
          ...facts,
          deleteRequests: setIn(facts.deleteRequests, target, event.sender, true as const),
        },
        touched: [content.target],
      };
    }
    case 'user-profile': {
      if (event.kind !== 'message') break;
      const avatar = content.avatar && {
        ...content.avatar,
        name: `avatar.${content.avatar.fileType}`,
      };
      const next = newer(facts.people?.[event.sender], event.seq, {
        name: content.name,
        avatar,
        at: event.at,
      });
      if (!next) break;
      return {
        facts: { ...facts, people: { ...facts.people, [event.sender]: next } },
        touched: [],
      };
    }
    case 'room-profile': {
      let next = facts;
      if (content.name !== undefined) {
        const name = newer(facts.name, event.seq, content.name);
        if (name) next = { ...next, name };
      }
      if (content.topic !== undefined) {
        const topic = newer(facts.topic, event.seq, content.topic);
        if (topic) next = { ...next, topic };
      }
      return { facts: next, touched: [] };
    }
  }
  return { facts, touched: [] };
}

function plainItem(event: DecodedEvent): TimelineItem | null {
  if (event.kind === 'notice' && event.notice)
    return {
      type: 'notice',
      seq: event.seq,
      sender: event.sender,
      at: event.at,
      notice: event.notice,
    };
  if (event.kind === 'message' && event.content?.type === 'room-profile') {
    const { name, topic } = event.content;
    return {
      type: 'profile',
      seq: event.seq,
      sender: event.sender,
      at: event.at,
      ...(name === undefined ? {} : { name }),
      ...(topic === undefined ? {} : { topic }),
    };
  }
  return null;
}

/**
 * Apply one event. Pure; applying an event twice, or events in any order, gives the same
 * state as applying each once in seq order. Returns `state` itself when nothing changed.
 */
export function applyEvent(state: TimelineState, event: DecodedEvent): TimelineState {
  const { facts, touched } = foldFacts(state.facts, event);
  const changed = new Map<number, TimelineItem>();
  const plain = plainItem(event);
  if (plain && !state.items.some((item) => item.seq === plain.seq)) changed.set(plain.seq, plain);
  if (touched.length > 0) {
    const touchedSet = new Set(touched);
    for (const seq of touched) {
      const original = facts.originals[key(seq)];
      if (original) changed.set(seq, messageItem(facts, seq, original));
    }
    // Replies show their original's current text: refresh the ones quoting what changed.
    for (const item of state.items) {
      if (item.type === 'message' && item.replyTo !== null && touchedSet.has(item.replyTo)) {
        const original = facts.originals[key(item.seq)];
        if (original && !changed.has(item.seq))
          changed.set(item.seq, messageItem(facts, item.seq, original));
      }
    }
  }
  const newest = Math.max(state.newest, event.seq);
  if (facts === state.facts && changed.size === 0 && newest === state.newest) return state;
  const profile =
    facts.name === state.facts.name && facts.topic === state.facts.topic
      ? state.profile
      : { name: facts.name?.value ?? null, topic: facts.topic?.value ?? null };
  return {
    ...state,
    facts,
    items: changed.size === 0 ? state.items : upsertItems(state.items, changed),
    profile,
    newest,
  };
}

/** Apply several events (e.g. a page), in any order. */
export function applyEvents(state: TimelineState, events: readonly DecodedEvent[]): TimelineState {
  return events.reduce(applyEvent, state);
}

/**
 * Apply one history page: its events, and where the loaded history now starts. `more` is the
 * server's "older events remain".
 */
export function applyHistoryPage(
  state: TimelineState,
  events: readonly DecodedEvent[],
  more: boolean,
): TimelineState {
  const next = applyEvents(state, events);
  const lowest = events.reduce<number | null>(
    (low, event) => (low === null || event.seq < low ? event.seq : low),
    state.oldest,
  );
  const oldest = lowest ?? (more ? null : state.newest + 1);
  const complete = !more || (oldest !== null && oldest <= 1);
  return { ...next, oldest, complete };
}

/** Messages from others after `read` that are still there to read. */
export function unreadCount(state: TimelineState, read: number, me: string | null): number {
  let count = 0;
  for (let i = state.items.length - 1; i >= 0; i -= 1) {
    const item = state.items[i];
    if (!item || item.seq <= read) break;
    if (item.type === 'message' && item.sender !== me && !item.deleted) count += 1;
  }
  return count;
}

/** The current reaction of `user` with `emoji` on message `seq`. */
export function hasReacted(
  state: TimelineState,
  seq: number,
  user: string,
  emoji: string,
): boolean {
  return state.facts.reactions[key(seq)]?.[`${user}\n${emoji}`]?.value === true;
}
