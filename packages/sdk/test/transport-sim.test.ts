/**
 * The realtime connection's catch-up, outbox and state, against the in-process stand-in
 * server (real codec, fake socket, manual clock), one case per defect found in review: each
 * needs an interleaving the real server only shows by chance.
 */
import { ChatError, Limits, type RoomEvent } from '@securechat/protocol';
import { describe, expect, it } from 'vitest';
import {
  RealtimeConnection,
  type ConnectionState,
  type RealtimeOptions,
} from '../src/transport/realtime.js';
import {
  CONNECT_TIMEOUT_MS,
  LIVENESS_CLOSE_CODE,
  PING_INTERVAL_MS,
  PING_TIMEOUT_MS,
} from '../src/transport/liveness.js';
import { OUTBOX_ENTRY_MAX_AGE_MS, OUTBOX_IN_FLIGHT_MAX } from '../src/transport/outbox.js';
import {
  id,
  ME,
  settle,
  UnsafeTestingClock,
  UnsafeTestingServer,
  type ServerOptions,
} from './support/unsafe-testing-server.js';

const A = id('roomA');
const B = id('roomB');
const text = (s: string) => new TextEncoder().encode(s);

function setup(
  positions: [string, number][],
  options: ServerOptions = {},
  connection: Partial<RealtimeOptions> = {},
) {
  const server = new UnsafeTestingServer(options);
  const clock = new UnsafeTestingClock();
  const map = new Map(positions);
  const conn = new RealtimeConnection({
    url: 'ws://stand-in',
    openSocket: server.openSocket,
    headers: () => Promise.resolve({}),
    positions: map,
    userId: ME,
    clock,
    random: () => 0.5,
    minBackoffMs: 100,
    maxBackoffMs: 1000,
    ...connection,
  });
  const seen: RoomEvent[] = [];
  const gone: string[] = [];
  const states: ConnectionState[] = [];
  conn.onEvent((event) => seen.push(event));
  conn.onGone((room) => gone.push(room));
  conn.onState((state) => states.push(state));
  const seqs = (room: string) => seen.filter((e) => e.room === room).map((e) => e.seq);
  /** Let both sides work until nothing is left to do (no time passes). */
  const run = async () => {
    for (let i = 0; i < 1000; i += 1) {
      await settle();
      if (server.connecting) server.accept();
      else if (!server.process() && !server.deliver()) {
        await settle();
        if (server.fromClient.length === 0 && server.toClient.length === 0) return;
      }
    }
    throw new Error('no quiet after 1000 steps');
  };
  return { server, clock, conn, map, seen, gone, states, seqs, run };
}

