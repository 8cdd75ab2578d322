/**
 * Races that only the database can settle, fired concurrently from separate connections
 * many times, on SQLite and PostgreSQL: one channel per name, one direct room per pair, one
 * event per (device, cmid), and the member caps of rooms, accounts and #general.
 */
import { GENERAL_ROOM_ID, Limits } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../test-support/net.js';
import { until } from '../../../test-support/until.js';
import {
  createTestApp,
  usernameColumns,
  describeEachDialect,
  type TestApp,
} from '../../server/test/support/harness.js';
import { directKey } from '../../server/src/domain/membership.js';
import { createClient, type SecureChatClient } from '../src/index.js';
import { connectRaw, type RealtimeConnection } from '../src/raw.js';
import { codeOf } from './support/code-of.js';

const PASSWORD = 'violet tractor sings under 7 moons';
const text = (s: string) => new TextEncoder().encode(s);
const ROUNDS = 8;

interface Person {
  id: string;
  name: string;
  client: SecureChatClient;
  rt: RealtimeConnection;
}

describeEachDialect('room races', (dialect) => {
  let t: TestApp;
  let origin: string;
  const sockets: RealtimeConnection[] = [];
  let alice: Person;
  let bob: Person;
  let carol: Person;
  /** Accounts that exist only as rows: they fill rooms up to their caps. */
  const fillers: string[] = [];

  async function open(client: SecureChatClient, name: string): Promise<RealtimeConnection> {
    const rt = connectRaw(client);
    sockets.push(rt);
    await until(() => rt.state === 'open', `${name} to connect`);
    return rt;
  }

  async function person(name: string): Promise<Person> {
    const client = createClient({ baseUrl: origin, WebSocket });
    await client.register({ username: name, password: PASSWORD });
    const me = await client.login({ username: name, password: PASSWORD });
    return { id: me.user.id, name, client, rt: await open(client, name) };
  }

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    t = await createTestApp(dialect, {
      env: { PUBLIC_ORIGIN: origin, RATE_LIMIT_LOGIN_PER_MINUTE: '100' },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
    alice = await person('alice');
    bob = await person('bob');
    carol = await person('carol');
    const rows = await Promise.all(
      Array.from({ length: Limits.MEMBERS_PER_ROOM_MAX }, async (_, i) => ({
        id: `filler${String(i).padStart(16, '0')}`, // the shape of an id
        ...(await usernameColumns(t, `filler-${i}`)),
        opaque_record: 'x',
        role: 'member' as const,
        created_at: 0,
        password_changed_at: 0,
      })),
    );
    for (let i = 0; i < rows.length; i += 500)
      await t.storage.db
        .insertInto('users')
        .values(rows.slice(i, i + 500))
        .execute();
    fillers.push(...rows.map((r) => r.id));
  });
  afterAll(async () => {
    for (const rt of sockets) rt.close();
    await t.close();
  });

  /** Put `count` fillers into a room, as rows. */
  async function fill(room: string, count: number): Promise<void> {
    const rows = fillers.slice(0, count).map((user_id) => ({
      room_id: room,
      user_id,
      role: 'member' as const,
      joined_at: 0,
    }));
    for (let i = 0; i < rows.length; i += 500)
      await t.storage.db
        .insertInto('room_members')
        .values(rows.slice(i, i + 500))
        .execute();
  }

  it('two people creating one channel name at once: one gets it, the other is told', async () => {
    for (let i = 0; i < ROUNDS; i += 1) {
      const codes = await Promise.all([
        codeOf(alice.rt.createChannel({ name: `race-${i}` })),
        codeOf(bob.rt.createChannel({ name: `Race-${i}` })),
      ]);
      expect(codes.sort()).toEqual(['CHAT_ERR_ROOM_NAME_TAKEN', 'resolved']);
    }
    // A rename racing a creation: the same.
    for (let i = 0; i < ROUNDS; i += 1) {
      const mine = await carol.rt.createChannel({ name: `rename-me-${i}` });
      const codes = await Promise.all([
        codeOf(carol.rt.settings(mine.id, { name: `renamed-${i}` })),
        codeOf(alice.rt.createChannel({ name: `renamed-${i}` })),
      ]);
      expect(codes.sort()).toEqual(['CHAT_ERR_ROOM_NAME_TAKEN', 'resolved']);
    }
  });

  it('two people opening their direct room at once both get the same one', async () => {
    for (let i = 0; i < ROUNDS; i += 1) {
      await t.storage.db
        .deleteFrom('rooms')
        .where('direct_key', '=', directKey(alice.id, bob.id))
        .execute();
      const [a, b] = await Promise.all([alice.rt.direct('bob'), bob.rt.direct('alice')]);
      expect(a.id).toBe(b.id);
      const rooms = await t.storage.db
        .selectFrom('rooms')
        .select('id')
        .where('direct_key', '=', directKey(alice.id, bob.id))
        .execute();
      expect(rooms).toHaveLength(1);
    }
  });

  it('a send retried on another socket while the first is stored gets the original ack', async () => {
    const second = await open(alice.client, 'alice again');
    const room = await alice.rt.createGroup();
    for (let i = 0; i < ROUNDS; i += 1) {
      const frame = {
        t: 'send' as const,
        room: room.id,
        cmid: `retry-${i}`,
        kind: 'message' as const,
        payload: text(`message ${i}`),
      };
      const [a, b] = await Promise.all([
        alice.rt.request<'ack'>(frame),
        second.request<'ack'>(frame),
      ]);
      expect(a.seq).toBe(b.seq);
    }
    const page = await alice.rt.history(room.id, 100);
    expect(page.events.filter((e) => e.kind === 'message')).toHaveLength(ROUNDS);
  });

  it('the last place in a room goes to one of several people joining at once', async () => {
    for (let i = 0; i < 3; i += 1) {
      const room = await alice.rt.createChannel({ name: `nearly-full-${i}` });
      await fill(room.id, Limits.MEMBERS_PER_ROOM_MAX - 2); // with Alice: one place left
      const codes = await Promise.all([
        codeOf(bob.rt.join(room.id)),
        codeOf(carol.rt.join(room.id)),
      ]);
      expect(codes.sort()).toEqual(['CHAT_ERR_ROOM_FULL', 'resolved']);
      const { total } = await alice.rt.members(room.id);
      expect(total).toBe(Limits.MEMBERS_PER_ROOM_MAX);
      await t.storage.db.deleteFrom('rooms').where('id', '=', room.id).execute();
    }
  });

  it('the last room an account may be in goes to one of two concurrent creates', async () => {
    const second = await open(bob.client, 'bob again');
    const { n } = await t.storage.db
      .selectFrom('room_members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', bob.id)
      .executeTakeFirstOrThrow();
    const spare = Limits.ROOMS_PER_USER_MAX - Number(n) - 1;
    const ids = Array.from({ length: spare }, (_, i) => `spareroom${String(i).padStart(13, '0')}`);
    for (let i = 0; i < ids.length; i += 300) {
      const chunk = ids.slice(i, i + 300);
      await t.storage.db
        .insertInto('rooms')
        .values(
          chunk.map((id) => ({
            id,
            kind: 'group' as const,
            name: id,
            topic: null,
            password_hash: null,
            direct_key: null,
            group_info: null,
            created_at: 0,
            last_seq: 0,
          })),
        )
        .execute();
      await t.storage.db
        .insertInto('room_members')
        .values(
          chunk.map((id) => ({
            room_id: id,
            user_id: bob.id,
            role: 'owner' as const,
            joined_at: 0,
          })),
        )
        .execute();
    }
    try {
      const codes = await Promise.all([codeOf(bob.rt.createGroup()), codeOf(second.createGroup())]);
      expect(codes.sort()).toEqual(['CHAT_ERR_TOO_MANY_ROOMS', 'resolved']);
    } finally {
      await t.storage.db.deleteFrom('rooms').where('id', 'in', ids).execute();
    }
  });

  describe('#general', () => {
    it(`holds at most GENERAL_MEMBERS_MAX; the next accounts go without it`, async () => {
      const { n } = await t.storage.db
        .selectFrom('room_members')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('room_id', '=', GENERAL_ROOM_ID)
        .executeTakeFirstOrThrow();
      // One place left, and two new accounts connect at once.
      await fill(GENERAL_ROOM_ID, Limits.GENERAL_MEMBERS_MAX - Number(n) - 1);
      const [dave, erin] = await Promise.all([person('dave'), person('erin')]);
      const inGeneral = await Promise.all(
        [dave, erin].map(async (p) => (await p.rt.rooms()).some((r) => r.id === GENERAL_ROOM_ID)),
      );
      expect([...inGeneral].sort()).toEqual([false, true]);
      const { total } = await alice.rt.members(GENERAL_ROOM_ID);
      expect(total).toBe(Limits.GENERAL_MEMBERS_MAX);
      // The one left out still works: other rooms, direct messages.
      const outside = inGeneral[0] ? erin : dave;
      expect(await codeOf(outside.rt.history(GENERAL_ROOM_ID, 5))).toBe('CHAT_ERR_NOT_FOUND');
      const room = await outside.rt.direct('alice');
      await outside.rt.send({ room: room.id, kind: 'message', payload: text('hi') });
    });
  });
});
