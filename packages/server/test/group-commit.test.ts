/**
 * Group commit (domain/delivery/send.ts): sends arriving in one event-loop turn are stored in
 * one transaction, each in its own savepoint, and acknowledged once it has committed. Over
 * real WebSockets on SQLite and PostgreSQL, with the send limits raised by configuration.
 */
import { randomBytes } from 'node:crypto';
import type { ServerFrame } from '@securechat/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../../test-support/net.js';
import { GENERAL_ROOM_ID } from '../src/domain/delivery.js';
import { createTestApp, describeEachDialect, type TestApp } from './support/harness.js';
import { signedIn, socketHeaders, type TestClient } from './support/client.js';
import { Peer, type Request } from './support/peer.js';

const text = (s: string) => new TextEncoder().encode(s);
const TOKEN = `metrics-${randomBytes(16).toString('hex')}`;
const ROUNDS = 20;

describeEachDialect('group commit of sends', (dialect) => {
  let t: TestApp;
  let url: string;
  let people: TestClient[];

  beforeAll(async () => {
    const port = await freePort();
    url = `ws://127.0.0.1:${port}/api/ws`;
    t = await createTestApp(dialect, {
      env: {
        RATE_LIMIT_LOGIN_PER_MINUTE: '100',
        // Far above the shipped 20/s: a device may send as fast as the server stores.
        RATE_LIMIT_SENDS_PER_SECOND_PER_DEVICE: '5000',
        RATE_LIMIT_SENDS_PER_SECOND_PER_USER: '5000',
        METRICS_TOKEN: TOKEN,
      },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
    people = await Promise.all(['ann', 'ben', 'cat', 'dan'].map((name) => signedIn(t.app, name)));
  });
  afterAll(() => t.close());

  const open = () =>
    Promise.all(
      people.map(async (person) => {
        const peer = await Peer.open(url, socketHeaders(person));
        expect((await peer.request({ t: 'ping' })).t).toBe('pong');
        return peer;
      }),
    );

  /** Write every frame on every peer at once, then wait for each reply. */
  async function burst(peers: Peer[], framesOf: (peer: number) => Request[]) {
    const ids = peers.map((peer, p) => framesOf(p).map((frame) => peer.post(frame)));
    return Promise.all(
      peers.map((peer, p) => Promise.all((ids[p] ?? []).map((id) => peer.reply(id)))),
    );
  }

  async function batchSizes(): Promise<{ count: number; sum: number }> {
    const body = (
      await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
    ).body;
    const read = (name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1] ?? Number.NaN);
    return {
      count: read('securechat_send_batch_size_count'),
      sum: read('securechat_send_batch_size_sum'),
    };
  }

  it('stores the sends of one turn together, in order per device, each acked once stored', async () => {
    const peers = await open();
    try {
      const before = await batchSizes();
      const message = (p: number, i: number): Request => ({
        t: 'send',
        room: GENERAL_ROOM_ID,
        cmid: `gc-${dialect}-${p}-${i}`,
        kind: 'message',
        payload: text(`${p}:${i}`),
      });
      const replies = await burst(peers, (p) =>
        Array.from({ length: ROUNDS }, (_, i) => message(p, i)),
      );
      const acks = replies.map((mine) =>
        mine.map((reply) => {
          if (reply.t !== 'ack') throw new Error(`refused: ${JSON.stringify(reply)}`);
          return reply.seq;
        }),
      );
      // Each device's sends in the order it sent them; every seq of the room used once.
      for (const mine of acks) expect(mine).toEqual([...mine].sort((a, b) => a - b));
      const all = acks.flat().sort((a, b) => a - b);
      expect(new Set(all).size).toBe(peers.length * ROUNDS);
      expect(all.at(-1)! - all[0]!).toBe(all.length - 1);

      // Stored before acked: every acked seq is in the log with the payload sent.
      const stored = await t.storage.db
        .selectFrom('events')
        .select(['seq', 'payload'])
        .where('room_id', '=', GENERAL_ROOM_ID)
        .where('cmid', 'like', `gc-${dialect}-%`)
        .execute();
      expect(stored).toHaveLength(peers.length * ROUNDS);

      // Everyone receives every event once, in seq order.
      for (const peer of peers) {
        const events = (await peer.events(all.length + 0)).filter(
          (f) => f.event.kind === 'message' && all.includes(f.event.seq),
        );
        expect(events.map((f) => f.event.seq)).toEqual(all);
      }

      // Fewer transactions than sends: the sends waiting in one turn shared one.
      const after = await batchSizes();
      expect(after.sum - before.sum).toBe(peers.length * ROUNDS);
      expect(after.count - before.count).toBeLessThan(peers.length * ROUNDS);
    } finally {
      for (const peer of peers) peer.close();
    }
  });

  it('refuses a bad send without taking the others in its turn with it', async () => {
    const peers = await open();
    try {
      const epoch = Number(
        (
          await t.storage.db
            .selectFrom('rooms')
            .select('epoch')
            .where('id', '=', GENERAL_ROOM_ID)
            .executeTakeFirstOrThrow()
        ).epoch,
      );
      const replies = await burst(peers, (p) =>
        Array.from({ length: ROUNDS }, (_, i): Request => {
          const cmid = `bad-${dialect}-${p}-${i}`;
          // Ann's edits name no message; Ben's commits name an epoch long gone; the others write.
          if (p === 0)
            return {
              t: 'send',
              room: GENERAL_ROOM_ID,
              cmid,
              kind: 'edit',
              target: 999_999 as never,
              payload: text('e'),
            };
          if (p === 1)
            return {
              t: 'send',
              room: GENERAL_ROOM_ID,
              cmid,
              kind: 'commit',
              epoch: (epoch + 1000) as never,
              payload: text('c'),
            };
          return { t: 'send', room: GENERAL_ROOM_ID, cmid, kind: 'message', payload: text('ok') };
        }),
      );
      const codes = (mine: ServerFrame[]) => mine.map((r) => (r.t === 'error' ? r.code : r.t));
      expect(new Set(codes(replies[0] ?? []))).toEqual(new Set(['CHAT_ERR_NOT_FOUND']));
      expect(new Set(codes(replies[1] ?? []))).toEqual(new Set(['CHAT_ERR_STALE_EPOCH']));
      expect(codes(replies[2] ?? [])).toEqual(Array(ROUNDS).fill('ack'));
      expect(codes(replies[3] ?? [])).toEqual(Array(ROUNDS).fill('ack'));
      const stored = await t.storage.db
        .selectFrom('events')
        .select('cmid')
        .where('cmid', 'like', `bad-${dialect}-%`)
        .execute();
      // Only the good ones, and the room's epoch untouched by the refused commits.
      expect(stored.map((row) => row.cmid).sort()).toEqual(
        [2, 3]
          .flatMap((p) => Array.from({ length: ROUNDS }, (_, i) => `bad-${dialect}-${p}-${i}`))
          .sort(),
      );
      const after = await t.storage.db
        .selectFrom('rooms')
        .select('epoch')
        .where('id', '=', GENERAL_ROOM_ID)
        .executeTakeFirstOrThrow();
      expect(Number(after.epoch)).toBe(epoch);
    } finally {
      for (const peer of peers) peer.close();
    }
  });

  it('acks a retry in the same turn as its original with the one stored event', async () => {
    // Two connections of one device (the same session) send the same message at once.
    const [first] = people;
    if (!first) throw new Error('nobody signed in');
    const peers = await Promise.all([
      Peer.open(url, socketHeaders(first)),
      Peer.open(url, socketHeaders(first)),
    ]);
    try {
      for (const peer of peers) await peer.request({ t: 'ping' });
      const cmid = `dup-${dialect}`;
      const replies = await burst(peers, () => [
        { t: 'send', room: GENERAL_ROOM_ID, cmid, kind: 'message', payload: text('twice') },
      ]);
      const seqs = replies.flat().map((reply) => (reply.t === 'ack' ? reply.seq : -1));
      expect(seqs[0]).toBeGreaterThan(0);
      expect(seqs[1]).toBe(seqs[0]);
      const stored = await t.storage.db
        .selectFrom('events')
        .select('seq')
        .where('cmid', '=', cmid)
        .execute();
      expect(stored).toHaveLength(1);
    } finally {
      for (const peer of peers) peer.close();
    }
  });
});
