/**
 * The sdk's realtime connection against the real server over real WebSockets: delivery,
 * resume after a dropped connection with nothing lost and nothing twice, and the outbox.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../test-support/net.js';
import { GENERAL_ROOM_ID } from '../../server/src/domain/delivery.js';
import {
  createTestApp,
  describeEachDialect,
  type TestApp,
} from '../../server/test/support/harness.js';
import { createClient, type RoomEvent, type SecureChatClient } from '../src/index.js';
import { until } from '../../../test-support/until.js';

const PASSWORD = 'violet tractor sings under 7 moons';
const text = (s: string) => new TextEncoder().encode(s);
const read = (e: RoomEvent) => new TextDecoder().decode(e.payload);

/** `ws`'s WebSocket, remembering every socket so a test can cut one. */
const sockets: WebSocket[] = [];
class TrackedWebSocket extends WebSocket {
  constructor(url: string, options?: { headers: Record<string, string> }) {
    super(url, options);
    sockets.push(this);
  }
}

describeEachDialect('sdk realtime connection', (dialect) => {
  let t: TestApp;
  let origin: string;
  const signIn = async (username: string): Promise<SecureChatClient> => {
    const client = createClient({ baseUrl: origin, WebSocket: TrackedWebSocket });
    await client.register({ username, password: PASSWORD });
    await client.login({ username, password: PASSWORD });
    return client;
  };

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    t = await createTestApp(dialect, {
      env: { PUBLIC_ORIGIN: origin, RATE_LIMIT_LOGIN_PER_MINUTE: '100' },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  it('delivers, and after a dropped connection resumes with nothing lost and nothing twice', async () => {
    const aliceClient = await signIn('alice');
    const bobClient = await signIn('bob');
    const mark = sockets.length;
    const bob = bobClient.connect({ positions: new Map([[GENERAL_ROOM_ID, 0]]) });
    const received: RoomEvent[] = [];
    bob.onEvent((event) => {
      if (event.kind === 'message') received.push(event);
    });
    await until(() => bob.state === 'open', 'bob to connect');
    const bobSocket = sockets[mark];
    const alice = aliceClient.connect();
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
    const carol = carolClient.connect();
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
    const dave = (await signIn('dave')).connect();
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
    const erin = erinClient.connect();
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
});
