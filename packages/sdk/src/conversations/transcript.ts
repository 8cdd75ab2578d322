/**
 * A conversation as a transcript: the messages of a timeline this device has opened, in
 * order, with who said what and when. Pure: the app gives the items (already decrypted) and
 * the names; nothing here reaches the server. `transcriptJson` is the machine-readable form;
 * apps render the text form in their own words from `transcriptEntries`.
 */
import type { MessageItem, TimelineItem } from './timeline.js';

/** One message in a transcript. */
export interface TranscriptEntry {
  readonly seq: number;
  /** Milliseconds since the epoch (UTC). */
  readonly at: number;
  readonly sender: { readonly id: string; readonly name: string };
  /** The current text; null when deleted or not readable on this device. */
  readonly text: string | null;
  readonly edited: boolean;
  readonly deleted: boolean;
  /** Why the text is missing, when it was not deleted (e.g. 'before-join'). */
  readonly unreadable: MessageItem['unreadableReason'];
  /** The message this one answers, as it reads now (null text: deleted or not loaded). */
  readonly replyTo: {
    readonly seq: number;
    readonly name: string | null;
    readonly text: string | null;
  } | null;
  readonly reactions: readonly { readonly emoji: string; readonly count: number }[];
  /** The file it carries: its name, declared type and size (never its key). */
  readonly file: { readonly name: string; readonly type: string; readonly size: number } | null;
}

export interface TranscriptRange {
  /** First instant included (ms), or none. */
  readonly from?: number | undefined;
  /** First instant no longer included (ms), or none. */
  readonly to?: number | undefined;
}

/** The messages of `items` within the range, oldest first, with names resolved. */
export function transcriptEntries(
  items: readonly TimelineItem[],
  names: ReadonlyMap<string, string>,
  range: TranscriptRange = {},
  unknownName = '?',
): TranscriptEntry[] {
  const nameOf = (id: string) => names.get(id) ?? unknownName;
  return items
    .filter(
      (item): item is MessageItem =>
        item.type === 'message' &&
        (range.from === undefined || item.at >= range.from) &&
        (range.to === undefined || item.at < range.to),
    )
    .sort((a, b) => a.seq - b.seq)
    .map((item) => ({
      seq: item.seq,
      at: item.at,
      sender: { id: item.sender, name: nameOf(item.sender) },
      text: item.deleted ? null : item.text,
      edited: item.edited && !item.deleted,
      deleted: item.deleted,
      unreadable: item.deleted ? null : item.unreadableReason,
      replyTo:
        item.replyTo === null
          ? null
          : {
              seq: item.replyTo,
              name: item.quote?.sender ? nameOf(item.quote.sender) : null,
              text: item.quote && !item.quote.deleted ? item.quote.text : null,
            },
      reactions: item.reactions.map((r) => ({ emoji: r.emoji, count: r.users.length })),
      file:
        item.file && !item.deleted
          ? { name: item.file.name, type: item.file.fileType, size: item.file.size }
          : null,
    }));
}

/** The transcript as JSON (times as ISO 8601 in UTC), for other tools. */
export function transcriptJson(
  room: { readonly id: string; readonly name: string },
  entries: readonly TranscriptEntry[],
  exportedAt: number,
  range: TranscriptRange = {},
): string {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return JSON.stringify(
    {
      format: 'securechat-transcript',
      version: 1,
      room,
      exportedAt: iso(exportedAt),
      from: iso(range.from),
      to: iso(range.to),
      messages: entries.map((entry) => ({ ...entry, at: iso(entry.at) })),
    },
    null,
    2,
  );
}
