/**
 * A room's conversation as the page shows it, built from room events. Pure: every function
 * returns a new timeline and never changes its input, so an event seen twice (a live event
 * and the same one in a history page) changes nothing the second time.
 */
import type { Notice, RoomEvent } from '@securechat/sdk';
import { decodeMessage, type MessageBody } from './payload';

export interface MessageItem {
  type: 'message';
  seq: number;
  sender: string;
  cmid: string;
  at: number;
  /** null when the payload can't be read, or the message was deleted. */
  body: MessageBody | null;
  edited: boolean;
  deleted: boolean;
}

export interface NoticeItem {
  type: 'notice';
  seq: number;
  sender: string;
  at: number;
  notice: Notice;
}

export type TimelineItem = MessageItem | NoticeItem;

interface Edit {
  seq: number;
  body: MessageBody | null;
}

export interface Timeline {
  /** Messages and notices, oldest first. */
  items: readonly TimelineItem[];
  /** The newest edit of each message, kept until (and after) the message itself is loaded. */
  edits: ReadonlyMap<number, Edit>;
  /** Seqs of deleted messages (from tombstones), likewise. */
  deleted: ReadonlySet<number>;
  /** The lowest seq of any history page: where the next page ends. */
  oldest: number | null;
  /** Older events remain on the server. */
  more: boolean;
  /** The first history page arrived. */
  loaded: boolean;
}

export const emptyTimeline: Timeline = {
  items: [],
  edits: new Map(),
  deleted: new Set(),
  oldest: null,
  more: false,
  loaded: false,
};

function withEdits(
  item: MessageItem,
  edits: ReadonlyMap<number, Edit>,
  deleted: ReadonlySet<number>,
) {
  if (item.deleted || deleted.has(item.seq)) return { ...item, body: null, deleted: true };
  const edit = edits.get(item.seq);
  return edit ? { ...item, body: edit.body, edited: true } : item;
}

/** Add events in any order, any number of times. */
export function applyEvents(timeline: Timeline, events: readonly RoomEvent[]): Timeline {
  if (events.length === 0) return timeline;
  const bySeq = new Map(timeline.items.map((item) => [item.seq, item] as const));
  const edits = new Map(timeline.edits);
  const deleted = new Set(timeline.deleted);
  const touched = new Set<number>();
  for (const event of events) {
    switch (event.kind) {
      case 'message':
        if (bySeq.has(event.seq)) break;
        bySeq.set(event.seq, {
          type: 'message',
          seq: event.seq,
          sender: event.sender,
          cmid: event.cmid,
          at: event.at,
          body: event.deleted ? null : decodeMessage(event.payload),
          edited: false,
          deleted: event.deleted === true,
        });
        touched.add(event.seq);
        break;
      case 'edit': {
        if (event.target === undefined || event.deleted) break;
        const known = edits.get(event.target);
        if (known && known.seq >= event.seq) break;
        edits.set(event.target, { seq: event.seq, body: decodeMessage(event.payload) });
        touched.add(event.target);
        break;
      }
      case 'delete':
        if (event.target === undefined) break;
        deleted.add(event.target);
        touched.add(event.target);
        break;
      case 'notice':
        if (!event.notice || bySeq.has(event.seq)) break;
        bySeq.set(event.seq, {
          type: 'notice',
          seq: event.seq,
          sender: event.sender,
          at: event.at,
          notice: event.notice,
        });
        break;
      case 'reaction':
      case 'commit':
        // Not shown yet.
        break;
    }
  }
  for (const seq of touched) {
    const item = bySeq.get(seq);
    if (item?.type === 'message') bySeq.set(seq, withEdits(item, edits, deleted));
  }
  const items = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return { ...timeline, items, edits, deleted };
}

/** Add one history page (newest first or oldest first, either works). */
export function applyPage(
  timeline: Timeline,
  events: readonly RoomEvent[],
  more: boolean,
): Timeline {
  const next = applyEvents(timeline, events);
  const lowest = events.reduce<number | null>(
    (low, event) => (low === null || event.seq < low ? event.seq : low),
    timeline.oldest,
  );
  return { ...next, oldest: lowest, more: more && lowest !== null && lowest > 1, loaded: true };
}

/** The seq of the newest event shown. */
export const newestSeq = (timeline: Timeline): number => timeline.items.at(-1)?.seq ?? 0;
