/**
 * The timeline reducer: pure, and a function of the set of events only. Events are generated
 * as a room's log (seq 1..n); the transport may hand them over in any order that history
 * pages and live events interleave into, and any of them more than once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecodedEvent } from '../src/conversations/codec.js';
import type { Decoded } from '../src/conversations/content.js';
import {
  applyEvent,
  applyEvents,
  applyHistoryPage,
  emptyTimeline,
  unreadCount,
  type MessageItem,
  type TimelineState,
} from '../src/conversations/timeline.js';
import { deepFreeze } from './support/deep-freeze.js';

const USERS = ['alice', 'bob', 'carol'] as const;
const EMOJI = ['👍', '🎉'] as const;

type Step =
  | { t: 'text'; sender: number; text: string; replyTo: number | null }
  | { t: 'file'; sender: number; text: string }
  | { t: 'unreadable'; sender: number }
  | { t: 'edit'; sender: number; target: number; text: string }
  | { t: 'reaction'; sender: number; target: number; emoji: number; on: boolean }
  | { t: 'tombstone'; sender: number; target: number }
  | { t: 'delete-request'; sender: number; target: number }
  | { t: 'notice'; sender: number }
  | { t: 'profile'; sender: number; name: string | undefined; topic: string | null | undefined };

const user = fc.integer({ min: 0, max: USERS.length - 1 });
/** A target: some earlier seq (1-based position among earlier steps, clamped later). */
const target = fc.integer({ min: 1, max: 40 });
const word = fc.constantFrom('hi', 'hello', 'edited', 'again', 'ok', '');

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('text' as const),
      sender: user,
      text: word,
      replyTo: fc.option(target, { nil: null }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('file' as const), sender: user, text: word }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('unreadable' as const), sender: user }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('edit' as const), sender: user, target, text: word }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('reaction' as const),
      sender: user,
      target,
      emoji: fc.integer({ min: 0, max: 1 }),
      on: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('tombstone' as const), sender: user, target }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('delete-request' as const), sender: user, target }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('notice' as const), sender: user }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('profile' as const),
      sender: user,
      name: fc.option(word, { nil: undefined }),
      topic: fc.option(fc.option(word, { nil: null }), { nil: undefined }),
    }),
  },
);

/** A room's log: event seq = index + 1; targets point at an earlier seq. */
const log = fc
  .array(step, { minLength: 1, maxLength: 30 })
  .map((steps) => steps.map((s, index) => toEvent(s, index + 1)));

function toEvent(s: Step, seq: number): DecodedEvent {
  const aim = (t: number) => Math.max(1, Math.min(seq - 1, t)) || 1;
  const base = {
    room: 'room',
    seq,
    sender: USERS[s.sender] ?? 'alice',
    device: 'd',
    cmid: `c${seq}`,
    at: 1000 + seq,
  };
  const of = (kind: DecodedEvent['kind'], content: Decoded | null, extra = {}) => ({
    ...base,
    kind,
    content,
    ...extra,
  });
  switch (s.t) {
    case 'text':
      return of(
        'message',
        s.replyTo === null || seq === 1
          ? { type: 'text', text: s.text }
          : { type: 'reply', text: s.text, replyTo: aim(s.replyTo) },
      );
    case 'file':
      return of('message', {
        type: 'file',
        blob: `blob${seq}`.padEnd(22, '0'),
        name: `f${seq}.pdf`,
        fileType: 'pdf',
        size: seq,
        key: 'k'.repeat(43),
        hash: 'h'.repeat(43),
        text: s.text,
      });
    case 'unreadable':
      return of('message', { type: 'unreadable', reason: 'malformed' });
    case 'edit':
      return of('edit', { type: 'edit', target: aim(s.target), text: s.text });
    case 'reaction':
      return of('reaction', {
        type: 'reaction',
        target: aim(s.target),
        emoji: EMOJI[s.emoji] ?? '👍',
        on: s.on,
      });
    case 'tombstone':
      return of('delete', { type: 'delete', target: aim(s.target) });
    case 'delete-request':
      return of('message', { type: 'delete', target: aim(s.target) });
    case 'notice':
      return of('notice', null, { notice: { type: 'join', user: base.sender } });
    case 'profile':
      return of('message', {
        type: 'room-profile',
        ...(s.name === undefined ? {} : { name: s.name }),
        ...(s.topic === undefined ? {} : { topic: s.topic }),
      });
  }
}

