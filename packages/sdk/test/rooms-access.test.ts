/**
 * The server's access rules and limits for rooms, through the sdk against the real server
 * over real WebSockets, on SQLite and PostgreSQL: the administrator role read fresh on an
 * open socket, resume past rooms one has left, access before argon2, key packages and
 * inboxes bound to a pending add, protected channels, and races that only constraints stop.
 */
import { ChatError, GENERAL_ROOM_ID, Limits } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../test-support/net.js';
import { until } from '../../../test-support/until.js';
import {
  createTestApp,
  describeEachDialect,
  type TestApp,
} from '../../server/test/support/harness.js';
import {
  createClient,
  type RealtimeConnection,
  type RoomEvent,
  type SecureChatClient,
} from '../src/index.js';

const PASSWORD = 'violet tractor sings under 7 moons';
const text = (s: string) => new TextEncoder().encode(s);

/** The ChatError code a promise rejects with, or 'resolved'. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ChatError) return error.code;
    throw error;
  }
  return 'resolved';
}

interface Person {
  id: string;
  name: string;
  client: SecureChatClient;
  rt: RealtimeConnection;
  events: RoomEvent[];
}

describeEachDialect('room access and limits', (dialect) => {
  let t: TestApp;
  let origin: string;
  const people: Person[] = [];
  let alice: Person;
  let bob: Person;
  let carol: Person;

  async function register(name: string): Promise<{ client: SecureChatClient; id: string }> {
    const client = createClient({ baseUrl: origin, WebSocket });
    await client.register({ username: name, password: PASSWORD });
    const me = await client.login({ username: name, password: PASSWORD });
    return { client, id: me.user.id };
  }

  async function connect(name: string, client: SecureChatClient, id: string): Promise<Person> {
    const rt = client.connect();
    const events: RoomEvent[] = [];
    rt.onEvent((e) => events.push(e));
    await until(() => rt.state === 'open', `${name} to connect`);
    const p = { id, name, client, rt, events };
    people.push(p);
    return p;
  }

  async function person(name: string): Promise<Person> {
    const { client, id } = await register(name);
    return connect(name, client, id);
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
  });
  afterAll(async () => {
    for (const p of people) p.rt.close();
    await t.close();
  });

  describe('the administrator role', () => {
    it('is read fresh: a demoted admin loses admin powers on an open socket', async () => {
      // Two admins (the last one can't be demoted); Erin connects while she is one.
      const erinAccount = await register('erin');
      await register('frank');
      await t.app.services.accounts.setRole('erin', 'admin');
      await t.app.services.accounts.setRole('frank', 'admin');
      const erin = await connect('erin', erinAccount.client, erinAccount.id);

      const first = await bob.rt.send({
        room: GENERAL_ROOM_ID,
        kind: 'message',
        payload: text('a'),
      });
      const second = await bob.rt.send({
        room: GENERAL_ROOM_ID,
        kind: 'message',
        payload: text('b'),
      });
      // As an admin she may delete anyone's message in #general.
      const { code } = await erin.rt.deleteCode(GENERAL_ROOM_ID, first.seq);
      await erin.rt.deleteMessage(GENERAL_ROOM_ID, first.seq, code);

      // Demoted the way the CLI does it; her socket stays open.
      await t.app.services.accounts.setRole('erin', 'member');
      expect(erin.rt.state).toBe('open');
      expect(await codeOf(erin.rt.deleteCode(GENERAL_ROOM_ID, second.seq))).toBe(
        'CHAT_ERR_FORBIDDEN',
      );
      expect(await codeOf(erin.rt.settings(GENERAL_ROOM_ID, { topic: 'mine now' }))).toBe(
        'CHAT_ERR_FORBIDDEN',
      );
    });
  });

  describe('resume', () => {
    it('skips rooms left, removed from or deleted, and names them in `gone`', async () => {
      const left = await alice.rt.createChannel({ name: 'resume-left' });
      await bob.rt.join(left.id);
      const kicked = await alice.rt.createGroup({ name: 'Resume kicked' });
      await alice.rt.invite(kicked.id, 'bob');
      const deleted = await bob.rt.createGroup({ name: 'Resume deleted' });
      const kept = await alice.rt.createGroup({ name: 'Resume kept' });
      await alice.rt.invite(kept.id, 'bob');

      await bob.rt.leave(left.id);
      await alice.rt.kick(kicked.id, bob.id);
      await bob.rt.leave(deleted.id); // the last one out: the room is gone
      await alice.rt.send({ room: kept.id, kind: 'message', payload: text('still here') });

      const page = await bob.rt.request<'page'>({
        t: 'resume',
        positions: [
          { room: left.id, after: 0 },
          { room: kicked.id, after: 0 },
          { room: kept.id, after: 0 },
          { room: deleted.id, after: 0 },
          { room: 'ZZZZZZZZZZZZZZZZZZZZZZ', after: 0 },
        ],
      });
      expect(page.events.every((e) => e.room === kept.id)).toBe(true);
      expect(page.events.some((e) => e.kind === 'message')).toBe(true);
      expect([...(page.gone ?? [])].sort()).toEqual(
        [left.id, kicked.id, deleted.id, 'ZZZZZZZZZZZZZZZZZZZZZZ'].sort(),
      );
      // A resume with nothing gone says nothing about it.
      const clean = await bob.rt.request<'page'>({
        t: 'resume',
        positions: [{ room: kept.id, after: 0 }],
      });
      expect(clean.gone).toBeUndefined();
    });
  });

  describe('room passwords', () => {
    it('are hashed only for whoever may set them, under a capped, bounded queue', async () => {
      const room = await alice.rt.createChannel({ name: 'password-cap' });
      await bob.rt.join(room.id);
      const work = t.app.services.rooms.passwordWork;
      const slots = Limits.ROOM_PASSWORD_HASHES_CONCURRENT_MAX;
      const queue = Limits.ROOM_PASSWORD_HASH_QUEUE_MAX;
      // Hold every slot and every place in the queue with work that waits for the gate.
      let open = () => {};
      const gate = new Promise<void>((resolve) => (open = resolve));
      const held = Array.from({ length: slots + queue }, () => work.run(() => gate));
      expect([work.running, work.waiting]).toEqual([slots, queue]);
      try {
        // Refusals that need no hash come at once, and as the right refusal.
        const password = 'a brand new password';
        expect(await codeOf(bob.rt.settings(room.id, { password }))).toBe('CHAT_ERR_FORBIDDEN');
        expect(await codeOf(carol.rt.settings(room.id, { password }))).toBe('CHAT_ERR_NOT_FOUND');
        expect(await codeOf(bob.rt.createChannel({ name: 'password-cap', password }))).toBe(
          'CHAT_ERR_ROOM_NAME_TAKEN',
        );
        // The owner may: her hash would wait in a full queue, so she is told to come back.
        const busy = alice.rt.settings(room.id, { password });
        expect(await codeOf(busy)).toBe('CHAT_ERR_UNAVAILABLE');
        expect(work.waiting).toBe(queue);
      } finally {
        open();
        await Promise.all(held);
      }
      expect([work.running, work.waiting]).toEqual([0, 0]);
      const changed = await alice.rt.settings(room.id, { password: 'a brand new password' });
      expect(changed.protected).toBe(true);
      expect(await codeOf(carol.rt.join(room.id, 'a brand new password'))).toBe('resolved');
    });
  });
});
