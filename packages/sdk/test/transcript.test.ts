import { describe, expect, it } from 'vitest';
import type { MessageItem, TimelineItem } from '../src/conversations/timeline.js';
import { transcriptEntries, transcriptJson } from '../src/conversations/transcript.js';

const at = (iso: string) => Date.parse(iso);
function message(
  seq: number,
  sender: string,
  text: string | null,
  more: Partial<MessageItem> = {},
) {
  const item: MessageItem = {
    type: 'message',
    seq,
    sender,
    device: `${sender}-d`,
    cmid: `c${seq}`,
    at: at('2026-11-30T10:00:00Z') + seq * 60_000,
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
    ...more,
  };
  return item;
}

const names = new Map([
  ['u-alice', 'alice'],
  ['u-bob', 'bob'],
]);

const items: TimelineItem[] = [
  {
    type: 'notice',
    seq: 1,
    sender: 'u-alice',
    at: at('2026-11-30T10:00:00Z'),
    notice: { type: 'create' },
  } as TimelineItem,
  message(2, 'u-alice', 'hello\nsecond line', { edited: true }),
  message(3, 'u-bob', 'hi', {
    replyTo: 2,
    quote: { seq: 2, sender: 'u-alice', text: 'hello\nsecond line', deleted: false },
    reactions: [{ emoji: '👍', users: ['u-alice', 'u-bob'] }],
  }),
  message(4, 'u-bob', null, { deleted: true, edited: true }),
  message(5, 'u-carol', null, { unreadable: true, unreadableReason: 'before-join' }),
];

describe('transcripts', () => {
  it('keeps the messages in order, with names, edits, replies, reactions and what is missing', () => {
    const entries = transcriptEntries([...items].reverse(), names, {}, 'someone');
    expect(entries.map((e) => e.seq)).toEqual([2, 3, 4, 5]);
    expect(entries[0]).toMatchObject({ sender: { id: 'u-alice', name: 'alice' }, edited: true });
    expect(entries[1]).toMatchObject({
      replyTo: { seq: 2, name: 'alice', text: 'hello\nsecond line' },
      reactions: [{ emoji: '👍', count: 2 }],
    });
    // A deleted message keeps no text and no "edited"; an unreadable one says why.
    expect(entries[2]).toMatchObject({
      text: null,
      deleted: true,
      edited: false,
      unreadable: null,
    });
    expect(entries[3]).toMatchObject({
      sender: { name: 'someone' },
      text: null,
      unreadable: 'before-join',
    });
  });

  it('takes only the period asked for: from included, to excluded', () => {
    const from = items[2]?.at ?? 0;
    const to = items[4]?.at ?? 0;
    expect(transcriptEntries(items, names, { from, to }).map((e) => e.seq)).toEqual([3, 4]);
    expect(transcriptEntries(items, names, { to: from }).map((e) => e.seq)).toEqual([2]);
  });

  it('writes JSON another tool can read: ISO times in UTC, the room and the period', () => {
    const entries = transcriptEntries(items, names);
    const parsed = JSON.parse(
      transcriptJson({ id: 'r1', name: '#plans' }, entries, at('2026-12-01T00:00:00Z'), {
        from: at('2026-11-30T00:00:00Z'),
      }),
    ) as Record<string, unknown> & { messages: { at: string; text: string | null }[] };
    expect(parsed).toMatchObject({
      format: 'securechat-transcript',
      version: 1,
      room: { id: 'r1', name: '#plans' },
      exportedAt: '2026-12-01T00:00:00.000Z',
      from: '2026-11-30T00:00:00.000Z',
      to: null,
    });
    expect(parsed.messages.map((m) => m.at)).toEqual([
      '2026-11-30T10:02:00.000Z',
      '2026-11-30T10:03:00.000Z',
      '2026-11-30T10:04:00.000Z',
      '2026-11-30T10:05:00.000Z',
    ]);
    expect(parsed.messages[0]?.text).toBe('hello\nsecond line');
  });
});