/** What the transport may deliver: the log shuffled, with some events repeated. */
const deliveries = log.chain((events) =>
  fc
    .tuple(
      fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
      fc.array(fc.integer({ min: 0, max: events.length - 1 }), { maxLength: 10 }),
      fc.array(fc.nat(), { maxLength: 10 }),
    )
    .map(([shuffled, repeats, places]) => {
      const delivered = [...shuffled];
      repeats.forEach((index, i) => {
        const event = events[index];
        if (event) delivered.splice((places[i] ?? 0) % (delivered.length + 1), 0, event);
      });
      return { events, delivered };
    }),
);

/** Apply with every input frozen: a mutation would throw. */
function applyFrozen(state: TimelineState, events: readonly DecodedEvent[]): TimelineState {
  return events.reduce(
    (current, event) => applyEvent(deepFreeze(current), deepFreeze(event)),
    deepFreeze(state),
  );
}

const messages = (state: TimelineState) =>
  state.items.filter((i): i is MessageItem => i.type === 'message');

/** The reference: what each message shows, computed directly from the log in seq order. */
function expected(events: readonly DecodedEvent[]) {
  const originals = events.filter(
    (e) =>
      e.kind === 'message' &&
      e.content &&
      ['text', 'reply', 'file', 'unreadable'].includes(e.content.type),
  );
  return originals.map((original) => {
    const seq = original.seq;
    const tombstoned = events.some(
      (e) => e.kind === 'delete' && e.content?.type === 'delete' && e.content.target === seq,
    );
    const requested = events.some(
      (e) =>
        e.kind === 'message' &&
        e.content?.type === 'delete' &&
        e.content.target === seq &&
        e.sender === original.sender,
    );
    const deleted = tombstoned || requested;
    const edits = events.filter(
      (e) => e.content?.type === 'edit' && e.content.target === seq && e.sender === original.sender,
    );
    const lastEdit = edits.at(-1)?.content;
    const originalText =
      original.content?.type === 'text' ||
      original.content?.type === 'reply' ||
      original.content?.type === 'file'
        ? original.content.text
        : null;
    const text = deleted ? null : lastEdit?.type === 'edit' ? lastEdit.text : originalText;
    const reactions = new Map<string, Set<string>>();
    if (!deleted)
      for (const e of events)
        if (e.content?.type === 'reaction' && e.content.target === seq) {
          const set = reactions.get(e.content.emoji) ?? new Set<string>();
          if (e.content.on) set.add(e.sender);
          else set.delete(e.sender);
          reactions.set(e.content.emoji, set);
        }
    return {
      seq,
      text,
      deleted,
      edited: !deleted && lastEdit !== undefined,
      replyTo: original.content?.type === 'reply' ? original.content.replyTo : null,
      reactions: [...reactions]
        .filter(([, users]) => users.size > 0)
        .map(([emoji, users]) => ({ emoji, users: [...users].sort() }))
        .sort((a, b) => (a.emoji < b.emoji ? -1 : 1)),
    };
  });
}