describe('catching up', () => {
  for (const goneMode of ['name', 'fail'] as const) {
    it(`recovers the other rooms when one was left on another device (server ${goneMode}s gone rooms)`, async () => {
      const t = setup(
        [
          [A, 0],
          [B, 0],
        ],
        { goneMode },
      );
      t.server.addRoom(A, 2);
      t.server.addRoom(B, 2);
      t.server.remove(A, 'leave'); // on another device, while this one is away
      t.server.other(B);
      t.conn.start();
      await t.run();
      expect(t.seqs(B)).toEqual([1, 2, 3]);
      expect(t.gone).toEqual([A]);
      expect(t.conn.position(A)).toBe(0);
      expect(t.map.has(A)).toBe(false);
      expect(t.conn.state).toBe('open');

      // The next reconnect no longer names the room, and still recovers the others.
      t.server.drop();
      t.server.other(B);
      await t.clock.advance(1000);
      await t.run();
      expect(t.server.resumed.at(-1)).toEqual([B]);
      expect(t.seqs(B)).toEqual([1, 2, 3, 4]);
      expect(t.conn.state).toBe('open');
      t.conn.close();
    });
  }

  it('drops the position of a room on a notice that removes this user', async () => {
    const t = setup([
      [A, 1],
      [B, 1],
    ]);
    t.server.addRoom(A, 1);
    t.server.addRoom(B, 1);
    t.conn.start();
    await t.run();
    t.server.remove(A, 'kick');
    await t.run();
    expect(
      t.seen.map((e) => [e.room, e.seq, e.kind === 'notice' ? e.notice.type : undefined]),
    ).toEqual([[A, 2, 'kick']]);
    expect(t.gone).toEqual([A]);
    expect(t.map.has(A)).toBe(false);
    t.server.drop();
    await t.clock.advance(1000);
    await t.run();
    expect(t.server.resumed.at(-1)).toEqual([B]);
    t.conn.close();
  });

  it('follows a resume page across seqs this user may no longer read', async () => {
    const t = setup([[A, 2]]);
    t.server.addRoom(A, 2);
    // While away: removed, the room goes on, added back where history is hidden from
    // newcomers.
    t.server.remove(A, 'kick');
    t.server.other(A);
    t.server.invite(A, false, 'joined');
    t.server.other(A);
    t.conn.start();
    await t.run();
    expect(t.seqs(A)).toEqual([5, 6]);
    expect(t.conn.position(A)).toBe(6);
    expect(t.conn.state).toBe('open');
    t.conn.close();
  });

  it('follows a room again when this user is added back', async () => {
    const t = setup([[A, 1]]);
    t.server.addRoom(A, 1);
    t.conn.start();
    await t.run();
    t.server.remove(A, 'kick'); // 2, seen: the room is dropped
    t.server.other(A); // 3, not for this user
    t.server.invite(A, false, 'joined'); // 4
    t.server.other(A); // 5
    await t.run();
    expect(t.gone).toEqual([A]);
    expect(t.seqs(A)).toEqual([2, 4, 5]);
    expect(t.conn.position(A)).toBe(5);
    t.conn.close();
  });

  it('fetches an event that arrives while a resume is in flight', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 0);
    t.conn.start();
    await t.run();
    t.server.other(A, true); // 1: its push is lost
    t.server.other(A); // 2: a gap, so the client resumes
    expect(t.server.deliver()).toBe(true);
    await settle();
    expect(t.server.process()).toBe(true); // the resume: a page with 1 and 2
    t.server.other(A, true); // 3: lost
    t.server.other(A); // 4: pushed right behind the page
    // Both arrive before the client has read the page.
    t.server.deliver();
    t.server.deliver();
    await t.run();
    expect(t.seqs(A)).toEqual([1, 2, 3, 4]);
    expect(t.conn.state).toBe('open');
    t.conn.close();
  });

  it('sends what was sent during a gap-resume without waiting for a reconnect', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 0);
    t.conn.start();
    await t.run();
    t.server.other(A, true);
    t.server.other(A);
    t.server.deliver(); // a gap: the client resumes
    await settle();
    let acked = 0;
    const sent = t.conn.send({ room: A, kind: 'message', payload: text('during') }).then((ack) => {
      acked = ack.seq;
    });
    await t.run();
    await sent;
    expect(acked).toBe(3);
    expect(t.server.connections).toBe(1);
    expect(t.seqs(A)).toEqual([1, 2, 3]);
    t.conn.close();
  });

  it('never reads open after a resume that died with its socket', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 1);
    t.conn.start();
    await settle();
    t.server.accept();
    await settle();
    expect(t.server.fromClient).toHaveLength(1); // the resume
    t.server.drop();
    await settle();
    await settle();
    expect(t.conn.state).toBe('reconnecting');
    expect(t.states).not.toContain('open');
    await t.clock.advance(1000);
    await t.run();
    expect(t.conn.state).toBe('open');
    expect(t.seqs(A)).toEqual([1]);
    t.conn.close();
  });

  it('shows a failed resume as stalled and retries it with backoff', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 2);
    t.server.failNextResume = 'CHAT_ERR_INTERNAL';
    t.conn.start();
    await t.run();
    expect(t.conn.state).toBe('stalled');
    expect(t.conn.lastError).toMatchObject({ code: 'CHAT_ERR_INTERNAL' });
    expect(t.seen).toHaveLength(0);
    // Requests and sends still work meanwhile.
    const ack = t.conn.send({ room: A, kind: 'message', payload: text('x') });
    await t.run();
    await expect(ack).resolves.toMatchObject({ seq: 3 });
    await t.clock.advance(1000);
    await t.run();
    expect(t.conn.state).toBe('open');
    expect(t.conn.lastError).toBeNull();
    expect(t.seqs(A)).toEqual([1, 2, 3]);
    t.conn.close();
  });

  it('waits as long as the server asks before resuming again', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 1);
    t.server.failNextResume = 'CHAT_ERR_RATE_LIMITED'; // retryAfter 2 s
    t.conn.start();
    await t.run();
    expect(t.conn.state).toBe('stalled');
    await t.clock.advance(1900);
    await t.run();
    expect(t.server.resumed).toHaveLength(1);
    await t.clock.advance(200);
    await t.run();
    expect(t.server.resumed).toHaveLength(2);
    expect(t.conn.state).toBe('open');
    t.conn.close();
  });

  it('follows resume pages while the server says more', async () => {
    const t = setup(
      [
        [A, 0],
        [B, 0],
      ],
      { pageSize: 2 },
    );
    t.server.addRoom(A, 3);
    t.server.addRoom(B, 3);
    t.conn.start();
    await t.run();
    expect(t.seqs(A)).toEqual([1, 2, 3]);
    expect(t.seqs(B)).toEqual([1, 2, 3]);
    t.conn.close();
  });
});

