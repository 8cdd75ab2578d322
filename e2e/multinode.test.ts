/**
 * Two real server processes on one PostgreSQL database and one Redis: clients on different
 * nodes reach each other and see each other's presence; a client whose node is killed
 * (SIGKILL) moves to the other one and resumes with nothing lost and nothing twice; and the
 * killed node's other users stop counting as online within the presence TTL (30 s).
 */
import {
  createClient,
  type PresenceEvent,
  type RoomEvent,
  type SecureChatClient,
  type WebSocketConstructor,
} from '@securechat/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { GENERAL_ROOM_ID } from '../packages/server/src/domain/delivery.js';
import { freePort } from '../test-support/net.js';
import { clusterAvailable, startCluster, type Cluster } from './support/cluster.js';
import type { RunningServer } from './support/server.js';
import { until } from '../test-support/until.js';
import { connectRaw, type RealtimeConnection } from '@securechat/sdk/raw';

const PASSWORD = 'violet tractor sings under 7 moons';
const text = (s: string) => new TextEncoder().encode(s);
const read = (e: RoomEvent) => new TextDecoder().decode('payload' in e ? e.payload : undefined);

/**
 * What a load balancer in front of the nodes does, as a WebSocket constructor for the sdk:
 * each new socket goes to the current node (with that node's origin), and a socket that
 * fails moves the next one to the following node. While `held`, no node is available (new
 * sockets are refused), as while a balancer has not yet noticed a node died.
 */
class Balancer {
  private current = 0;
  held = false;
  /** The node each socket that opened was sent to, in order. */
  readonly opened: RunningServer[] = [];

  constructor(
    private readonly nodes: readonly RunningServer[],
    private readonly nowhere: string,
  ) {}

  get WebSocket() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the class below needs both `this`es
    const balancer = this;
    return class extends WebSocket {
      constructor(url: string, options?: { headers: Record<string, string> }) {
        const node = balancer.held ? null : balancer.nodes[balancer.current];
        const target = new URL(url);
        target.host = node ? new URL(node.origin).host : balancer.nowhere;
        super(target.toString(), {
          headers: { ...options?.headers, ...(node ? { origin: node.origin } : {}) },
        });
        this.once('open', () => node && balancer.opened.push(node));
        this.once('close', (code) => {
          if (code !== 1000 && node === balancer.nodes[balancer.current])
            balancer.current = (balancer.current + 1) % balancer.nodes.length;
        });
      }
    };
  }
}

