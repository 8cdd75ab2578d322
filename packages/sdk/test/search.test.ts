/**
 * Search over what this device decrypted, through the conversations facade on the memory
 * store: words found whatever their case and accents, and by their start; edits and deletes
 * reflected at once; one room or all; and the index rebuilt from the store after a restart.
 */
import type { RoomEvent, RoomId } from '@securechat/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeContent } from '../src/conversations/codec.js';
import { openConversations, type Conversations } from '../src/conversations/conversations.js';
import { highlightRanges, MessageIndex } from '../src/conversations/search.js';
import { openMemoryStore } from '../src/store/memory.std.js';
import type { ConversationStore } from '../src/store/store.js';
import {
  unsafeTestingTransport,
  type UnsafeTestingTransport,
  type Unplaced,
} from './support/unsafe-testing-transport.js';
import { unsafeTestingPlaintextCrypto } from './support/unsafe-testing-crypto.js';
import { deviceId, roomId, userId } from '../../../test-support/ids.js';

const ME = userId('M'.repeat(22));
const BOB = userId('B'.repeat(22));
const ROOM = roomId('R'.repeat(22));
const OTHER = roomId('O'.repeat(22));

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await check()); i += 1)
    await new Promise((resolve) => setTimeout(resolve, 5));
  expect(await check()).toBe(true);
}

const fromBob = (room: RoomId, text: string): Extract<Unplaced, { kind: 'message' }> => ({
  room,
  kind: 'message',
  sender: BOB,
  device: deviceId('E'.repeat(22)),
  cmid: `b${Math.random().toString(36).slice(2)}`,
  payload: encodeContent({ type: 'text', text }),
});

/** The texts a search finds, newest first. */
const found = async (c: Conversations, query: string, room?: string) =>
  (await c.search(query, room === undefined ? {} : { room })).hits.map((hit) => hit.text);

describe('search', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const undo of cleanup.splice(0)) await undo();
  });

  async function start(store: ConversationStore, log?: Map<string, RoomEvent[]>) {
    let transport: UnsafeTestingTransport | null = null;
    const conversations = await openConversations({
      store,
      userId: ME,
      connect: (positions) => (transport = unsafeTestingTransport(ME, positions, log)),
      encryption: unsafeTestingPlaintextCrypto,
    });
    cleanup.push(() => conversations.close());
    if (!transport) throw new Error('not connected');
    return { conversations, transport: transport as UnsafeTestingTransport };
  }

  it('finds words by their start, whatever their case and accents, newest first, with what matched', async () => {
    const { conversations: c, transport } = await start(openMemoryStore());
    transport.deliver(fromBob(ROOM, 'Le Café ouvre à huit heures'));
    transport.deliver(fromBob(ROOM, 'PLANS for the weekend?'));
    transport.deliver(fromBob(ROOM, 'the cafe plan is fine'));
    await until(() => c.view(ROOM).items.length === 3);

    expect(await found(c, 'cafe')).toEqual([
      'the cafe plan is fine',
      'Le Café ouvre à huit heures',
    ]);
    expect(await found(c, 'CAFÉ')).toHaveLength(2);
    expect(await found(c, 'pla')).toEqual(['the cafe plan is fine', 'PLANS for the weekend?']);
    // Every word must be there.
    expect(await found(c, 'caf pla')).toEqual(['the cafe plan is fine']);
    expect(await found(c, 'nothing')).toEqual([]);
    expect(await found(c, '  !? ')).toEqual([]);

    const [hit] = (await c.search('café heu')).hits;
    expect(hit).toMatchObject({ room: ROOM, seq: 1, sender: BOB });
    const text = hit?.text ?? '';
    const marked = highlightRanges(text, hit?.terms ?? []).map((r) => text.slice(r.start, r.end));
    expect(marked).toEqual(['Café', 'heures']);
  });

  it('reflects messages that arrive, are edited or deleted after the index is built', async () => {
    const { conversations: c, transport } = await start(openMemoryStore());
    transport.log.set(ROOM, []);
    c.open(ROOM);
    await until(() => c.view(ROOM).loaded);
    await c.sendText(ROOM, 'meet at the harbour');
    await until(async () => (await found(c, 'harbour')).length === 1);

    transport.deliver(fromBob(ROOM, 'harbour is closed'));
    await until(async () => (await found(c, 'harbour')).length === 2);

    await c.edit(ROOM, 1, 'meet at the station');
    await until(async () => (await found(c, 'harbour')).length === 1);
    expect(await found(c, 'station')).toEqual(['meet at the station']);

    const { code } = await c.requestDelete(ROOM, 1);
    await c.confirmDelete(ROOM, 1, code);
    await until(async () => (await found(c, 'station')).length === 0);
    expect(await found(c, 'meet')).toEqual([]);
    expect(await found(c, 'harbour')).toEqual(['harbour is closed']);
  });

  it('searches one room or all of them, and forgets a room that is gone', async () => {
    const { conversations: c, transport } = await start(openMemoryStore());
    transport.deliver(fromBob(ROOM, 'budget for March'));
    transport.deliver(fromBob(OTHER, 'budget approved'));
    await until(() => c.view(OTHER).items.length === 1 && c.view(ROOM).items.length === 1);

    expect(await found(c, 'budget')).toHaveLength(2);
    expect(await found(c, 'budget', OTHER)).toEqual(['budget approved']);
    expect(await found(c, 'budget', ROOM)).toEqual(['budget for March']);

    transport.gone(OTHER);
    await until(async () => (await found(c, 'budget')).length === 1);
    expect(await found(c, 'budget', OTHER)).toEqual([]);
  });

  it('rebuilds the index from the store after a restart', async () => {
    const store = openMemoryStore();
    const log = new Map<string, RoomEvent[]>();
    const first = await start(store, log);
    first.transport.deliver(fromBob(ROOM, 'the lighthouse keeper'));
    first.transport.deliver(fromBob(OTHER, 'a lighthouse at dusk'));
    await until(
      () =>
        first.conversations.view(ROOM).items.length === 1 &&
        first.conversations.view(OTHER).items.length === 1,
    );
    await first.conversations.close();
    cleanup.pop();

    // Nothing is opened: the timelines come from the store.
    const second = await start(store, log);
    expect((await found(second.conversations, 'LIGHT')).sort()).toEqual([
      'a lighthouse at dusk',
      'the lighthouse keeper',
    ]);
    second.transport.deliver(fromBob(ROOM, 'lighthouse again'));
    await until(async () => (await found(second.conversations, 'lighthouse', ROOM)).length === 2);
  });

  it('counts every match and returns at most the limit', () => {
    const index = new MessageIndex();
    const items = Array.from({ length: 120 }, (_, i) => ({
      type: 'message' as const,
      seq: i + 1,
      sender: BOB,
      device: 'E',
      cmid: `c${i}`,
      at: 1000 + i,
      text: `note number ${i}`,
      rich: null,
      unreadable: false,
      unreadableReason: null,
      deleted: false,
      edited: false,
      replyTo: null,
      quote: null,
      reactions: [],
      file: null,
    }));
    index.setRoom(ROOM, items);
    const result = index.search('note', { limit: 10 });
    expect(result.total).toBe(120);
    expect(result.hits.map((hit) => hit.seq)).toEqual([
      120, 119, 118, 117, 116, 115, 114, 113, 112, 111,
    ]);
    index.setRoom(ROOM, items.slice(0, 5));
    expect(index.search('note').total).toBe(5);
  });
});