describe('the outbox', () => {
  it('refuses a payload over the limit before queueing, naming the limit', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 0);
    t.conn.start();
    await t.run();
    const error = await t.conn
      .send({ room: A, kind: 'message', payload: new Uint8Array(Limits.PAYLOAD_MAX_BYTES + 1) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: 'CHAT_ERR_TOO_LARGE', field: 'payload' });
    expect((error as ChatError).message).toContain(String(Limits.PAYLOAD_MAX_BYTES));
    expect(t.server.fromClient).toHaveLength(0);
    expect(t.conn.pendingSends).toBe(0);
    // Exactly at the limit is fine.
    const ack = t.conn.send({
      room: A,
      kind: 'message',
      payload: new Uint8Array(Limits.PAYLOAD_MAX_BYTES),
    });
    await t.run();
    await expect(ack).resolves.toMatchObject({ seq: 1 });
    t.conn.close();
  });

  it('refuses a request over the frame limit before sending it', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 0);
    // Requests other than sends are checked too: the server would close the socket over them.
    t.conn.start();
    await t.run();
    await expect(
      t.conn.sendToDevice(A, id('device'), new Uint8Array(Limits.FRAME_MAX_BYTES)),
    ).rejects.toMatchObject({ code: 'CHAT_ERR_TOO_LARGE' });
    expect(t.server.fromClient).toHaveLength(0);
    t.conn.close();
  });

  it('refuses an ill-formed send before queueing it', async () => {
    const t = setup([]);
    await expect(
      t.conn.send({ room: A, kind: 'message', payload: text('x'), cmid: 'not a cmid!' }),
    ).rejects.toMatchObject({ code: 'CHAT_ERR_VALIDATION' });
    expect(t.conn.pendingSends).toBe(0);
    t.conn.close();
  });

  it('fails an entry visibly after OUTBOX_ENTRY_MAX_AGE_MS and never sends it after', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 0);
    const sent = t.conn.send({ room: A, kind: 'message', payload: text('late') });
    const outcome = sent.catch((e: unknown) => e);
    t.conn.start(); // the server never accepts the socket
    await t.clock.advance(OUTBOX_ENTRY_MAX_AGE_MS - 1);
    expect(t.conn.pendingSends).toBe(1);
    await t.clock.advance(1);
    expect(await outcome).toMatchObject({ code: 'CHAT_ERR_SEND_EXPIRED' });
    expect(t.conn.pendingSends).toBe(0);
    await t.run();
    expect(t.server.lastSeq(A)).toBe(0);
    t.conn.close();
  });

  it('fails on a permanent refusal and retries a transient one', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 0);
    t.conn.start();
    await t.run();
    const refused = t.conn
      .send({ room: B, kind: 'message', payload: text('x') })
      .catch((e: unknown) => e);
    await t.run();
    expect(await refused).toMatchObject({ code: 'CHAT_ERR_NOT_FOUND' });
    t.server.rateLimitNextSend = true;
    let acked = false;
    const later = t.conn
      .send({ room: A, kind: 'message', payload: text('y') })
      .then(() => (acked = true));
    await t.run();
    expect(acked).toBe(false);
    expect(t.conn.pendingSends).toBe(1);
    await t.clock.advance(1000);
    await t.run();
    await later;
    expect(t.server.lastSeq(A)).toBe(1);
    expect(t.conn.pendingSends).toBe(0);
    t.conn.close();
  });

  it('keeps at most OUTBOX_IN_FLIGHT_MAX sends on the wire, and their order', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 0);
    const acks = Array.from({ length: 100 }, (_, i) =>
      t.conn.send({ room: A, kind: 'message', payload: text(String(i)) }),
    );
    t.conn.start();
    await settle();
    t.server.accept();
    await settle();
    t.server.process(); // the resume
    t.server.deliver();
    await settle();
    expect(t.server.fromClient).toHaveLength(OUTBOX_IN_FLIGHT_MAX);
    await t.run();
    expect((await Promise.all(acks)).map((ack) => ack.seq)).toEqual(acks.map((_, i) => i + 1));
    t.conn.close();
  });

  it('re-sends an unacknowledged send once after a reconnect, with the same cmid', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 0);
    t.conn.start();
    await t.run();
    const sent = t.conn.send({ room: A, kind: 'message', payload: text('x'), cmid: 'c-1' });
    await settle();
    t.server.process(); // stored; the ack is lost with the socket
    t.server.drop();
    await t.clock.advance(1000);
    await t.run();
    await expect(sent).resolves.toMatchObject({ seq: 1 });
    expect(t.server.lastSeq(A)).toBe(1);
    expect(t.seqs(A)).toEqual([1]);
    t.conn.close();
  });
});