describe.skipIf(!clusterAvailable())('two nodes through Redis', () => {
  let cluster: Cluster;
  let one: RunningServer;
  let two: RunningServer;
  const connections: RealtimeConnection[] = [];

  beforeAll(async () => {
    cluster = await startCluster(2, {
      RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
      RATE_LIMIT_REGISTRATIONS_PER_HOUR: '1000',
    });
    [one, two] = cluster.nodes as [RunningServer, RunningServer];
  });
  afterAll(async () => {
    for (const connection of connections) connection.close();
    await cluster?.stop();
  });

  /** Register and sign in through `node`; the session is then good on every node. */
  async function signIn(
    node: RunningServer,
    username: string,
    Socket: WebSocketConstructor = WebSocket,
  ): Promise<SecureChatClient> {
    const client = createClient({ baseUrl: node.origin, WebSocket: Socket });
    await client.register({ username, password: PASSWORD });
    await client.login({ username, password: PASSWORD });
    return client;
  }

  /** Connect from the start of #general, collecting its messages (not its join notices). */
  async function listen(client: SecureChatClient) {
    const connection = connectRaw(client, { positions: new Map([[GENERAL_ROOM_ID, 0]]) });
    connections.push(connection);
    const events: RoomEvent[] = [];
    connection.onEvent((event) => {
      if (event.room === GENERAL_ROOM_ID && event.kind === 'message') events.push(event);
    });
    await until(() => connection.state === 'open', 'the connection to open');
    return { connection, events };
  }

  const say = (connection: RealtimeConnection, words: string) =>
    connection.send({ room: GENERAL_ROOM_ID, kind: 'message', payload: text(words) });

  it('delivers and shares presence across nodes, and survives a node killed with SIGKILL', async () => {
    const balancer = new Balancer(cluster.nodes, `127.0.0.1:${await freePort()}`);
    const alice = await listen(await signIn(one, 'alice', balancer.WebSocket));
    const bob = await listen(await signIn(two, 'bob'));
    expect(balancer.opened).toEqual([one]);

    // Alice on node one, Bob on node two.
    await say(alice.connection, 'hello from one');
    await until(() => bob.events.length === 1, 'bob to hear alice');
    await say(bob.connection, 'hello from two');
    await until(() => alice.events.length === 2, 'alice to hear bob');
    expect(alice.events.map(read)).toEqual(['hello from one', 'hello from two']);
    expect(bob.events.map(read)).toEqual(['hello from one', 'hello from two']);

    // Presence is one answer for both nodes. Carol stays on node one, with no balancer; she
    // and Bob share a direct room, so he is told when her status changes.
    const carol = await listen(await signIn(one, 'carol'));
    await carol.connection.direct('bob');
    const presence: PresenceEvent[] = [];
    bob.connection.onPresence((event) => presence.push(event));
    const statusOf = async (username: string) =>
      (await bob.connection.members(GENERAL_ROOM_ID)).members.find((m) => m.username === username)
        ?.presence;
    expect(await statusOf('alice')).toBe('online');
    expect(await statusOf('carol')).toBe('online');
    await carol.connection.setPresence('away');
    await until(() => presence.some((e) => e.status === 'away'), 'bob to see carol go away');
    expect(await statusOf('carol')).toBe('away');

    // Node one dies; for a moment no node takes Alice, and the conversation goes on.
    balancer.held = true;
    await one.crash();
    const crashed = Date.now();
    await until(() => alice.connection.state === 'reconnecting', 'alice to notice');
    for (const words of ['while you were out', 'still out?', 'last one'])
      await say(bob.connection, words);
    const offline = say(alice.connection, 'typed while offline'); // waits in her outbox
    await new Promise((r) => setTimeout(r, 300));
    expect(alice.events).toHaveLength(2);

    // The balancer sends her to node two: she resumes, and her outbox goes out once.
    balancer.held = false;
    await offline;
    await until(() => alice.events.length === 6 && bob.events.length === 6, 'everyone to catch up');
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would have arrived by now
    const conversation = [
      'hello from one',
      'hello from two',
      'while you were out',
      'still out?',
      'last one',
      'typed while offline',
    ];
    for (const { events } of [alice, bob]) {
      expect(events.map(read)).toEqual(conversation);
      // The same seqs for both, rising (join notices take the seqs in between).
      expect(events.map((e) => e.seq)).toEqual(alice.events.map((e) => e.seq));
      expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((x, y) => x - y));
      expect(new Set(events.map((e) => e.seq)).size).toBe(6);
    }
    expect(balancer.opened).toEqual([one, two]);

    // And live delivery on the one remaining node still works.
    await say(bob.connection, 'welcome to two');
    await until(() => alice.events.length === 7, 'alice to hear bob on node two');
    expect(alice.events.at(-1) && read(alice.events.at(-1) as RoomEvent)).toBe('welcome to two');

    // Carol's connection died with node one, which never said goodbye: she stops counting
    // once its presence key expires, while Alice, now on node two, is online.
    expect(await statusOf('alice')).toBe('online');
    let carolNow = await statusOf('carol');
    while (carolNow !== 'offline' && Date.now() - crashed < 40_000) {
      await new Promise((r) => setTimeout(r, 500));
      carolNow = await statusOf('carol');
    }
    expect(carolNow).toBe('offline');
    expect(Date.now() - crashed).toBeLessThan(32_000); // the 30 s TTL, plus one poll
  });
});