describe('the timeline reducer', () => {
  it('has a freezing helper that makes any mutation throw', () => {
    const frozen = deepFreeze({
      items: [{ seq: 1 }],
      facts: { originals: new Object() as Record<string, number> },
    });
    expect(() => frozen.items.push({ seq: 2 })).toThrow(TypeError);
    expect(() => {
      frozen.facts.originals['1'] = 1;
    }).toThrow(TypeError);
  });

  it('never mutates its input', () => {
    fc.assert(
      fc.property(deliveries, ({ delivered }) => {
        const before = structuredClone(emptyTimeline);
        applyFrozen(emptyTimeline, delivered);
        expect(emptyTimeline).toEqual(before);
      }),
    );
  });

  it('gives the same state for any delivery order and any repeats', () => {
    fc.assert(
      fc.property(deliveries, ({ events, delivered }) => {
        expect(applyFrozen(emptyTimeline, delivered)).toEqual(applyEvents(emptyTimeline, events));
      }),
      { numRuns: 300 },
    );
  });

  it('applies edits of the original sender only, erases deleted messages with their edits, toggles reactions per user', () => {
    fc.assert(
      fc.property(deliveries, ({ events, delivered }) => {
        const state = applyFrozen(emptyTimeline, delivered);
        const shown = messages(state).map(({ seq, text, deleted, edited, replyTo, reactions }) => ({
          seq,
          text,
          deleted,
          edited,
          replyTo,
          reactions,
        }));
        expect(shown).toEqual(expected(events));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a message’s file until the message is deleted, whatever the order', () => {
    fc.assert(
      fc.property(deliveries, ({ events, delivered }) => {
        const state = applyFrozen(emptyTimeline, delivered);
        for (const item of messages(state)) {
          const sent = events.find((e) => e.seq === item.seq)?.content;
          const file = sent?.type === 'file' && !item.deleted ? sent.blob : null;
          expect(item.file?.blob ?? null).toBe(file);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('shows a reply quoting its original’s current text', () => {
    fc.assert(
      fc.property(deliveries, ({ delivered }) => {
        const state = applyFrozen(emptyTimeline, delivered);
        const bySeq = new Map(messages(state).map((m) => [m.seq, m]));
        for (const reply of messages(state)) {
          if (reply.replyTo === null || reply.deleted) continue;
          const original = bySeq.get(reply.replyTo);
          expect(reply.quote).toEqual(
            original
              ? {
                  seq: original.seq,
                  sender: original.sender,
                  text: original.text,
                  deleted: original.deleted,
                }
              : { seq: reply.replyTo, sender: null, text: null, deleted: false },
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the newest room profile per field and lists items in seq order, once each', () => {
    fc.assert(
      fc.property(deliveries, ({ events, delivered }) => {
        const state = applyFrozen(emptyTimeline, delivered);
        const seqs = state.items.map((i) => i.seq);
        expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
        let name: string | null = null;
        let topic: string | null = null;
        for (const e of events)
          if (e.content?.type === 'room-profile') {
            if (e.content.name !== undefined) name = e.content.name;
            if (e.content.topic !== undefined) topic = e.content.topic;
          }
        expect(state.profile).toEqual({ name, topic });
        expect(state.newest).toBe(events.length);
      }),
    );
  });

  it('an edit that arrives before its message still applies; a stranger’s edit never does', () => {
    const msg: DecodedEvent = {
      room: 'r',
      seq: 1,
      kind: 'message',
      sender: 'alice',
      device: 'd',
      cmid: 'a',
      at: 1,
      content: { type: 'text', text: 'hello' },
    };
    const own: DecodedEvent = {
      ...msg,
      seq: 2,
      kind: 'edit',
      cmid: 'b',
      content: { type: 'edit', target: 1, text: 'hello!' },
    };
    const stranger: DecodedEvent = {
      ...own,
      seq: 3,
      sender: 'bob',
      cmid: 'c',
      content: { type: 'edit', target: 1, text: 'pwned' },
    };
    const state = applyFrozen(emptyTimeline, [stranger, own, msg]);
    expect(messages(state)[0]).toMatchObject({ text: 'hello!', edited: true });
  });

  it('a history page sets where the loaded history starts', () => {
    const msg = (seq: number): DecodedEvent => ({
      room: 'r',
      seq,
      kind: 'message',
      sender: 'bob',
      device: 'd',
      cmid: `c${seq}`,
      at: seq,
      content: { type: 'text', text: `m${seq}` },
    });
    let state = applyHistoryPage(emptyTimeline, [msg(5), msg(6)], true);
    expect(state).toMatchObject({ oldest: 5, complete: false, newest: 6 });
    state = applyHistoryPage(state, [msg(3), msg(4)], false);
    expect(state).toMatchObject({ oldest: 3, complete: true });
    expect(unreadCount(state, 4, 'alice')).toBe(2);
    expect(unreadCount(state, 4, 'bob')).toBe(0);
  });
});
