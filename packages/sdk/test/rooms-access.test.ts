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
  usernameColumns,
  describeEachDialect,
  type TestApp,
} from '../../server/test/support/harness.js';
import { createClient, type RoomEvent, type SecureChatClient } from '../src/index.js';
import { roomId, seq } from '../../../test-support/ids.js';
import { connectRaw, type RealtimeConnection } from '../src/raw.js';
import { codeOf } from './support/code-of.js';

const PASSWORD = 'violet tractor sings under 7 moons';
const text = (s: string) => new TextEncoder().encode(s);

interface Person {
  id: string;
  /** The device this person's socket speaks for. */
  device: string;
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

  interface Account {
    client: SecureChatClient;
    id: string;
    device: string;
  }

  async function register(name: string): Promise<Account> {
    const client = createClient({ baseUrl: origin, WebSocket });
    await client.register({ username: name, password: PASSWORD });
    const me = await client.login({ username: name, password: PASSWORD });
    return { client, id: me.user.id, device: me.device.id };
  }

  async function connect(name: string, { client, id, device }: Account): Promise<Person> {
    const rt = connectRaw(client);
    const events: RoomEvent[] = [];
    rt.onEvent((e) => events.push(e));
    await until(() => rt.state === 'open', `${name} to connect`);
    const p = { id, device, name, client, rt, events };
    people.push(p);
    return p;
  }

