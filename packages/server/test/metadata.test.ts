/**
 * Server metadata apart from content (docs/decisions/0009-server-metadata.md), over real
 * WebSockets on SQLite and PostgreSQL: a group's name never reaches the server outside the
 * (end-to-end) payload, and device changes reach every room the user is in, durably.
 */
import { encode } from '@msgpack/msgpack';
import type { Notice, RoomEvent, ServerFrame } from '@securechat/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../../test-support/net.js';
import { GENERAL_ROOM_ID } from '../src/domain/delivery.js';
import { createTestApp, describeEachDialect, type TestApp } from './support/harness.js';
import { signedIn, socketHeaders, TestClient } from './support/client.js';
import { Peer } from './support/peer.js';
import { deviceId, userId } from '../../../test-support/ids.js';

const text = (s: string) => new TextEncoder().encode(s);

/** Everything in `value` but bytes (payloads, blobs: the content slot), as JSON text. */
const withoutBytes = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v instanceof Uint8Array ||
    (typeof v === 'object' && v !== null && 'type' in v && v.type === 'Buffer')
      ? '<bytes>'
      : typeof v === 'bigint'
        ? String(v)
        : v,
  );

const devicesNotices = (peer: Peer, room: string) =>
  peer.frames
    .filter((f): f is Extract<ServerFrame, { t: 'event' }> => f.t === 'event')
    .map((f) => f.event)
    .filter(
      (e): e is Extract<RoomEvent, { kind: 'notice' }> =>
        e.room === room && e.kind === 'notice' && e.notice.type === 'devices',
    )
    .map((e) => e.notice);

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describeEachDialect('server metadata', (dialect) => {
  let t: TestApp;
  let url: string;
  let alice: TestClient;
  let bob: TestClient;
  let aliceId: string;

  const userIdOf = async (client: TestClient) =>
    (await client.get('/api/auth/session')).json<{ user: { id: string } }>().user.id;

  beforeAll(async () => {
    const port = await freePort();
    url = `ws://127.0.0.1:${port}/api/ws`;
    t = await createTestApp(dialect, { env: { RATE_LIMIT_LOGIN_PER_MINUTE: '100' } });
    await t.app.listen({ port, host: '127.0.0.1' });
    alice = await signedIn(t.app, 'alice');
    bob = await signedIn(t.app, 'bob');
    aliceId = await userIdOf(alice);
  });
  afterAll(() => t.close());

  /** Every row of every table, bytes left out. */
  async function everyTable(): Promise<string> {
    const tables = await t.storage.db.introspection.getTables();
    const dump: Record<string, unknown[]> = {};
    for (const { name } of tables) {
      dump[name] = (await sql`select * from ${sql.table(name)}`.execute(t.storage.db)).rows;
    }
    return withoutBytes(dump);
  }

  it('never has a group’s name or topic: refused in frames, absent from every table', async () => {
    const SECRET = 'Zebra Orchard 7Q';
    const a = await Peer.open(url, socketHeaders(alice));
    const b = await Peer.open(url, socketHeaders(bob));
    try {
      // A name in `create` for a group is not a frame the server reads.
      a.socket.send(encode({ v: 1, t: 'create', id: 900, kind: 'group', name: SECRET }));
      expect(await a.reply(900)).toMatchObject({ t: 'error', code: 'CHAT_ERR_FRAME_MALFORMED' });
      a.socket.send(encode({ v: 1, t: 'create', id: 901, kind: 'group', topic: SECRET }));
      expect(await a.reply(901)).toMatchObject({ t: 'error', code: 'CHAT_ERR_FRAME_MALFORMED' });

      const created = await a.request<'room'>({ t: 'create', kind: 'group' });
      if (created.t !== 'room') throw new Error(created.message);
      const group = created.room;
      expect(group).toMatchObject({ kind: 'group', name: null, topic: null, protected: false });
      // Settings change a group's visibility only.
      const rename = await a.request({ t: 'settings', room: group.id, name: 'zebra-orchard' });
      expect(rename).toMatchObject({ t: 'error', code: 'CHAT_ERR_VALIDATION' });
      const retopic = await a.request({ t: 'settings', room: group.id, topic: SECRET });
      expect(retopic).toMatchObject({ t: 'error', code: 'CHAT_ERR_VALIDATION' });
      const visible = await a.request({ t: 'settings', room: group.id, visibility: 'joined' });
      expect(visible).toMatchObject({ t: 'room', room: { name: null, visibility: 'joined' } });

      // Members keep the name in the content slot (end-to-end once MLS lands).
      await a.request({ t: 'invite', room: group.id, username: 'bob' });
      const profile = await a.request<'ack'>({
        t: 'send',
        room: group.id,
        cmid: 'profile-1',
        kind: 'message',
        payload: text(JSON.stringify({ type: 'room-profile', name: SECRET, topic: SECRET })),
      });
      expect(profile.t).toBe('ack');
      await until(
        () => b.frames.some((f) => f.t === 'event' && f.event.kind === 'message'),
        'bob to get the profile',
      );
      const listed = await b.request<'rooms'>({ t: 'rooms' });
      expect(listed.t === 'rooms' && listed.rooms.find((r) => r.id === group.id)).toMatchObject({
        name: null,
        topic: null,
      });

      // Nowhere but in payloads: not in any frame either side received, not in any table.
      expect(withoutBytes(a.frames)).not.toContain(SECRET);
      expect(withoutBytes(b.frames)).not.toContain(SECRET);
      const tables = await everyTable();
      expect(tables).not.toContain(SECRET);
      // The scan does see what the server keeps in the clear: a room's id (a public
      // channel's name is kept too, but sealed at rest: vault.test.ts).
      const channel = await a.request<'room'>({
        t: 'create',
        kind: 'channel',
        name: 'zebra-orchard-public',
      });
      expect(channel.t).toBe('room');
      expect(await everyTable()).toContain(channel.t === 'room' ? channel.room.id : '?');
      expect(await everyTable()).not.toContain('zebra-orchard-public');
    } finally {
      a.close();
      b.close();
    }
  });

  it('tells every room a user is in of a new device and of a revoked one, durably', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    const b = await Peer.open(url, socketHeaders(bob));
    try {
      expect((await b.request({ t: 'ping' })).t).toBe('pong');
      const created = await a.request<'room'>({ t: 'create', kind: 'group' });
      if (created.t !== 'room') throw new Error(created.message);
      const group = created.room.id;
      await a.request({ t: 'invite', room: group, username: 'bob' });
      await until(() => b.frames.some((f) => f.t === 'event' && f.event.room === group), 'invite');

      // Alice signs in on a second browser: a new device, told to both shared rooms.
      const second = new TestClient(t.app, 'Mozilla/5.0 (Macintosh) Firefox/128.0');
      const login = await second.login('alice');
      if (login.stage !== 'finish') throw new Error(`sign-in stopped at ${login.stage}`);
      const device = login.response.json<{ device: { id: string } }>().device.id;
      const added: Notice = {
        type: 'devices',
        user: userId(aliceId),
        username: 'alice',
        device: deviceId(device),
        change: 'added',
        awaitsCommit: true,
      };
      await until(
        () =>
          devicesNotices(b, group).length === 1 && devicesNotices(b, GENERAL_ROOM_ID).length === 1,
        'the added-device notices',
      );
      expect(devicesNotices(b, group)).toEqual([added]);
      expect(devicesNotices(b, GENERAL_ROOM_ID)).toEqual([added]);

      // The first device revokes the second: told again, in both rooms.
      expect((await alice.send('DELETE', `/api/devices/${device}`)).statusCode).toBe(204);
      const revoked = { ...added, change: 'revoked' };
      await until(
        () =>
          devicesNotices(b, group).length === 2 && devicesNotices(b, GENERAL_ROOM_ID).length === 2,
        'the revoked-device notices',
      );
      expect(devicesNotices(b, group)).toEqual([added, revoked]);
      expect(devicesNotices(b, GENERAL_ROOM_ID)).toEqual([added, revoked]);

      // Stored in the room's log: a device that was away reads them in history.
      const page = await b.request<'page'>({ t: 'history', room: group, limit: 50 });
      if (page.t !== 'page') throw new Error(page.message);
      const stored = page.events.flatMap((e) =>
        e.kind === 'notice' && e.notice.type === 'devices' ? [e.notice] : [],
      );
      expect(stored).toEqual([added, revoked]);
    } finally {
      a.close();
      b.close();
    }
  });

  it('lets a room add a member’s new device: its key packages can be claimed for that room', async () => {
    const a = await Peer.open(url, socketHeaders(alice));
    const b = await Peer.open(url, socketHeaders(bob));
    try {
      const created = await a.request<'room'>({ t: 'create', kind: 'group' });
      if (created.t !== 'room') throw new Error(created.message);
      const group = created.room.id;
      const bobId = userId(await userIdOf(bob));
      await a.request({ t: 'invite', room: group, username: 'bob' });
      // Bob writes: his add is done, so nothing of his may be claimed for this room any more.
      const sent = await b.request({
        t: 'send',
        room: group,
        cmid: 'bob-here',
        kind: 'message',
        payload: text('hi'),
      });
      expect(sent.t).toBe('ack');
      const early = await a.request({ t: 'kp-claim', room: group, users: [bobId] });
      expect(early).toMatchObject({ t: 'error', code: 'CHAT_ERR_FORBIDDEN' });

      // Bob signs in on a new browser, which uploads its key packages.
      const laptop = new TestClient(t.app, 'Mozilla/5.0 (X11; Linux) Firefox/128.0');
      const login = await laptop.login('bob');
      if (login.stage !== 'finish') throw new Error(`sign-in stopped at ${login.stage}`);
      const device = login.response.json<{ device: { id: string } }>().device.id;
      const c = await Peer.open(url, socketHeaders(laptop));
      try {
        const uploaded = await c.request({ t: 'kp-upload', packages: [text('laptop-kp')] });
        expect(uploaded).toMatchObject({ t: 'kp-count', available: 1 });
        const claimed = await a.request<'key-packages'>({
          t: 'kp-claim',
          room: group,
          users: [bobId],
        });
        if (claimed.t !== 'key-packages') throw new Error(claimed.message);
        expect(claimed.packages.map((p) => p.device)).toContain(device);
      } finally {
        c.close();
      }
    } finally {
      a.close();
      b.close();
    }
  });
});
