/**
 * A server killed with SIGKILL in the middle of a burst of sends loses no message it had
 * acknowledged: after a restart on the same storage every acknowledged message is there,
 * at its acknowledged seq, with its payload, and the room's log has no gaps. On the embedded
 * SQLite and on PostgreSQL.
 */
import { GENERAL_ROOM_ID } from '@securechat/protocol';
import { createClient, type RoomEvent } from '@securechat/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createTestDatabase } from '../packages/server/test/support/harness.js';
import { STRONG_PASSWORD } from './support/browser.js';
import { startServer, type RunningServer } from './support/server.js';
import { until } from '../test-support/until.js';
import { connectRaw, type RealtimeConnection } from '@securechat/sdk/raw';

const SENDERS = 4;
/** Each sender stays under its per-device rate (20/s) while the burst lasts. */
const SEND_INTERVAL_MS = 60;

async function signIn(origin: string, username: string) {
  const client = createClient({ baseUrl: origin, WebSocket });
  await client.register({ username, password: STRONG_PASSWORD });
  await client.login({ username, password: STRONG_PASSWORD });
  return client;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`a crash during a send burst [${dialect}]`, () => {
    let server: RunningServer | undefined;
    let drop: (() => Promise<void>) | undefined;
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('loses no acknowledged message', async () => {
      const env: Record<string, string> = { RATE_LIMIT_LOGIN_PER_MINUTE: '100' };
      if (dialect === 'postgres') {
        const database = await createTestDatabase('postgres');
        drop = () => database.drop();
        env.DATABASE_URL = database.databaseUrl ?? '';
      }
      server = await startServer(env);
      const origin = server.origin;
      const clients = [];
      for (let i = 0; i < SENDERS; i += 1) clients.push(await signIn(origin, `sender-${i}`));
      const connections: RealtimeConnection[] = clients.map((c) => connectRaw(c));
      await until(() => connections.every((c) => c.state === 'open'), 'the senders to connect');

      // Every sender sends steadily; the server dies in the middle.
      const acked = new Map<number, string>();
      let stop = false;
      const burst = connections.map(async (connection, who) => {
        for (let i = 0; !stop; i += 1) {
          const text = `${who}:${i}`;
          connection
            .send({
              room: GENERAL_ROOM_ID,
              kind: 'message',
              payload: new TextEncoder().encode(text),
            })
            .then((ack) => acked.set(ack.seq, text))
            .catch(() => undefined); // unacknowledged: may or may not have been stored
          await new Promise((r) => setTimeout(r, SEND_INTERVAL_MS));
        }
      });
      await until(() => acked.size >= 40, 'some acknowledgements');
      await server.crash();
      stop = true;
      await Promise.all(burst);
      for (const connection of connections) connection.close();
      const ackedBeforeCrash = new Map(acked);
      expect(ackedBeforeCrash.size).toBeGreaterThanOrEqual(40);

      await server.restart();
      const reader = await signIn(origin, 'reader');
      const rt = connectRaw(reader);
      try {
        await until(() => rt.state === 'open', 'the reader to connect');
        const log: RoomEvent[] = [];
        let before: number | undefined;
        for (;;) {
          const page = await rt.history(GENERAL_ROOM_ID, 200, before);
          log.unshift(...page.events);
          if (!page.more || page.events.length === 0) break;
          before = page.events[0]?.seq;
        }
        const messages = new Map(
          log
            .filter((e) => e.kind === 'message')
            .map((e) => [Number(e.seq), new TextDecoder().decode(e.payload)]),
        );
        for (const [seq, text] of ackedBeforeCrash) expect(messages.get(seq)).toBe(text);
        // The log itself is whole: seq 1, 2, 3, … with nothing missing.
        expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
      } finally {
        rt.close();
      }
    }, 60_000);
  });
}
