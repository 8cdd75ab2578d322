/**
 * Rooms and the delivery rules, through the sdk against the real server over real
 * WebSockets, on SQLite and PostgreSQL: channels (directory, join, leave, notices), protected
 * rooms, private groups and roles, direct rooms and blocking, history visibility, edits and
 * deletes, presence, and the MLS rules (commit ordering, key packages, inboxes, group info).
 */
import { ChatError, GENERAL_ROOM_ID, Limits } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../test-support/net.js';
import {
  createTestApp,
  describeEachDialect,
  type TestApp,
} from '../../server/test/support/harness.js';
import { createClient, type RoomEvent, type SecureChatClient } from '../src/index.js';
import { until } from '../../../test-support/until.js';
import { roomId, seq } from '../../../test-support/ids.js';
import { connectRaw, type RealtimeConnection } from '../src/raw.js';
import { codeOf } from './support/code-of.js';

const PASSWORD = 'violet tractor sings under 7 moons';
const text = (s: string) => new TextEncoder().encode(s);
const read = (e: RoomEvent) => new TextDecoder().decode('payload' in e ? e.payload : undefined);

interface Person {
  id: string;
  name: string;
  client: SecureChatClient;
  rt: RealtimeConnection;
  events: RoomEvent[];
}

describeEachDialect('rooms and delivery rules', (dialect) => {
  let t: TestApp;
  let origin: string;
  const people: Person[] = [];
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let dave: Person;

  async function person(name: string): Promise<Person> {
    const client = createClient({ baseUrl: origin, WebSocket });
    await client.register({ username: name, password: PASSWORD });
    const me = await client.login({ username: name, password: PASSWORD });
    const rt = connectRaw(client);
    const events: RoomEvent[] = [];
    rt.onEvent((e) => events.push(e));
    await until(() => rt.state === 'open', `${name} to connect`);
    const p = { id: me.user.id, name, client, rt, events };
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
    alice = await person('alice');
    bob = await person('bob');
    carol = await person('carol');
    dave = await person('dave');
  });
  afterAll(async () => {
    for (const p of people) p.rt.close();
    await t.close();
  });

  const noticesIn = (p: Person, room: string) =>
    p.events
      .filter((e) => e.room === room && e.kind === 'notice')
      .map((e) => (e.kind === 'notice' ? e.notice.type : undefined));

  describe('channels', () => {
    it('are created, found by name, joined and left, with notices in the room', async () => {
      const room = await alice.rt.createChannel({ name: 'Design-Team', topic: 'Pixels' });
      expect(room).toMatchObject({ kind: 'channel', name: 'design-team', role: 'owner' });
      expect(await codeOf(bob.rt.createChannel({ name: 'design-team' }))).toBe(
        'CHAT_ERR_ROOM_NAME_TAKEN',
      );

      const found = await bob.rt.directory('sign');
      expect(found.map((c) => c.name)).toContain('design-team');
      expect(found.find((c) => c.id === room.id)).toMatchObject({ joined: false, memberCount: 1 });

      const joined = await bob.rt.join(room.id);
      expect(joined).toMatchObject({ role: 'member', memberCount: 2 });
      await until(() => noticesIn(alice, room.id).includes('join'), 'alice to see bob join');
      expect((await bob.rt.rooms()).map((r) => r.id)).toContain(room.id);

      await bob.rt.send({ room: room.id, kind: 'message', payload: text('hi all') });
      await until(
        () => alice.events.some((e) => e.room === room.id && read(e) === 'hi all'),
        'the message',
      );

      await bob.rt.leave(room.id);
      await until(() => noticesIn(alice, room.id).includes('leave'), 'alice to see bob leave');
      expect(await codeOf(bob.rt.history(room.id, 10))).toBe('CHAT_ERR_NOT_FOUND');
      expect(await codeOf(alice.rt.leave(GENERAL_ROOM_ID))).toBe('CHAT_ERR_FORBIDDEN');
    });

    it('with a password: wrong refused, right admitted, guessing rate-limited', async () => {
      const room = await alice.rt.createChannel({ name: 'vault', password: 'open sesame 123' });
      expect(room.protected).toBe(true);
      expect((await carol.rt.directory('vault'))[0]).toMatchObject({ protected: true });
      expect(await codeOf(carol.rt.join(room.id))).toBe('CHAT_ERR_ROOM_PASSWORD');
      expect(await codeOf(carol.rt.join(room.id, 'open sesame 124'))).toBe(
        'CHAT_ERR_ROOM_PASSWORD',
      );
      expect((await carol.rt.join(room.id, 'open sesame 123')).role).toBe('member');

      // The attempts are counted per person and room, right or wrong.
      for (let i = 0; i < Limits.ROOM_PASSWORD_ATTEMPTS_PER_15_MIN; i += 1) {
        const code = await codeOf(dave.rt.join(room.id, `guess number ${i}`));
        expect(code).toBe('CHAT_ERR_ROOM_PASSWORD');
      }
      expect(await codeOf(dave.rt.join(room.id, 'open sesame 123'))).toBe('CHAT_ERR_RATE_LIMITED');

      // The hash never leaves the server; a moderator can remove the password.
      const open = await alice.rt.settings(room.id, { password: null });
      expect(open.protected).toBe(false);
    });
  });

  describe('private groups', () => {
    it('are joined by invitation, with owner, moderator and member roles', async () => {
      const group = await alice.rt.createGroup();
      // Invisible to others: joining it looks like joining a room that does not exist.
      expect(await codeOf(bob.rt.join(group.id))).toBe('CHAT_ERR_NOT_FOUND');
      expect(await codeOf(bob.rt.join('AAAAAAAAAAAAAAAAAAAAAA'))).toBe('CHAT_ERR_NOT_FOUND');
      expect((await bob.rt.directory()).some((c) => c.id === group.id)).toBe(false);

      await alice.rt.invite(group.id, 'bob');
      await until(() => bob.events.some((e) => e.room === group.id), 'bob to hear of it');
      expect(bob.events.find((e) => e.room === group.id)).toMatchObject({
        kind: 'notice',
        notice: { type: 'invite', user: bob.id, username: 'bob', awaitsCommit: true },
      });
      // Members do not invite; moderators do.
      expect(await codeOf(bob.rt.invite(group.id, 'carol'))).toBe('CHAT_ERR_FORBIDDEN');
      await alice.rt.setRole(group.id, bob.id, 'moderator');
      await bob.rt.invite(group.id, 'carol');
      await bob.rt.invite(group.id, 'dave');
      // A moderator removes members, not the owner or other moderators.
      await bob.rt.send({ room: group.id, kind: 'message', payload: text('before the kick') });
      await bob.rt.kick(group.id, dave.id);
      expect(await codeOf(dave.rt.history(group.id, 5))).toBe('CHAT_ERR_NOT_FOUND');
      // The room's member list changed: the next message no longer reaches Dave.
      await bob.rt.send({ room: group.id, kind: 'message', payload: text('after the kick') });
      await until(
        () => carol.events.some((e) => e.room === group.id && read(e) === 'after the kick'),
        'carol to get the message',
      );
      const daveGot = dave.events.filter((e) => e.room === group.id && e.kind === 'message');
      expect(daveGot.map(read)).toEqual(['before the kick']);
      expect(await codeOf(bob.rt.kick(group.id, alice.id))).toBe('CHAT_ERR_FORBIDDEN');
      expect(await codeOf(carol.rt.kick(group.id, bob.id))).toBe('CHAT_ERR_FORBIDDEN');
      expect(await codeOf(bob.rt.setRole(group.id, carol.id, 'moderator'))).toBe(
        'CHAT_ERR_FORBIDDEN',
      );

      // The owner leaves only after handing the room on.
      expect(await codeOf(alice.rt.leave(group.id))).toBe('CHAT_ERR_OWNER_MUST_TRANSFER');
      await alice.rt.transfer(group.id, carol.id);
      const { members } = await carol.rt.members(group.id);
      expect(Object.fromEntries(members.map((m) => [m.username, m.role]))).toEqual({
        carol: 'owner',
        alice: 'moderator',
        bob: 'moderator',
      });
      await alice.rt.leave(group.id);
      await until(() => noticesIn(carol, group.id).includes('leave'), 'the leave notice');
      const history = await carol.rt.history(group.id, 50);
      expect(history.events.map((e) => (e.kind === 'notice' ? e.notice.type : undefined))).toEqual([
        'create',
        'invite',
        'role',
        'invite',
        'invite',
        undefined,
        'kick',
        undefined,
        'transfer',
        'leave',
      ]);
    });

    it('show new members only what follows their joining when visibility is `joined`', async () => {
      const group = await alice.rt.createGroup({ visibility: 'joined' });
      await alice.rt.send({ room: group.id, kind: 'message', payload: text('before') });
      await alice.rt.invite(group.id, 'bob');
      await alice.rt.send({ room: group.id, kind: 'message', payload: text('after') });
      const page = await bob.rt.history(group.id, 50);
      expect(page.events.filter((e) => e.kind === 'message').map(read)).toEqual(['after']);

      await alice.rt.settings(group.id, { visibility: 'shared' });
      await alice.rt.invite(group.id, 'carol');
      const carolPage = await carol.rt.history(group.id, 50);
      expect(carolPage.events.filter((e) => e.kind === 'message').map(read)).toEqual([
        'before',
        'after',
      ]);
    });
  });

  describe('direct rooms', () => {
    it('are one per pair, and blocked people cannot start or write to them', async () => {
      const fromAlice = await alice.rt.direct('carol');
      const fromCarol = await carol.rt.direct('alice');
      expect(fromCarol.id).toBe(fromAlice.id);
      expect(fromCarol).toMatchObject({ kind: 'direct', name: null, peer: { username: 'alice' } });
      expect(await codeOf(alice.rt.direct('alice'))).toBe('CHAT_ERR_VALIDATION');
      expect(await codeOf(alice.rt.direct('nobody-here'))).toBe('CHAT_ERR_NOT_FOUND');

      await carol.rt.block('alice');
      expect((await carol.rt.blocked()).map((u) => u.username)).toEqual(['alice']);
      expect(
        await codeOf(alice.rt.send({ room: fromAlice.id, kind: 'message', payload: text('x') })),
      ).toBe('CHAT_ERR_BLOCKED');
      expect(await codeOf(alice.rt.direct('carol'))).toBe('CHAT_ERR_BLOCKED');
      const group = await alice.rt.createGroup();
      expect(await codeOf(alice.rt.invite(group.id, 'carol'))).toBe('CHAT_ERR_BLOCKED');

      await carol.rt.block('alice', false);
      await alice.rt.send({ room: fromAlice.id, kind: 'message', payload: text('hello') });
      await until(
        () => carol.events.some((e) => e.room === fromAlice.id && read(e) === 'hello'),
        'the direct message',
      );
    });

    it('mute is per person and room', async () => {
      const room = await bob.rt.direct('dave');
      expect((await bob.rt.mute(room.id)).muted).toBe(true);
      expect((await dave.rt.rooms()).find((r) => r.id === room.id)?.muted).toBe(false);
      expect((await bob.rt.mute(room.id, false)).muted).toBe(false);
    });
  });

  describe('edits and deletes', () => {
    it('only the sender edits; delete needs the code the server issued, once', async () => {
      const room = await alice.rt.createChannel({ name: 'edits' });
      await bob.rt.join(room.id);
      const { seq } = await bob.rt.send({ room: room.id, kind: 'message', payload: text('typo') });
      expect(await codeOf(alice.rt.edit(room.id, seq, text('hijack')))).toBe('CHAT_ERR_FORBIDDEN');
      const edit = await bob.rt.edit(room.id, seq, text('fixed'));

      // Carol is not a moderator here: she may not even ask for a code.
      await carol.rt.join(room.id);
      expect(await codeOf(carol.rt.deleteCode(room.id, seq))).toBe('CHAT_ERR_FORBIDDEN');

      const { code } = await bob.rt.deleteCode(room.id, seq);
      expect(code).toMatch(/^\d{4}$/);
      const wrong = code === '0000' ? '0001' : '0000';
      expect(await codeOf(bob.rt.deleteMessage(room.id, seq, wrong))).toBe('CHAT_ERR_DELETE_CODE');
      // A code is bound to its user: Alice (the owner) cannot use Bob's.
      expect(await codeOf(alice.rt.deleteMessage(room.id, seq, code))).toBe('CHAT_ERR_DELETE_CODE');
      const tombstone = await bob.rt.deleteMessage(room.id, seq, code);
      expect(await codeOf(bob.rt.deleteMessage(room.id, seq, code))).toBe('CHAT_ERR_NOT_FOUND');

      await until(
        () => alice.events.some((e) => e.room === room.id && e.kind === 'delete'),
        'the tombstone',
      );
      expect(alice.events.find((e) => e.room === room.id && e.kind === 'delete')).toMatchObject({
        seq: tombstone.seq,
        target: seq,
      });
      // The payloads of the message and its edit are gone from the server.
      const page = await alice.rt.history(room.id, 50);
      for (const s of [seq, edit.seq]) {
        const stored = page.events.find((e) => e.seq === s);
        expect(stored).toMatchObject({ deleted: true, payload: new Uint8Array() });
      }

      // The owner (a moderator) may delete anyone's message.
      const other = await carol.rt.send({ room: room.id, kind: 'message', payload: text('spam') });
      const ownerCode = await alice.rt.deleteCode(room.id, other.seq);
      await alice.rt.deleteMessage(room.id, other.seq, ownerCode.code);
    });

    it('three wrong codes burn the code', async () => {
      const room = await dave.rt.createGroup();
      const { seq } = await dave.rt.send({ room: room.id, kind: 'message', payload: text('x') });
      const { code } = await dave.rt.deleteCode(room.id, seq);
      const wrong = code === '9999' ? '9998' : '9999';
      for (let i = 0; i < Limits.DELETE_CODE_ATTEMPTS_MAX; i += 1)
        expect(await codeOf(dave.rt.deleteMessage(room.id, seq, wrong))).toBe(
          'CHAT_ERR_DELETE_CODE',
        );
      expect(await codeOf(dave.rt.deleteMessage(room.id, seq, code))).toBe('CHAT_ERR_DELETE_CODE');
    });
  });

  describe('a room you are not in', () => {
    it('answers exactly like a room that does not exist', async () => {
      const group = await alice.rt.createGroup();
      await alice.rt.send({ room: group.id, kind: 'message', payload: text('secret') });
      const ghost = 'ZZZZZZZZZZZZZZZZZZZZZZ';
      const attempts = (room: string) => [
        dave.rt.history(room, 10),
        dave.rt.members(room),
        dave.rt.claimKeyPackages(room, [alice.id]),
        dave.rt.groupInfo(room),
        dave.rt.send({ room, kind: 'message', payload: text('let me in') }),
        dave.rt.typing(room, true),
        dave.rt.sendToDevice(room, alice.id, text('welcome?')),
        dave.rt.deleteCode(room, 1),
        dave.rt.invite(room, 'dave'),
        dave.rt.mute(room),
      ];
      const errorOf = async (p: Promise<unknown>) => {
        try {
          await p;
          return 'resolved';
        } catch (error) {
          return error instanceof ChatError ? `${error.code}: ${error.message}` : String(error);
        }
      };
      const real = await Promise.all(attempts(group.id).map(errorOf));
      const none = await Promise.all(attempts(ghost).map(errorOf));
      expect(real).toEqual(none);
      for (const answer of real) expect(answer).toMatch(/^CHAT_ERR_NOT_FOUND/);
      // A resume names many rooms: one that is not yours is skipped and named in `gone`.
      const resumed = async (room: string) =>
        dave.rt.request<'page'>({
          t: 'resume',
          positions: [{ room: roomId(room), after: seq(0) }],
        });
      expect(await resumed(group.id)).toMatchObject({ events: [], more: false, gone: [group.id] });
      expect(await resumed(ghost)).toMatchObject({ events: [], more: false, gone: [ghost] });
    });
  });

  describe('presence', () => {
    it('tells people who share a room, and lists it with the members', async () => {
      const room = await alice.rt.direct('bob');
      const seen: { user: string; status: string }[] = [];
      const off = alice.rt.onPresence((e) => seen.push(e));
      try {
        const { members } = await alice.rt.members(room.id);
        expect(members.find((m) => m.username === 'bob')?.presence).toBe('online');
        await bob.rt.setPresence('away');
        await until(
          () => seen.some((e) => e.user === bob.id && e.status === 'away'),
          'bob to be away',
        );
        await bob.rt.setPresence('online');
        await until(
          () => seen.some((e) => e.user === bob.id && e.status === 'online'),
          'bob to be back',
        );
      } finally {
        off();
      }
    });

    it('relays typing to the other members only, without storing it', async () => {
      const room = await alice.rt.direct('bob');
      const typing: string[] = [];
      const off = bob.rt.onTyping((e) => typing.push(`${e.room}:${e.user}:${String(e.on)}`));
      const before = (await alice.rt.history(room.id, 200)).events.length;
      await alice.rt.typing(room.id, true);
      await until(() => typing.includes(`${room.id}:${alice.id}:true`), 'the typing event');
      off();
      expect((await alice.rt.history(room.id, 200)).events.length).toBe(before);
    });
  });

  describe('MLS rules', () => {
    it('accept the first commit of an epoch and refuse the others with the current epoch', async () => {
      const group = await alice.rt.createGroup();
      await alice.rt.invite(group.id, 'bob');
      await alice.rt.invite(group.id, 'carol');
      const results = await Promise.allSettled([
        alice.rt.commit(group.id, 0, text('commit by alice')),
        bob.rt.commit(group.id, 0, text('commit by bob')),
        carol.rt.commit(group.id, 0, text('commit by carol')),
      ]);
      const accepted = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected');
      expect(accepted).toHaveLength(1);
      for (const r of refused) {
        expect(r.reason).toBeInstanceOf(ChatError);
        expect((r.reason as ChatError).code).toBe('CHAT_ERR_STALE_EPOCH');
        expect((r.reason as ChatError).epoch).toBe(1);
      }
      // (The group-info blobs commits name are tested in server/test/group-info.test.ts.)
      expect((await bob.rt.groupInfo(group.id)).epoch).toBe(1);
      // An application message encrypted in a past epoch is refused the same way (members who
      // joined since could not read it); one of the current epoch, or naming none, is stored.
      const stale = await codeOf(
        bob.rt.send({ room: group.id, kind: 'message', epoch: 0, payload: text('old keys') }),
      );
      expect(stale).toBe('CHAT_ERR_STALE_EPOCH');
      await bob.rt.send({ room: group.id, kind: 'message', epoch: 1, payload: text('current') });
      // The next epoch's commit is accepted.
      await bob.rt.commit(group.id, 1, text('next'));
      expect((await carol.rt.groupInfo(group.id)).epoch).toBe(2);
    });

    it('hand out each key package once, then the last-resort one, and deliver to inboxes', async () => {
      const group = await bob.rt.createGroup();
      await bob.rt.invite(group.id, 'alice');
      await bob.rt.invite(group.id, 'dave');
      // In a group, moderators add people to its MLS group.
      await bob.rt.setRole(group.id, dave.id, 'moderator');
      const available = await alice.rt.uploadKeyPackages(
        [text('kp-1'), text('kp-2'), text('kp-3')],
        text('kp-last'),
      );
      expect(available).toBe(3);
      // Bob and Dave claim at the same time: no package is handed out twice.
      const claims = await Promise.all([
        bob.rt.claimKeyPackages(group.id, [alice.id]),
        dave.rt.claimKeyPackages(group.id, [alice.id]),
        bob.rt.claimKeyPackages(group.id, [alice.id]),
        dave.rt.claimKeyPackages(group.id, [alice.id]),
      ]);
      const got = claims.flatMap((c) => c.packages.map((p) => new TextDecoder().decode(p.data)));
      expect(got.filter((g) => g !== 'kp-last').sort()).toEqual(['kp-1', 'kp-2', 'kp-3']);
      expect(got.filter((g) => g === 'kp-last')).toHaveLength(1);
      const again = await bob.rt.claimKeyPackages(group.id, [alice.id]);
      expect(again.packages[0]).toMatchObject({ lastResort: true });

      // A welcome for Alice's device: pushed now, and kept until acknowledged.
      const device = claims[0].packages[0]?.device ?? '';
      const pushed: string[] = [];
      const off = alice.rt.onInbox((m) => pushed.push(new TextDecoder().decode(m.payload)));
      await bob.rt.sendToDevice(group.id, device, text('welcome'), 'welcome-1');
      await bob.rt.sendToDevice(group.id, device, text('welcome'), 'welcome-1'); // a retry
      await until(() => pushed.includes('welcome'), 'the welcome');
      off();
      const inbox = await alice.rt.fetchInbox();
      expect(inbox.messages.map((m) => new TextDecoder().decode(m.payload))).toEqual(['welcome']);
      await alice.rt.ackInbox(inbox.messages.map((m) => m.id));
      expect((await alice.rt.fetchInbox()).messages).toEqual([]);
    });

    it('rate-limit key package claims', async () => {
      const group = await carol.rt.createGroup();
      await carol.rt.invite(group.id, 'dave');
      let code = 'none';
      for (let i = 0; i <= Limits.KEY_PACKAGE_CLAIMS_PER_MINUTE; i += 1) {
        code = await codeOf(carol.rt.claimKeyPackages(group.id, [dave.id]));
        if (code !== 'resolved') break;
      }
      expect(code).toBe('CHAT_ERR_RATE_LIMITED');
    });
  });
});