describe('liveness', () => {
  it('gives up on a connection attempt that never opens, and tries again', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 1);
    t.conn.start();
    await settle();
    // The handshake is lost: the socket stays connecting, nothing closes it.
    expect(t.server.connecting).toBe(true);
    await t.clock.advance(CONNECT_TIMEOUT_MS - 1);
    await settle();
    expect(t.server.closedByClient).toEqual([]);
    await t.clock.advance(1);
    await settle();
    expect(t.server.closedByClient).toEqual([
      { code: LIVENESS_CLOSE_CODE, reason: 'connection attempt timed out' },
    ]);
    expect(t.conn.state).toBe('reconnecting');
    await t.clock.advance(1000); // the backoff
    await t.run();
    expect(t.server.connections).toBe(2);
    expect(t.conn.state).toBe('open');
    expect(t.seqs(A)).toEqual([1]);
    // An attempt that opened in time is never cut by the timer.
    await t.clock.advance(CONNECT_TIMEOUT_MS);
    await t.run();
    expect(t.server.closedByClient).toHaveLength(1);
    expect(t.conn.state).toBe('open');
    t.conn.close();
  });

  it('re-opens a socket that went silent without a close, resumes, and sends what waited', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 1);
    t.conn.start();
    await t.run();
    expect(t.seqs(A)).toEqual([1]);
    // A NAT drop: no close reaches either end; nothing gets through any more.
    t.server.silence();
    t.server.other(A); // 2 and 3: stored, their pushes lost
    t.server.other(A);
    const acks: number[] = [];
    const first = t.conn
      .send({ room: A, kind: 'message', payload: text('into the void') })
      .then((ack) => acks.push(ack.seq));
    await t.run(); // written to the dead socket, and lost
    expect(t.server.lastSeq(A)).toBe(3);
    await t.clock.advance(PING_INTERVAL_MS - 1);
    await t.run();
    expect(t.server.pings).toBe(0);
    await t.clock.advance(1);
    await t.run();
    expect(t.server.pings).toBe(1);
    await t.clock.advance(PING_TIMEOUT_MS - 1);
    await t.run();
    expect(t.conn.state).toBe('open');
    expect(t.server.closedByClient).toEqual([]);
    await t.clock.advance(1);
    await settle();
    expect(t.server.closedByClient).toEqual([
      { code: LIVENESS_CLOSE_CODE, reason: 'no reply to ping' },
    ]);
    expect(t.conn.state).toBe('reconnecting');
    const second = t.conn
      .send({ room: A, kind: 'message', payload: text('while reconnecting') })
      .then((ack) => acks.push(ack.seq));
    await t.clock.advance(1000); // the backoff
    await t.run();
    await Promise.all([first, second]);
    expect(t.server.connections).toBe(2);
    expect(t.conn.state).toBe('open');
    expect(t.states).toEqual(['open', 'reconnecting', 'open']);
    expect(acks).toEqual([4, 5]);
    expect(t.seqs(A)).toEqual([1, 2, 3, 4, 5]);
    expect(t.server.lastSeq(A)).toBe(5);
    expect(t.conn.pendingSends).toBe(0);
    t.conn.close();
  });

  it('pings a live but quiet connection once per interval and keeps it', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 0);
    t.conn.start();
    await t.run();
    for (let i = 1; i <= 3; i += 1) {
      await t.clock.advance(PING_INTERVAL_MS - 1);
      await t.run();
      expect(t.server.pings).toBe(i - 1);
      await t.clock.advance(1);
      await t.run(); // the ping, and its pong
      expect(t.server.pings).toBe(i);
    }
    // Any frame is a sign of life: an event pushed halfway starts the interval again.
    await t.clock.advance(PING_INTERVAL_MS / 2);
    t.server.other(A);
    await t.run();
    await t.clock.advance(PING_INTERVAL_MS - 1);
    await t.run();
    expect(t.server.pings).toBe(3);
    await t.clock.advance(1);
    await t.run();
    expect(t.server.pings).toBe(4);
    expect(t.server.connections).toBe(1);
    expect(t.server.closedByClient).toEqual([]);
    expect(t.states).toEqual(['open']);
    t.conn.close();
  });

  it('re-opens instead of stalling when the catch-up times out on a dead socket', async () => {
    const t = setup([[A, 0]]);
    t.server.addRoom(A, 2);
    t.conn.start();
    await settle();
    t.server.accept();
    t.server.silence(); // the resume is lost, and so is everything after it
    await t.run();
    await t.clock.advance(10_000); // the resume times out: a ping goes out at once
    await t.run();
    expect(t.conn.state).toBe('stalled');
    expect(t.server.pings).toBe(1);
    await t.clock.advance(PING_TIMEOUT_MS);
    await settle();
    expect(t.conn.state).toBe('reconnecting');
    await t.clock.advance(1000);
    await t.run();
    expect(t.conn.state).toBe('open');
    expect(t.seqs(A)).toEqual([1, 2]);
    expect(t.server.connections).toBe(2);
    t.conn.close();
  });

  it('checks at once when the browser says the network changed, and re-opens at once when back', async () => {
    const browser = new EventTarget();
    const t = setup([[A, 0]], {}, { wakeSource: browser });
    t.server.addRoom(A, 0);
    t.conn.start();
    await t.run();
    browser.dispatchEvent(new Event('online'));
    await t.run(); // pinged and answered: the socket is kept
    expect(t.server.pings).toBe(1);
    t.server.silence();
    browser.dispatchEvent(new Event('offline'));
    await t.run();
    expect(t.server.pings).toBe(2);
    await t.clock.advance(PING_TIMEOUT_MS);
    expect(t.conn.state).toBe('reconnecting');
    // Back online: no waiting out the backoff.
    browser.dispatchEvent(new Event('online'));
    await t.run();
    expect(t.server.connections).toBe(2);
    expect(t.conn.state).toBe('open');
    t.conn.close();
    // Closed: it no longer listens.
    browser.dispatchEvent(new Event('online'));
    await t.run();
    expect(t.server.connections).toBe(2);
  });
});
