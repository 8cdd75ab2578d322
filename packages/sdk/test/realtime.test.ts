/**
 * The sdk's realtime connection against the real server over real WebSockets: delivery,
 * resume after a dropped connection with nothing lost and nothing twice, rooms left or lost
 * on another device, a send during a gap-resume, sizes refused before sending, and the
 * outbox (kept over a disconnect, failing visibly when it waits too long).
 */
import {
  ChatError,
  decodeClientFrame,
  decodeServerFrame,
  GENERAL_ROOM_ID,
  Limits,
} from '@securechat/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../test-support/net.js';
import { RealtimeConnection, SEND_PAYLOAD_MAX_BYTES } from '../src/transport/realtime.js';
import {
  createTestApp,
  describeEachDialect,
  type TestApp,
} from '../../server/test/support/harness.js';
import {
  createClient,
  type RoomEvent,
  type SecureChatClient,
  type WebSocketConstructor,
} from '../src/index.js';
import { until } from '../../../test-support/until.js';
import { connectRaw } from '../src/raw.js';

const PASSWORD = 'violet tractor sings under 7 moons';
const text = (s: string) => new TextEncoder().encode(s);
const read = (e: RoomEvent) => new TextDecoder().decode('payload' in e ? e.payload : undefined);

/** `ws`'s WebSocket, remembering every socket so a test can cut one. */
const sockets: WebSocket[] = [];
class TrackedWebSocket extends WebSocket {
  constructor(url: string, options?: { headers: Record<string, string> }) {
    super(url, options);
    sockets.push(this);
  }
}

/**
 * A socket over `ws` that a test can tamper with: lose pushed events (a gap), act when the
 * client writes a frame, refuse to connect. Remembers the upgrade headers.
 */
const tamper: {
  /** Return true to lose this frame from the server. */
  incoming: ((bytes: Uint8Array) => boolean) | null;
  /** Called after the client wrote a frame. */
  outgoing: ((bytes: Uint8Array) => void) | null;
  /** No connection can be made while set. */
  offline: boolean;
  headers: Record<string, string>;
  opened: number;
} = { incoming: null, outgoing: null, offline: false, headers: {}, opened: 0 };

class TamperedSocket {
  binaryType = 'arraybuffer';
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly ws: WebSocket;