  async function person(name: string): Promise<Person> {
    return connect(name, await register(name));
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
      const erin = await connect('erin', erinAccount);

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
      const kicked = await alice.rt.createGroup();
      await alice.rt.invite(kicked.id, 'bob');
      const deleted = await bob.rt.createGroup();
      const kept = await alice.rt.createGroup();
      await alice.rt.invite(kept.id, 'bob');

      await bob.rt.leave(left.id);
      await alice.rt.kick(kicked.id, bob.id);
      await bob.rt.leave(deleted.id); // the last one out: the room is gone
      await alice.rt.send({ room: kept.id, kind: 'message', payload: text('still here') });

      const page = await bob.rt.request<'page'>({
        t: 'resume',
        positions: [
          { room: left.id, after: seq(0) },
          { room: kicked.id, after: seq(0) },
          { room: kept.id, after: seq(0) },
          { room: deleted.id, after: seq(0) },
          { room: roomId('ZZZZZZZZZZZZZZZZZZZZZZ'), after: seq(0) },
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
        positions: [{ room: kept.id, after: seq(0) }],
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

  describe('key packages and inboxes', () => {
    /** A claim, waiting out the per-second frame budget (not the claim quotas) if met. */
    async function claim(p: Person, room: string, users: string[]) {
      for (;;) {
        try {
          return await p.rt.claimKeyPackages(room, users);
        } catch (error) {
          const budget =
            error instanceof ChatError &&
            error.code === 'CHAT_ERR_RATE_LIMITED' &&
            error.retryAfter !== undefined &&
            error.retryAfter <= 2;
          if (!budget) throw error;
          await new Promise((resolve) => setTimeout(resolve, 1000 * (error.retryAfter ?? 1)));
        }
      }
    }

    it('are claimed only for a pending add, by someone allowed to add, within quotas', async () => {
      await bob.rt.uploadKeyPackages([text('b-1'), text('b-2'), text('b-3'), text('b-4')]);
      // Bob has written in #general: he is in its group, nobody claims his packages there.
      await bob.rt.send({ room: GENERAL_ROOM_ID, kind: 'message', payload: text('hello') });
      expect(await codeOf(claim(carol, GENERAL_ROOM_ID, [bob.id]))).toBe('CHAT_ERR_FORBIDDEN');

      // In a group, a plain member does not add people; the owner does.
      const group = await alice.rt.createGroup();
      await alice.rt.invite(group.id, 'carol');
      await alice.rt.invite(group.id, 'bob');
      expect(await codeOf(claim(carol, group.id, [bob.id]))).toBe('CHAT_ERR_FORBIDDEN');
      const first = await claim(alice, group.id, [bob.id]);
      expect(first.packages).toHaveLength(1);

      // Per sender and device: a few claims (a lost commit is retried), then no more.
      for (let i = 1; i < Limits.KEY_PACKAGE_CLAIMS_PER_SENDER_PER_DEVICE; i += 1)
        await claim(alice, group.id, [bob.id]);
      expect(await codeOf(claim(alice, group.id, [bob.id]))).toBe('CHAT_ERR_RATE_LIMITED');

      // Once Bob writes in the group he is in it: nothing is pending for him there.
      await alice.rt.setRole(group.id, carol.id, 'moderator');
      await bob.rt.send({ room: group.id, kind: 'message', payload: text('I am in') });
      expect(await codeOf(claim(carol, group.id, [bob.id]))).toBe('CHAT_ERR_FORBIDDEN');
    });

    it('are capped per sender and person per day, over all rooms', async () => {
      // Counted in claims naming Alice, whatever number of devices she has (claims that hand
      // out a package: her last-resort one is never used up).
      await alice.rt.uploadKeyPackages([], text('a-last-resort'));
      let claims = 0;
      let refused = 'none';
      for (let room = 0; refused === 'none'; room += 1) {
        const group = await carol.rt.createGroup();
        await carol.rt.invite(group.id, 'alice');
        for (let i = 0; i < Limits.KEY_PACKAGE_CLAIMS_PER_SENDER_PER_DEVICE; i += 1) {
          const code = await codeOf(claim(carol, group.id, [alice.id]));
          if (code !== 'resolved') {
            refused = code;
            break;
          }
          claims += 1;
        }
      }
      expect(refused).toBe('CHAT_ERR_RATE_LIMITED');
      expect(claims).toBe(Limits.KEY_PACKAGE_CLAIMS_PER_SENDER_PER_USER_PER_DAY);
    });

    it('do not count a claim that found no package: the device is only reported missing', async () => {
      const newcomer = await person('newcomer');
      const group = await carol.rt.createGroup();
      await carol.rt.invite(group.id, 'newcomer');
      // The newcomer's device has uploaded nothing yet: however often it is tried, the
      // quota is untouched, and its first package is then handed out.
      for (let i = 0; i <= Limits.KEY_PACKAGE_CLAIMS_PER_SENDER_PER_DEVICE; i += 1) {
        const { packages, missing } = await claim(carol, group.id, [newcomer.id]);
        expect(packages).toEqual([]);
        expect(missing).toContain(newcomer.device);
      }
      await newcomer.rt.uploadKeyPackages([text('n-1')]);
      const claimed = await claim(carol, group.id, [newcomer.id]);
      expect(claimed.packages.map((p) => new TextDecoder().decode(p.data))).toEqual(['n-1']);
    });

    it(`refuse a claim over ${Limits.KEY_PACKAGE_CLAIM_DEVICES_MAX} devices instead of cutting it`, async () => {
      const group = await alice.rt.createGroup();
      const db = t.storage.db;
      const users = Array.from(
        { length: 3 },
        (_, u) => `manydevices${String(u).padStart(11, '0')}`,
      );
      for (const id of users) {
        await db
          .insertInto('users')
          .values({
            id,
            ...(await usernameColumns(t, id)),
            opaque_record: 'x',
            role: 'member',
            created_at: 0,
            password_changed_at: 0,
          })
          .execute();
        await db
          .insertInto('devices')
          .values(
            Array.from({ length: 40 }, (_, d) => ({
              id: `${id.slice(0, 16)}${users.indexOf(id)}${String(d).padStart(5, '0')}`,
              user_id: id,
              name: 'device',
              created_at: 0,
              last_seen_at: 0,
              revoked_at: null,
            })),
          )
          .execute();
        await db
          .insertInto('room_members')
          .values({ room_id: group.id, user_id: id, role: 'member', joined_at: 0 })
          .execute();
        await db
          .insertInto('pending_adds')
          .values({ room_id: group.id, user_id: id, added_at: 0, expires_at: Date.now() + 60_000 })
          .execute();
      }
      let refusal: unknown;
      try {
        await claim(alice, group.id, users);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(ChatError);
      expect((refusal as ChatError).code).toBe('CHAT_ERR_VALIDATION');
      expect((refusal as ChatError).message).toMatch(/120 devices/);
      // Two of them (80 devices) are within the limit.
      const fine = await claim(alice, group.id, users.slice(0, 2));
      expect(fine.missing).toHaveLength(80);
    });

    it('take welcomes only for a claimed device, one per claim, and cap them per sender', async () => {
      const group = await bob.rt.createGroup();
      await bob.rt.invite(group.id, 'carol');
      await bob.rt.invite(group.id, 'alice');
      // Only the device Carol's socket speaks for, so each claim is one package of it.
      await t.storage.db
        .updateTable('devices')
        .set({ revoked_at: Date.now() })
        .where('user_id', '=', carol.id)
        .where('id', '!=', carol.device)
        .execute();
      await carol.rt.uploadKeyPackages([text('c-1')], text('c-last'));
      const { packages } = await claim(bob, group.id, [carol.id]);
      const device = packages[0]?.device ?? '';
      expect(device).toBe(carol.device);

      // Alice claimed nothing of Carol's device: she can't write to it.
      expect(await codeOf(alice.rt.sendToDevice(group.id, device, text('spam')))).toBe(
        'CHAT_ERR_NOT_FOUND',
      );
      await bob.rt.sendToDevice(group.id, device, text('welcome'), 'welcome-a');
      await bob.rt.sendToDevice(group.id, device, text('welcome'), 'welcome-a'); // a retry
      // One welcome per claimed package.
      expect(await codeOf(bob.rt.sendToDevice(group.id, device, text('more'), 'welcome-b'))).toBe(
        'CHAT_ERR_NOT_FOUND',
      );
      const inbox = await carol.rt.fetchInbox();
      expect(inbox.messages.filter((m) => m.room === group.id)).toHaveLength(1);
      await carol.rt.ackInbox(inbox.messages.map((m) => m.id));

      // However many rooms he claims her device in, Bob fills at most a few places of its inbox.
      let sent = 0;
      let refused = 'none';
      for (let room = 0; refused === 'none'; room += 1) {
        const other = await bob.rt.createGroup();
        await bob.rt.invite(other.id, 'carol');
        for (let i = 0; i < Limits.KEY_PACKAGE_CLAIMS_PER_SENDER_PER_DEVICE; i += 1) {
          await claim(bob, other.id, [carol.id]);
          const code = await codeOf(
            bob.rt.sendToDevice(other.id, device, text('w'), `w-${room}-${i}`),
          );
          if (code !== 'resolved') {
            refused = code;
            break;
          }
          sent += 1;
        }
      }
      expect(refused).toBe('CHAT_ERR_INBOX_FULL');
      expect(sent).toBe(Limits.INBOX_MESSAGES_PER_SENDER_PER_DEVICE_MAX);
    });
  });

  describe('protected channels', () => {
    it('take invitations only from moderators and the owner', async () => {
      const room = await alice.rt.createChannel({
        name: 'behind-a-password',
        password: 'let me in 42',
      });
      await bob.rt.join(room.id, 'let me in 42');
      // Bob knows the password; that does not make him its keeper.
      expect(await codeOf(bob.rt.invite(room.id, 'carol'))).toBe('CHAT_ERR_FORBIDDEN');
      expect((await carol.rt.rooms()).some((r) => r.id === room.id)).toBe(false);
      await alice.rt.setRole(room.id, bob.id, 'moderator');
      expect((await bob.rt.invite(room.id, 'carol')).memberCount).toBe(3);
      // An open channel: any member may still bring someone in.
      const open = await alice.rt.createChannel({ name: 'no-password-here' });
      await carol.rt.join(open.id);
      expect((await carol.rt.invite(open.id, 'bob')).memberCount).toBe(3);
    });
  });
});
