/**
 * The conversations facade over a stand-in transport and the real stores: typed content in,
 * timelines out, the store kept in step, and the server asked only for what this device never
 * saw.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoomEvent, RoomId } from '@securechat/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeContent, TEXT_MAX_BYTES } from '../src/conversations/codec.js';
import { openConversations, type Conversations } from '../src/conversations/conversations.js';
import { openFileStore } from '../src/store/file.node.js';
import { openMemoryStore } from '../src/store/memory.std.js';
import type { ConversationStore } from '../src/store/store.js';
import {
  unsafeTestingTransport,
  type UnsafeTestingTransport,
  type Unplaced,
} from './support/unsafe-testing-transport.js';
import { unsafeTestingPlaintextCrypto } from './support/unsafe-testing-crypto.js';
import { deviceId, roomId, seq, userId } from '../../../test-support/ids.js';

const ME = userId('M'.repeat(22));
const BOB = userId('B'.repeat(22));
const ROOM = roomId('R'.repeat(22));

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i += 1)
    await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

const fromBob = (room: RoomId, text: string): Extract<Unplaced, { kind: 'message' }> => ({
  room,
  kind: 'message',
  sender: BOB,
  device: deviceId('E'.repeat(22)),
  cmid: `b${Math.random().toString(36).slice(2)}`,
  payload: encodeContent({ type: 'text', text }),
});

const texts = (c: Conversations, room = ROOM) =>
  c.view(room).items.flatMap((item) => (item.type === 'message' ? [item.text] : []));

describe('conversations', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const undo of cleanup.splice(0)) await undo();
  });

  async function start(store: ConversationStore, log?: Map<string, RoomEvent[]>) {
    let transport: UnsafeTestingTransport | null = null;
    const conversations = await openConversations({
      store,
      userId: ME,
      pageSize: 3,
      connect: (positions) => (transport = unsafeTestingTransport(ME, positions, log)),
      encryption: unsafeTestingPlaintextCrypto,
    });
    cleanup.push(() => conversations.close());
    if (!transport) throw new Error('not connected');
    return { conversations, transport: transport as UnsafeTestingTransport };
  }

  it('sends typed content, shows it pending, then from the timeline, and applies edits, reactions, replies and deletes', async () => {
    const { conversations: c, transport } = await start(openMemoryStore());
    transport.log.set(ROOM, []);
    c.open(ROOM);
    await until(() => c.view(ROOM).loaded);
    const sent = c.sendText(ROOM, 'hello');
    expect(c.view(ROOM).pending.map((p) => p.text)).toEqual(['hello']);
    await sent;
    await until(() => texts(c).length === 1);
    expect(c.view(ROOM).pending).toEqual([]);
    await c.edit(ROOM, 1, 'hello, world');
    await c.sendText(ROOM, 'answer', { replyTo: 1 });
    await c.react(ROOM, 1, '👍');
    await until(() =>
      c.view(ROOM).items.some((i) => i.type === 'message' && i.reactions.length === 1),
    );
    await c.react(ROOM, 1, '👍'); // toggles off
    await until(() =>
      c.view(ROOM).items.every((i) => i.type !== 'message' || i.reactions.length === 0),
    );
    const reply = c.view(ROOM).items.find((i) => i.type === 'message' && i.replyTo === 1);
    expect(reply).toMatchObject({ text: 'answer', quote: { seq: 1, text: 'hello, world' } });
    const { code } = await c.requestDelete(ROOM, 1);
    await c.confirmDelete(ROOM, 1, code);
    await until(() => texts(c)[0] === null);
    expect(c.view(ROOM).items.find((i) => i.type === 'message' && i.replyTo === 1)).toMatchObject({
      quote: { seq: 1, text: null, deleted: true },
    });
  });

  it('refuses text over the limit before queueing it', async () => {
    const { conversations: c, transport } = await start(openMemoryStore());
    await expect(c.sendText(ROOM, 'x'.repeat(TEXT_MAX_BYTES + 1))).rejects.toMatchObject({
      code: 'CHAT_ERR_TOO_LARGE',
    });
    expect(transport.log.get(ROOM)).toBeUndefined();
    expect(c.view(ROOM).pending).toEqual([]);
  });

  it('keeps a refused message visible with its reason until retried or discarded', async () => {
    const { conversations: c, transport } = await start(openMemoryStore());
    transport.failSends = new Error('nope');
    await expect(c.sendText(ROOM, 'lost')).rejects.toBeDefined();
    expect(c.view(ROOM).pending[0]).toMatchObject({
      text: 'lost',
      error: { code: 'CHAT_ERR_INTERNAL' },
    });
    transport.failSends = null;
    c.retry(c.view(ROOM).pending[0]?.cmid ?? '');
    await until(() => texts(c).includes('lost'));
    expect(c.view(ROOM).pending).toEqual([]);
  });

  it('counts unread messages from others and clears them when read', async () => {
    const { conversations: c, transport } = await start(openMemoryStore());
    transport.deliver(fromBob(ROOM, 'one'));
    transport.deliver(fromBob(ROOM, 'two'));
    await until(() => c.unreadCounts().get(ROOM) === 2);
    await c.markRead(ROOM, 2);
    expect(c.unreadCounts().get(ROOM)).toBeUndefined();
  });

  it('reopens a room from the file store after a restart, asking the server only for what is new', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'sc-store-'));
    cleanup.push(() => rm(directory, { recursive: true, force: true }));
    const log = new Map<string, RoomEvent[]>([[ROOM, []]]);
    const first = await start(await openFileStore({ directory, userId: ME, deviceId: 'D1' }), log);
    for (const text of ['a', 'b', 'c', 'd', 'e']) first.transport.deliver(fromBob(ROOM, text));
    first.conversations.open(ROOM);
    await until(() => first.conversations.view(ROOM).loaded);
    await first.conversations.loadOlder(ROOM);
    await until(() => texts(first.conversations).length === 5);
    expect(first.conversations.view(ROOM).more).toBe(false);
    await first.conversations.setRoomProfile(ROOM, { name: 'Plans', topic: 'secret' });
    await until(() => first.conversations.profile(ROOM).name === 'Plans');
    await first.conversations.close();
    cleanup.pop();

    // Bob writes while this device is away.
    log.set(ROOM, [...(log.get(ROOM) ?? []), { ...fromBob(ROOM, 'f'), seq: seq(7), at: 7 }]);
    const second = await start(await openFileStore({ directory, userId: ME, deviceId: 'D1' }), log);
    expect(second.transport.positions.get(ROOM)).toBe(6);
    expect(second.conversations.profile(ROOM)).toEqual({ name: 'Plans', topic: 'secret' });
    second.conversations.open(ROOM);
    await until(() => texts(second.conversations).length === 5);
    expect(second.conversations.view(ROOM)).toMatchObject({ loaded: true, more: false });
    expect(second.transport.historyCalls).toEqual([]);
    // The resume (here: the stand-in pushing the missed event) lands in the same timeline.
    second.transport.deliver(fromBob(ROOM, 'g'));
    await until(() => texts(second.conversations).at(-1) === 'g');
    expect(await readdir(directory)).toEqual([expect.stringMatching(/^securechat-M+-D1\.json$/)]);
  });

  it('keeps what the connection delivers while the encryption engine is still loading', async () => {
    // A reload resumes at once; the engine takes longer to load. What the resume brings in
    // that time (here a message and a "gone") must not be dropped: the connection's positions
    // have already moved past it, so it would never come again.
    const store = openMemoryStore();
    const OTHER_ROOM = roomId('O'.repeat(22));
    const connected: { transport?: UnsafeTestingTransport } = {};
    const conversations = await openConversations({
      store,
      userId: ME,
      connect: (positions) => (connected.transport = unsafeTestingTransport(ME, positions)),
      encryption: async (hooks) => {
        connected.transport?.deliver(fromBob(ROOM, 'while loading'));
        connected.transport?.deliver(fromBob(OTHER_ROOM, 'soon gone'));
        connected.transport?.gone(OTHER_ROOM);
        await new Promise((resolve) => setTimeout(resolve, 20));
        return unsafeTestingPlaintextCrypto(hooks);
      },
    });
    cleanup.push(() => conversations.close());
    await until(() => texts(conversations).includes('while loading'));
    expect(connected.transport?.positions.get(ROOM)).toBe(1);
    await until(() => conversations.view(OTHER_ROOM).items.length === 0);
    expect((await store.rooms()).map((r) => r.room)).toEqual([ROOM]);
  });

  it('re-sends what was pending at shutdown with the same cmid, once', async () => {
    const store = openMemoryStore();
    await store.putPending({
      cmid: 'kept-cmid',
      room: ROOM,
      content: { type: 'text', text: 'late' },
      at: 1,
      error: null,
    });
    const { conversations: c, transport } = await start(store);
    await until(() => texts(c).includes('late'));
    expect(transport.log.get(ROOM)?.map((e) => ('cmid' in e ? e.cmid : null))).toEqual([
      'kept-cmid',
    ]);
    await until(() => c.view(ROOM).pending.length === 0);
    expect(await store.pending()).toEqual([]);
  });

  it('forgets a room this user was removed from', async () => {
    const store = openMemoryStore();
    const { conversations: c, transport } = await start(store);
    transport.deliver(fromBob(ROOM, 'hi'));
    await until(() => texts(c).length === 1);
    transport.deliver({
      room: ROOM,
      kind: 'notice',
      sender: BOB,
      device: deviceId('E'.repeat(22)),
      notice: { type: 'kick', user: ME, username: 'me', awaitsCommit: true },
    });
    await until(() => c.view(ROOM).items.length === 0);
    expect(await store.rooms()).toEqual([]);
    expect(await store.timeline(ROOM)).toBeNull();
  });

  it('forgets a room the connection reports gone', async () => {
    const store = openMemoryStore();
    const { conversations: c, transport } = await start(store);
    transport.deliver(fromBob(ROOM, 'hi'));
    await until(() => texts(c).length === 1);
    transport.gone(ROOM);
    await until(() => c.view(ROOM).items.length === 0);
    expect(await store.rooms()).toEqual([]);
  });
});