  constructor(url: string, options?: { headers: Record<string, string> }) {
    if (tamper.offline) throw new Error('offline');
    tamper.headers = options?.headers ?? {};
    tamper.opened += 1;
    this.ws = new WebSocket(url, options);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = (event) => this.onopen?.(event);
    this.ws.onerror = (event) => this.onerror?.(event);
    this.ws.onclose = (event) => this.onclose?.({ code: event.code });
    this.ws.onmessage = (event) => {
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      if (tamper.incoming?.(bytes)) return;
      this.onmessage?.({ data: event.data });
    };
    sockets.push(this.ws);
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  send(data: Uint8Array): void {
    this.ws.send(data);
    tamper.outgoing?.(data);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }
}

const isEventOf = (bytes: Uint8Array, room: string) => {
  const decoded = decodeServerFrame(bytes);
  return decoded.ok && decoded.frame.t === 'event' && decoded.frame.event.room === room;
};

describeEachDialect('sdk realtime connection', (dialect) => {
  let t: TestApp;
  let origin: string;
  const signIn = async (
    username: string,
    WebSocketImpl: WebSocketConstructor = TrackedWebSocket,
  ): Promise<SecureChatClient> => {
    const client = createClient({ baseUrl: origin, WebSocket: WebSocketImpl });
    await client.register({ username, password: PASSWORD });
    await client.login({ username, password: PASSWORD });
    return client;
  };

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    t = await createTestApp(dialect, {
      env: {
        PUBLIC_ORIGIN: origin,
        RATE_LIMIT_LOGIN_PER_MINUTE: '100',
        RATE_LIMIT_REGISTRATIONS_PER_HOUR: '100',
      },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  it('delivers, and after a dropped connection resumes with nothing lost and nothing twice', async () => {
    const aliceClient = await signIn('alice');
    const bobClient = await signIn('bob');
    const mark = sockets.length;
    const bob = connectRaw(bobClient, { positions: new Map([[GENERAL_ROOM_ID, 0]]) });
    const received: RoomEvent[] = [];
    bob.onEvent((event) => {
      if (event.kind === 'message') received.push(event);
    });
    await until(() => bob.state === 'open', 'bob to connect');
    const bobSocket = sockets[mark];
    const alice = connectRaw(aliceClient);
    try {
      await until(() => alice.state === 'open', 'alice to connect');
      const ack = await alice.send({
        room: GENERAL_ROOM_ID,
        kind: 'message',
        payload: text('one'),
      });
      // #general's first events are the join notices of Alice's and Bob's first connections.
      expect(ack.seq).toBe(3);
      await until(() => received.length === 1, 'the first event');

      // Cut Bob's socket; Alice keeps talking while he is away.
      bobSocket?.terminate();
      await until(() => bob.state === 'reconnecting', 'bob to notice');
      for (const word of ['two', 'three', 'four']) {
        await alice.send({ room: GENERAL_ROOM_ID, kind: 'message', payload: text(word) });
      }
      await until(() => received.length === 4 && bob.state === 'open', 'bob to catch up');
      await new Promise((r) => setTimeout(r, 200));
      expect(received.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
      expect(received.map(read)).toEqual(['one', 'two', 'three', 'four']);
    } finally {
      alice.close();
      bob.close();
    }
  });

  it('keeps a message sent while offline and delivers it once after reconnecting', async () => {
    const carolClient = await signIn('carol');
    const carol = connectRaw(carolClient);
    try {
      await until(() => carol.state === 'open', 'carol to connect');
      sockets.at(-1)?.terminate();
      await until(() => carol.state === 'reconnecting', 'carol to notice');
      const ack = await carol.send({
        room: GENERAL_ROOM_ID,
        kind: 'message',
        payload: text('sent offline'),
        cmid: 'offline-1',
      });
      expect(ack.seq).toBeGreaterThan(0);
      const stored = await t.storage.db
        .selectFrom('events')
        .select('seq')
        .where('cmid', '=', 'offline-1')
        .execute();
      expect(stored).toHaveLength(1);
    } finally {
      carol.close();
    }
  });

  it('rejects requests with the server’s error code', async () => {
    const dave = connectRaw(await signIn('dave'));
    try {
      await until(() => dave.state === 'open', 'dave to connect');
      await expect(dave.history('NoSuchRoom000000000000', 10)).rejects.toMatchObject({
        code: 'CHAT_ERR_NOT_FOUND',
      });
      await expect(
        dave.send({ room: 'NoSuchRoom000000000000', kind: 'message', payload: text('x') }),
      ).rejects.toMatchObject({
        code: 'CHAT_ERR_NOT_FOUND',
      });
    } finally {
      dave.close();
    }
  });

  it('stops as signed out, without reconnecting, when the server ends the session', async () => {
    const erinClient = await signIn('erin');
    const erin = connectRaw(erinClient);
    const states: string[] = [];
    erin.onState((state) => states.push(state));
    await until(() => erin.state === 'open', 'erin to connect');
    const mark = sockets.length;
    await erinClient.logout();
    await until(() => erin.state === 'signed-out', 'the session end to reach the socket');
    await new Promise((r) => setTimeout(r, 1500));
    expect(sockets.length).toBe(mark); // no new attempt
    expect(states.at(-1)).toBe('signed-out');
    await expect(erin.ping()).rejects.toMatchObject({ code: 'CHAT_ERR_UNAVAILABLE' });
  });

  it('recovers every other room after leaving one and being removed from another elsewhere', async () => {
    const alice = connectRaw(await signIn('alma'));
    const frankClient = await signIn('frank');
    const frankId = (await frankClient.session())!.user.id;
    const positions = new Map<string, number>();
    const first = connectRaw(frankClient, { positions, userId: frankId });
    try {
      await until(() => alice.state === 'open' && first.state === 'open', 'both to connect');
      const left = await alice.createGroup();
      const kicked = await alice.createGroup();
      await alice.invite(left.id, 'frank');
      await alice.invite(kicked.id, 'frank');
      await until(
        () => positions.has(left.id) && positions.has(kicked.id),
        'frank to follow both groups',
      );
      first.close();

      // While this device is away: Frank leaves one group on another device, Alice removes
      // him from the other, and #general goes on.
      const otherDevice = createClient({ baseUrl: origin, WebSocket: TrackedWebSocket });
      await otherDevice.login({ username: 'frank', password: PASSWORD });
      const elsewhere = connectRaw(otherDevice);
      await until(() => elsewhere.state === 'open', 'the other device to connect');
      await elsewhere.leave(left.id);
      elsewhere.close();
      await alice.kick(kicked.id, frankId);
      const ack = await alice.send({
        room: GENERAL_ROOM_ID,
        kind: 'message',
        payload: text('meanwhile'),
      });

      const again = connectRaw(frankClient, { positions, userId: frankId });
      const gone: string[] = [];
      const received: RoomEvent[] = [];
      again.onGone((room) => gone.push(room));
      again.onEvent((event) => received.push(event));
      try {
        await until(() => again.state === 'open', 'frank to reconnect');
        await until(
          () => received.some((e) => e.room === GENERAL_ROOM_ID && e.seq === ack.seq),
          'what #general said meanwhile',
        );
        expect(received.find((e) => e.seq === ack.seq && e.room === GENERAL_ROOM_ID)).toBeDefined();
        expect(gone.sort()).toEqual([left.id, kicked.id].sort());
        expect(positions.has(left.id)).toBe(false);
        expect(positions.has(kicked.id)).toBe(false);
        expect(again.lastError).toBeNull();
      } finally {
        again.close();
      }
    } finally {
      alice.close();
      first.close();
    }
  });

  it('drops a room at once on the notice that removes this user', async () => {
    const alice = connectRaw(await signIn('amos'));
    const ginaClient = await signIn('gina');
    const ginaId = (await ginaClient.session())!.user.id;
    const gina = connectRaw(ginaClient, { userId: ginaId });
    const gone: string[] = [];
    gina.onGone((room) => gone.push(room));
    try {
      await until(() => alice.state === 'open' && gina.state === 'open', 'both to connect');
      const group = await alice.createGroup();
      await alice.invite(group.id, 'gina');
      await until(() => gina.position(group.id) > 0, 'gina to follow the group');
      await alice.kick(group.id, ginaId);
      await until(() => gone.includes(group.id), 'gina to hear she was removed');
      expect(gina.position(group.id)).toBe(0);
    } finally {
      alice.close();
      gina.close();
    }
  });

  it('sends what was sent during a gap-resume without a reconnect', async () => {
    const hank = connectRaw(await signIn('hank', TamperedSocket));
    const alice = connectRaw(await signIn('abel'));
    const received: RoomEvent[] = [];
    hank.onEvent((event) => {
      if (event.room === GENERAL_ROOM_ID && event.kind === 'message') received.push(event);
    });
    try {
      await until(() => alice.state === 'open' && hank.state === 'open', 'both to connect');
      // Hank follows #general from here on.
      await alice.send({ room: GENERAL_ROOM_ID, kind: 'message', payload: text('warm up') });
      await until(() => received.length === 1, 'hank to follow #general');
      const opened = tamper.opened;
      // The push of the next #general event is lost: the one after shows Hank a gap.
      let lose = true;
      tamper.incoming = (bytes) => {
        if (!lose || !isEventOf(bytes, GENERAL_ROOM_ID)) return false;
        lose = false;
        return true;
      };
      // The moment Hank asks to fill the gap, he sends something.
      let during: Promise<unknown> | null = null;
      tamper.outgoing = (bytes) => {
        const decoded = decodeClientFrame(bytes);
        if (during || !decoded.ok || decoded.frame.t !== 'resume') return;
        during = hank.send({ room: GENERAL_ROOM_ID, kind: 'message', payload: text('during') });
      };
      await alice.send({ room: GENERAL_ROOM_ID, kind: 'message', payload: text('lost push') });
      await alice.send({ room: GENERAL_ROOM_ID, kind: 'message', payload: text('gap shows') });
      await until(() => during !== null, 'hank to resume');
      await expect(during).resolves.toMatchObject({ room: GENERAL_ROOM_ID });
      await until(() => received.length === 4, 'all four');
      expect(received.map(read)).toEqual(['warm up', 'lost push', 'gap shows', 'during']);
      expect(tamper.opened).toBe(opened); // no reconnect
      expect(hank.state).toBe('open');
    } finally {
      tamper.incoming = null;
      tamper.outgoing = null;
      alice.close();
      hank.close();
    }
  });

  it('refuses a message over the limits before sending, naming the limit', async () => {
    const ivy = connectRaw(await signIn('ivy'));
    try {
      await until(() => ivy.state === 'open', 'ivy to connect');
      const opened = sockets.length;
      expect(SEND_PAYLOAD_MAX_BYTES).toBe(Limits.PAYLOAD_MAX_BYTES);
      // Between the payload and the frame limits (the server said "malformed"), and over the
      // frame limit (the server closed the socket, and the sdk re-sent it forever).
      for (const size of [Limits.PAYLOAD_MAX_BYTES + 1, Limits.FRAME_MAX_BYTES + 1]) {
        const error = await ivy
          .send({ room: GENERAL_ROOM_ID, kind: 'message', payload: new Uint8Array(size) })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ChatError);
        expect(error).toMatchObject({ code: 'CHAT_ERR_TOO_LARGE' });
        expect((error as ChatError).message).toContain(String(Limits.PAYLOAD_MAX_BYTES));
      }
      expect(ivy.pendingSends).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect(ivy.state).toBe('open');
      expect(sockets.length).toBe(opened);
      const ack = await ivy.send({
        room: GENERAL_ROOM_ID,
        kind: 'message',
        payload: new Uint8Array(Limits.PAYLOAD_MAX_BYTES),
      });
      expect(ack.seq).toBeGreaterThan(0);
    } finally {
      ivy.close();
    }
  });

  it('fails an outbox entry visibly when it waits too long, and never sends it after', async () => {
    const jack = connectRaw(await signIn('jack', TamperedSocket));
    await until(() => jack.state === 'open', 'jack to connect');
    jack.close();
    const conn = new RealtimeConnection({
      url: `${origin.replace(/^http/, 'ws')}/api/ws`,
      openSocket: (url, headers) => new TamperedSocket(url, { headers }),
      headers: () => Promise.resolve(tamper.headers),
      outboxMaxAgeMs: 400,
      minBackoffMs: 50,
      maxBackoffMs: 100,
    });
    try {
      tamper.offline = true;
      conn.start();
      await until(() => conn.state === 'reconnecting', 'the first attempt to fail');
      const error = await conn
        .send({ room: GENERAL_ROOM_ID, kind: 'message', payload: text('too late'), cmid: 'late-1' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChatError);
      expect(error).toMatchObject({ code: 'CHAT_ERR_SEND_EXPIRED' });
      expect(conn.pendingSends).toBe(0);
      tamper.offline = false;
      await until(() => conn.state === 'open', 'the connection to come back');
      await new Promise((r) => setTimeout(r, 200));
      const stored = await t.storage.db
        .selectFrom('events')
        .select('seq')
        .where('cmid', '=', 'late-1')
        .execute();
      expect(stored).toHaveLength(0);
    } finally {
      tamper.offline = false;
      conn.close();
    }
  });
});
