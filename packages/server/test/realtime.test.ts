/**
 * The realtime gateway over real WebSockets on a listening server, on SQLite and PostgreSQL.
 */
import { encode } from '@msgpack/msgpack';
import { encodeFrame, Limits, type ServerFrame } from '@securechat/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../test-support/net.js';
import { GENERAL_ROOM_ID } from '../src/domain/delivery.js';
import { createTestApp, describeEachDialect, type TestApp } from './support/harness.js';
import { signedIn, socketHeaders, type TestClient } from './support/client.js';
import { Peer, type Request } from './support/peer.js';
import { roomId, seq, userId } from '../../../test-support/ids.js';

const text = (s: string) => new TextEncoder().encode(s);

describeEachDialect('realtime gateway', (dialect) => {
  let t: TestApp;
  let url: string;
  let origin: string;
  let alice: TestClient;
  let bob: TestClient;

  beforeAll(async () => {
    const port = await freePort();
    origin = 'http://localhost:3000'; // PUBLIC_ORIGIN: what browsers send, whatever port we listen on
    url = `ws://127.0.0.1:${port}/api/ws`;
    t = await createTestApp(dialect, {
      env: { RATE_LIMIT_LOGIN_PER_MINUTE: '100' },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
    alice = await signedIn(t.app, 'alice');
    bob = await signedIn(t.app, 'bob');
  });
  afterAll(() => t.close());

  it('refuses the upgrade without a session, or from another origin', async () => {
    await expect(Peer.open(url, { origin })).rejects.toThrow('HTTP 401');
    await expect(
      Peer.open(url, { ...socketHeaders(alice), origin: 'https://evil.example' }),
    ).rejects.toThrow('HTTP 403');
  });

  it('persists, acknowledges and delivers to every member of #general, in order', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    const b = await Peer.open(url, socketHeaders(bob));
    try {
      // Both are members once connected.
      expect((await a.request({ t: 'ping' })).t).toBe('pong');
      expect((await b.request({ t: 'ping' })).t).toBe('pong');
      const acks = [];
      for (let i = 1; i <= 5; i += 1) {
        acks.push(
          await a.request<'ack'>({
            t: 'send',
            room: GENERAL_ROOM_ID,
            cmid: `m${i}`,
            kind: 'message',
            payload: text(`hello ${i}`),
          }),
        );
      }
      const seqs = acks.map((ack) => (ack.t === 'ack' ? ack.seq : -1));
      // After the two join notices of their first connections: the next five, without gaps.
      expect(seqs).toEqual([3, 4, 5, 6, 7]);
      const messages = () =>
        b.frames.filter(
          (f): f is Extract<ServerFrame, { t: 'event' }> =>
            f.t === 'event' && f.event.kind === 'message',
        );
      const deadline = Date.now() + 5000;
      while (messages().length < 5 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      const received = messages();
      expect(received.map((e) => e.event.seq)).toEqual([3, 4, 5, 6, 7]);
      const fifth = received[4]?.event;
      expect(fifth?.kind === 'message' && new TextDecoder().decode(fifth.payload)).toBe('hello 5');
      expect(received[0]?.event.sender).toBe(
        (await alice.get('/api/auth/session')).json<{ user: { id: string } }>().user.id,
      );
    } finally {
      a.close();
      b.close();
    }
  });

  it('gives a retried send its original acknowledgement and stores it once', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    try {
      const frame = {
        t: 'send' as const,
        room: GENERAL_ROOM_ID,
        cmid: 'retry-1',
        kind: 'message' as const,
        payload: text('once'),
      };
      const first = await a.request<'ack'>(frame);
      const second = await a.request<'ack'>(frame);
      expect(first.t).toBe('ack');
      expect(second).toMatchObject({ t: 'ack', seq: first.t === 'ack' ? first.seq : -1 });
      const stored = await t.storage.db
        .selectFrom('events')
        .select('seq')
        .where('cmid', '=', 'retry-1')
        .execute();
      expect(stored).toHaveLength(1);
    } finally {
      a.close();
    }
  });

  it('resumes a device with exactly what it missed, and pages history backwards', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    try {
      const before = await a.request<'page'>({ t: 'history', room: GENERAL_ROOM_ID, limit: 1 });
      const last = before.t === 'page' ? (before.events[0]?.seq ?? 0) : -1;
      const after = seq(Math.max(last, 0));
      for (let i = 0; i < 3; i += 1) {
        await a.request({
          t: 'send',
          room: GENERAL_ROOM_ID,
          cmid: `missed-${i}`,
          kind: 'message',
          payload: text(`m${i}`),
        });
      }
      const b = await Peer.open(url, socketHeaders(bob));
      try {
        const resumed = await b.request<'page'>({
          t: 'resume',
          positions: [{ room: GENERAL_ROOM_ID, after }],
        });
        expect(resumed.t === 'page' && resumed.events.map((e) => e.seq)).toEqual([
          last + 1,
          last + 2,
          last + 3,
        ]);
        const page = await b.request<'page'>({
          t: 'history',
          room: GENERAL_ROOM_ID,
          before: seq(last + 3),
          limit: 2,
        });
        expect(page.t === 'page' && page.events.map((e) => e.seq)).toEqual([last + 1, last + 2]);
        expect(page.t === 'page' && page.more).toBe(true);
      } finally {
        b.close();
      }
    } finally {
      a.close();
    }
  });

  it('bounds a resume batch by payload bytes, and the next batch goes on from there', async () => {
    // Someone of their own: the twelve sends below would eat into Alice's send allowance.
    const a = await Peer.open(url, socketHeaders(await signedIn(t.app, 'carla')));
    try {
      const before = await a.request<'page'>({ t: 'history', room: GENERAL_ROOM_ID, limit: 1 });
      const last = before.t === 'page' ? (before.events[0]?.seq ?? 0) : -1;
      // Twelve of the largest payloads: more than one batch's bytes, far fewer than its count.
      const big = new Uint8Array(Limits.PAYLOAD_MAX_BYTES).fill(7);
      for (let i = 0; i < 12; i += 1)
        await a.request({
          t: 'send',
          room: GENERAL_ROOM_ID,
          cmid: `big-${i}`,
          kind: 'message',
          payload: big,
        });
      const perBatch = Math.floor(Limits.PAGE_BYTES_MAX / Limits.PAYLOAD_MAX_BYTES);
      const first = await a.request<'page'>({
        t: 'resume',
        positions: [{ room: GENERAL_ROOM_ID, after: seq(last) }],
      });
      if (first.t !== 'page') throw new Error(`resume answered ${first.t}`);
      expect(first.events).toHaveLength(perBatch);
      expect(first.more).toBe(true);
      const next = await a.request<'page'>({
        t: 'resume',
        positions: [{ room: GENERAL_ROOM_ID, after: seq(last + perBatch) }],
      });
      if (next.t !== 'page') throw new Error(`resume answered ${next.t}`);
      expect(next.events.map((e) => e.seq)).toEqual(
        Array.from({ length: 12 - perBatch }, (_, i) => last + perBatch + 1 + i),
      );
      expect(next.more).toBe(false);
      // Scrolling back is bounded the same way: the newest that fit, and more to come.
      const back = await a.request<'page'>({
        t: 'history',
        room: GENERAL_ROOM_ID,
        before: seq(last + 13),
        limit: Limits.HISTORY_PAGE_MAX,
      });
      if (back.t !== 'page') throw new Error(`history answered ${back.t}`);
      expect(back.events.map((e) => e.seq)).toEqual(
        Array.from({ length: perBatch }, (_, i) => last + 13 - perBatch + i),
      );
      expect(back.more).toBe(true);
    } finally {
      a.close();
    }
  });

  it('relays typing to the other members without storing it', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    const b = await Peer.open(url, socketHeaders(bob));
    try {
      await b.request({ t: 'ping' });
      const stored = await t.storage.db.selectFrom('events').select('seq').execute();
      expect(await a.request({ t: 'typing', room: GENERAL_ROOM_ID, on: true })).toMatchObject({
        t: 'ok',
      });
      const deadline = Date.now() + 5000;
      while (!b.frames.some((f) => f.t === 'typing') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(b.frames.find((f) => f.t === 'typing')).toMatchObject({
        room: GENERAL_ROOM_ID,
        on: true,
      });
      expect(a.frames.some((f) => f.t === 'typing')).toBe(false);
      expect(await t.storage.db.selectFrom('events').select('seq').execute()).toHaveLength(
        stored.length,
      );
    } finally {
      a.close();
      b.close();
    }
  });

  it('shares receipts with the room: only forward, never past the newest event, not stored as events', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    const b = await Peer.open(url, socketHeaders(bob));
    try {
      await b.request({ t: 'ping' });
      const sent = [];
      for (const n of [1, 2])
        sent.push(
          await a.request<'ack'>({
            t: 'send',
            room: GENERAL_ROOM_ID,
            cmid: `receipt-${n}`,
            kind: 'message',
            payload: text(`r${n}`),
          }),
        );
      const [first, second] = sent.map((ack) => (ack.t === 'ack' ? ack.seq : 0));
      const stored = await t.storage.db.selectFrom('events').select('seq').execute();
      const receiptsSeen = async (count: number) => {
        const deadline = Date.now() + 5000;
        while (a.frames.filter((f) => f.t === 'receipt').length < count && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 10));
        return a.frames.filter((f) => f.t === 'receipt');
      };
      expect(
        await b.request({ t: 'receipt', room: GENERAL_ROOM_ID, delivered: seq(second!) }),
      ).toMatchObject({ t: 'ok' });
      expect((await receiptsSeen(1)).at(-1)).toMatchObject({
        room: GENERAL_ROOM_ID,
        receipt: { username: 'bob', delivered: second, read: 0 },
      });
      await b.request({ t: 'receipt', room: GENERAL_ROOM_ID, read: seq(first!) });
      expect((await receiptsSeen(2)).at(-1)).toMatchObject({
        receipt: { delivered: second, read: first },
      });
      // Backwards is ignored (no push); a read past the newest event is clamped to it.
      await b.request({ t: 'receipt', room: GENERAL_ROOM_ID, delivered: seq(1), read: seq(1) });
      await b.request({ t: 'receipt', room: GENERAL_ROOM_ID, read: seq(second! + 1_000) });
      expect((await receiptsSeen(3)).at(-1)).toMatchObject({
        receipt: { delivered: second, read: second },
      });
      expect(a.frames.filter((f) => f.t === 'receipt')).toHaveLength(3);
      expect(b.frames.some((f) => f.t === 'receipt')).toBe(false);
      const listed = await a.request<'receipts'>({ t: 'receipts', room: GENERAL_ROOM_ID });
      expect(listed).toMatchObject({ t: 'receipts', enabled: true });
      const bobs =
        listed.t === 'receipts' ? listed.receipts.find((r) => r.username === 'bob') : null;
      expect(bobs).toMatchObject({ delivered: second, read: second });
      expect(listed.t === 'receipts' && listed.receipts.some((r) => r.username === 'alice')).toBe(
        false,
      );
      // A room that is not theirs looks like one that does not exist.
      expect(
        await b.request({ t: 'receipt', room: roomId('NoSuchRoom000000000000'), read: seq(1) }),
      ).toMatchObject({ t: 'error', code: 'CHAT_ERR_NOT_FOUND' });
      expect(await t.storage.db.selectFrom('events').select('seq').execute()).toHaveLength(
        stored.length,
      );
    } finally {
      a.close();
      b.close();
    }
  });

  it('keeps no receipts in a room over RECEIPT_ROOM_MEMBERS_MAX members', async () => {
    const now = Date.now();
    const room = 'BigReceiptRoom00000000';
    const ids = await t.storage.db.selectFrom('users').select(['id', 'username_index']).execute();
    const id = (name: string) =>
      ids.find((u) => u.username_index === t.vault.index('username', name))?.id ?? '';
    const fillers = await Promise.all(
      Array.from({ length: Limits.RECEIPT_ROOM_MEMBERS_MAX }, async (_, i) => ({
        id: `filler${String(i).padStart(16, '0')}`,
        username: await t.vault.seal('username', `filler${i}`),
        username_index: t.vault.index('username', `filler${i}`),
        username_skeleton: t.vault.index('username-skeleton', `filler${i}`),
        opaque_record: 'x',
        role: 'member' as const,
        created_at: now,
        password_changed_at: now,
        suspended_at: null,
        identity_key: null,
        identity_backup: null,
        identity_set_at: null,
      })),
    );
    await t.storage.db.insertInto('users').values(fillers).execute();
    await t.storage.db
      .insertInto('rooms')
      .values({ id: room, kind: 'group', name: null, created_at: now, last_seq: 5 })
      .execute();
    const member = (user: string) => ({
      room_id: room,
      user_id: user,
      role: 'member' as const,
      joined_at: now,
    });
    await t.storage.db
      .insertInto('room_members')
      .values([member(id('alice')), member(id('bob')), ...fillers.map((f) => member(f.id))])
      .execute();
    const a = await Peer.open(url, socketHeaders(alice));
    const b = await Peer.open(url, socketHeaders(bob));
    try {
      await a.request({ t: 'ping' });
      expect(
        await b.request({ t: 'receipt', room: roomId(room), delivered: seq(5), read: seq(5) }),
      ).toMatchObject({ t: 'ok' });
      expect(await a.request({ t: 'receipts', room: roomId(room) })).toMatchObject({
        t: 'receipts',
        enabled: false,
        receipts: [],
      });
      const row = await t.storage.db
        .selectFrom('room_members')
        .select(['delivered_seq', 'read_seq'])
        .where('room_id', '=', room)
        .where('user_id', '=', id('bob'))
        .executeTakeFirstOrThrow();
      expect([Number(row.delivered_seq), Number(row.read_seq)]).toEqual([0, 0]);
      expect(a.frames.some((f) => f.t === 'receipt')).toBe(false);
    } finally {
      a.close();
      b.close();
    }
  });

  it('answers a room you are not in exactly like a room that does not exist', async () => {
    const now = Date.now();
    await t.storage.db
      .insertInto('rooms')
      .values({
        id: 'PrivateRoom00000000000',
        kind: 'group',
        name: null,
        created_at: now,
        last_seq: 0,
      })
      .execute();
    const a = await Peer.open(url, socketHeaders(alice));
    try {
      const forbidden = await a.request({
        t: 'history',
        room: roomId('PrivateRoom00000000000'),
        limit: 10,
      });
      const missing = await a.request({
        t: 'history',
        room: roomId('NoSuchRoom000000000000'),
        limit: 10,
      });
      expect(forbidden).toMatchObject({ t: 'error', code: 'CHAT_ERR_NOT_FOUND' });
      expect({ ...forbidden, id: 0 }).toEqual({ ...missing, id: 0 });
      const send = await a.request({
        t: 'send',
        room: roomId('PrivateRoom00000000000'),
        cmid: 'x',
        kind: 'message',
        payload: text('x'),
      });
      expect(send).toMatchObject({ t: 'error', code: 'CHAT_ERR_NOT_FOUND' });
    } finally {
      a.close();
    }
  });

  it('answers malformed frames with error frames and keeps the connection', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    try {
      a.socket.send(Buffer.from([0xc1, 0xff, 0x00]));
      a.socket.send(encode({ v: 1, t: 'send', id: 77, room: GENERAL_ROOM_ID }));
      a.socket.send('text frames are not allowed');
      const bad = await a.reply(77);
      expect(bad).toMatchObject({ t: 'error', code: 'CHAT_ERR_FRAME_MALFORMED' });
      expect((await a.request({ t: 'ping' })).t).toBe('pong');
      const errors = a.frames.filter((f) => f.t === 'error');
      expect(errors.length).toBeGreaterThanOrEqual(3);
    } finally {
      a.close();
    }
  });

  it('answers every random or mutated frame with exactly one reply, and never falls over', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    const valid: Uint8Array[] = [
      encodeFrame({ v: 1, t: 'ping', id: 9 }),
      encodeFrame({ v: 1, t: 'history', id: 9, room: GENERAL_ROOM_ID, limit: 5 }),
      encodeFrame({ v: 1, t: 'directory', id: 9, limit: 5 }),
      encodeFrame({ v: 1, t: 'members', id: 9, room: GENERAL_ROOM_ID }),
      encodeFrame({
        v: 1,
        t: 'resume',
        id: 9,
        positions: [{ room: GENERAL_ROOM_ID, after: seq(0) }],
      }),
      encodeFrame({
        v: 1,
        t: 'kp-claim',
        id: 9,
        room: GENERAL_ROOM_ID,
        users: [userId('AAAAAAAAAAAAAAAAAAAAAA')],
      }),
    ];
    const replies = () => a.frames.filter((f) => 'id' in f).length;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ minLength: 1, maxLength: 300 }),
            fc
              .tuple(
                fc.constantFrom(...valid),
                fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
                  minLength: 1,
                  maxLength: 4,
                }),
                fc.nat(),
              )
              .map(([frame, flips, cut]) => {
                const bytes = Uint8Array.from(frame);
                for (const [at, value] of flips) bytes[at % bytes.length] = value;
                return cut % 3 === 0 ? bytes.subarray(0, cut % bytes.length || 1) : bytes;
              }),
          ),
          async (bytes) => {
            const before = replies();
            a.socket.send(bytes);
            const deadline = Date.now() + 5000;
            while (replies() === before) {
              if (Date.now() > deadline) throw new Error('no reply');
              await new Promise((r) => setTimeout(r, 2));
            }
            const reply = a.frames.filter((f) => 'id' in f).at(-1);
            if (reply?.t === 'error') expect(reply.code).toMatch(/^CHAT_ERR_/);
            expect(reply?.t === 'error' && reply.code === 'CHAT_ERR_INTERNAL').toBe(false);
          },
        ),
        { numRuns: 150 },
      );
      expect(a.socket.readyState).toBe(WebSocket.OPEN);
      a.frames.length = 0; // fuzzed ids may repeat the next request's id
      expect((await a.request({ t: 'ping' })).t).toBe('pong');
    } finally {
      a.close();
    }
  });

  it('refuses a frame over the size limit by closing the socket', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    const closed = new Promise<number>((resolve) =>
      a.socket.once('close', (code) => resolve(code)),
    );
    a.socket.send(Buffer.alloc(200 * 1024));
    expect(await closed).toBe(1009);
  });

  it('rate-limits sends with an error frame, never a silent drop', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    try {
      // A burst of twice the rate passes (token bucket); beyond it, refusals. The bucket
      // refills while the server stores, so send in waves (each within the in-flight cap)
      // until one is refused.
      const wave = Limits.REQUESTS_IN_FLIGHT_PER_CONNECTION;
      const replies: Awaited<ReturnType<Peer['request']>>[] = [];
      for (let w = 0; w < 5 && !replies.some((r) => r.t === 'error'); w += 1) {
        replies.push(
          ...(await Promise.all(
            Array.from({ length: wave }, (_, i) =>
              a.request({
                t: 'send',
                room: GENERAL_ROOM_ID,
                cmid: `burst-${w}-${i}`,
                kind: 'message',
                payload: text('x'),
              }),
            ),
          )),
        );
      }
      const limited = replies.filter((r) => r.t === 'error');
      expect(limited.length).toBeGreaterThan(0);
      expect(limited[0]).toMatchObject({ code: 'CHAT_ERR_RATE_LIMITED', retryAfter: 1 });
      const acked = replies.filter((r) => r.t === 'ack').length;
      expect(acked).toBeGreaterThanOrEqual(2 * Limits.SENDS_PER_SECOND_PER_DEVICE);
      expect(acked + limited.length).toBe(replies.length);
    } finally {
      a.close();
    }
  });

  it('gives every other frame type a per-user budget: a flood is refused, the rest goes on', async () => {
    const dave = await signedIn(t.app, 'dave');
    const d = await Peer.open(url, socketHeaders(dave));
    const b = await Peer.open(url, socketHeaders(bob));
    try {
      await b.request({ t: 'ping' });
      const flood = async (frame: Request, count: number) => {
        const replies = await Promise.all(Array.from({ length: count }, () => d.request(frame)));
        const refused = replies.filter((r) => r.t === 'error');
        // Every request answered: allowed ones as usual, the others refused with a wait.
        for (const r of refused) {
          expect(r).toMatchObject({ code: 'CHAT_ERR_RATE_LIMITED' });
          expect(r.t === 'error' && r.retryAfter).toBeGreaterThanOrEqual(1);
        }
        expect(replies.length).toBe(count);
        return { allowed: count - refused.length, refused: refused.length };
      };
      // Typing fans out to all of #general: a flood reaches bob only up to the burst.
      const typing = await flood({ t: 'typing', room: GENERAL_ROOM_ID, on: true }, 40);
      expect(typing.refused).toBeGreaterThan(0);
      expect(typing.allowed).toBeLessThanOrEqual(Limits.TYPING_BURST_PER_USER + 2);
      const presence = await flood({ t: 'presence', status: 'away' }, 50);
      expect(presence.refused).toBeGreaterThan(0);
      const directory = await flood({ t: 'directory', limit: 5 }, 40);
      expect(directory.refused).toBeGreaterThan(0);
      // directory and users share the lookups budget.
      expect(await d.request({ t: 'users', query: 'bo' })).toMatchObject({
        t: 'error',
        code: 'CHAT_ERR_RATE_LIMITED',
      });
      const receipts = await flood({ t: 'receipt', room: GENERAL_ROOM_ID, delivered: seq(1) }, 60);
      expect(receipts.refused).toBeGreaterThan(0);
      expect(receipts.allowed).toBeLessThanOrEqual(Limits.RECEIPTS_BURST_PER_USER + 6);
      const pings = await flood({ t: 'ping' }, 60);
      expect(pings.refused).toBeGreaterThan(0);
      // Other budgets are untouched: dave still sends and reads, and bob is unaffected.
      expect(
        await d.request({
          t: 'send',
          room: GENERAL_ROOM_ID,
          cmid: 'after-flood',
          kind: 'message',
          payload: text('still here'),
        }),
      ).toMatchObject({ t: 'ack' });
      expect(await d.request({ t: 'history', room: GENERAL_ROOM_ID, limit: 1 })).toMatchObject({
        t: 'page',
      });
      expect(await b.request({ t: 'directory', limit: 5 })).toMatchObject({ t: 'directory' });
      await new Promise((r) => setTimeout(r, 100));
      const typingSeen = b.frames.filter((f) => f.t === 'typing').length;
      expect(typingSeen).toBe(typing.allowed);
    } finally {
      d.close();
      b.close();
    }
  });

  it('closes the socket of a session that signed out', async () => {
    const carol = await signedIn(t.app, 'carol');
    const c = await Peer.open(url, socketHeaders(carol));
    const closed = new Promise<number>((resolve) =>
      c.socket.once('close', (code) => resolve(code)),
    );
    await carol.send('POST', '/api/auth/logout');
    expect(await closed).toBe(4001);
  }, 15_000);
});
