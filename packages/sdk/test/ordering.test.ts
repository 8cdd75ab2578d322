/**
 * Property: whatever several people send at the same time, every member receives every
 * message exactly once, in the room's order (seq 1, 2, 3, … with no gaps), and each sender's
 * messages in the order that sender sent them — on SQLite and PostgreSQL.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../test-support/net.js';
import {
  createTestApp,
  describeEachDialect,
  type TestApp,
} from '../../server/test/support/harness.js';
import { createClient, type RoomEvent } from '../src/index.js';
import { until } from '../../../test-support/until.js';
import { connectRaw, type RealtimeConnection } from '../src/raw.js';

const PASSWORD = 'violet tractor sings under 7 moons';
const read = (e: RoomEvent) => new TextDecoder().decode('payload' in e ? e.payload : undefined);

describeEachDialect('ordering and no loss with concurrent senders', (dialect) => {
  let t: TestApp;
  const connections: RealtimeConnection[] = [];
  const received: RoomEvent[][] = [];
  let room = '';

  beforeAll(async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    t = await createTestApp(dialect, {
      env: { PUBLIC_ORIGIN: origin, RATE_LIMIT_LOGIN_PER_MINUTE: '100' },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
    for (const name of ['ann', 'ben', 'cat', 'dan']) {
      const client = createClient({ baseUrl: origin, WebSocket });
      await client.register({ username: name, password: PASSWORD });
      await client.login({ username: name, password: PASSWORD });
      const rt = connectRaw(client);
      const mine: RoomEvent[] = [];
      rt.onEvent((e) => {
        if (e.room === room && e.kind === 'message') mine.push(e);
      });
      await until(() => rt.state === 'open', `${name} to connect`);
      connections.push(rt);
      received.push(mine);
    }
    const group = await connections[0]!.createGroup();
    room = group.id;
    for (const name of ['ben', 'cat', 'dan']) await connections[0]!.invite(room, name);
  });
  afterAll(async () => {
    for (const c of connections) c.close();
    await t.close();
  });

  it('delivers everything once, in one order, keeping each sender’s order', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        // How many messages each of the four sends in this round (within the rate limits).
        fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 4, maxLength: 4 }),
        async (counts) => {
          round += 1;
          for (const list of received) list.length = 0;
          const total = counts.reduce((a, b) => a + b, 0);
          await Promise.all(
            counts.map((count, who) =>
              Promise.all(
                Array.from({ length: count }, (_, i) =>
                  connections[who]!.send({
                    room,
                    kind: 'message',
                    payload: new TextEncoder().encode(`${round}:${who}:${i}`),
                  }),
                ),
              ),
            ),
          );
          await until(() => received.every((list) => list.length >= total), 'every delivery');
          const reference = received[0]!.map((e) => `${e.seq}|${read(e)}`);
          for (const list of received) {
            expect(list).toHaveLength(total);
            // Everyone sees the same sequence, without gaps.
            expect(list.map((e) => `${e.seq}|${read(e)}`)).toEqual(reference);
            for (let i = 1; i < list.length; i += 1)
              expect(list[i]!.seq).toBe(list[i - 1]!.seq + 1);
          }
          // Each sender's messages keep their sending order.
          counts.forEach((count, who) => {
            const mine = received[0]!
              .map(read)
              .filter((text) => text.startsWith(`${round}:${who}:`))
              .map((text) => Number(text.split(':')[2]));
            expect(mine).toEqual(Array.from({ length: count }, (_, i) => i));
          });
          // Pause so the next round starts with full rate-limit buckets.
          await new Promise((r) => setTimeout(r, 1100));
        },
      ),
      { numRuns: 6 },
    );
  }, 60_000);
});
