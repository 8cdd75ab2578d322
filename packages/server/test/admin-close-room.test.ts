/**
 * Closing a room from the admin console, through the real HTTP API, WebSockets and CLI, on
 * SQLite and PostgreSQL: a closed room is a read-only archive. Its members are told at once
 * and keep reading its history; their messages, edits, reactions, joins, invitations and
 * setting changes are refused with CHAT_ERR_ROOM_CLOSED and nothing is stored, while MLS
 * commits and leaving go on. Reopening lets them write again. #general can't be closed, and
 * only administrators close or reopen, each change audited once.
 */
import type { Notice, RoomEvent, ServerFrame } from '@securechat/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../../test-support/net.js';
import { epoch, roomId } from '../../../test-support/ids.js';
import { runCli } from '../src/cli.js';
import { PASSWORD, signedIn, socketHeaders, TestClient } from './support/client.js';
import { cliEnv, createTestApp, describeEachDialect, type TestApp } from './support/harness.js';
import { Peer } from './support/peer.js';

const tokenOf = (url: string) => new URL(url).hash.replace('#token=', '');

interface Listed {
  rooms: { id: string; kind: string; closedAt: string | null }[];
  total: number;
}

/** The `closed` notices a peer has heard in a room, in order. */
const closedNotices = (peer: Peer, room: string) =>
  peer.frames
    .filter((f): f is Extract<ServerFrame, { t: 'event' }> => f.t === 'event')
    .map((f) => f.event)
    .filter((e: RoomEvent) => e.room === room && e.kind === 'notice')
    .flatMap((e) => (e.kind === 'notice' && e.notice.type === 'closed' ? [e.notice] : []));

describeEachDialect('admin console: closing a room', (dialect) => {
  let t: TestApp;
  let url: string;
  let admin: TestClient;
  const idOf = async (client: TestClient) =>
    (await client.get('/api/auth/session')).json<{ user: { id: string } }>().user.id;
  const eventCount = async (room: string) =>
    (await t.storage.db.selectFrom('events').select('seq').where('room_id', '=', room).execute())
      .length;

  beforeAll(async () => {
    const port = await freePort();
    url = `ws://127.0.0.1:${port}/api/ws`;
    t = await createTestApp(dialect, {
      env: { RATE_LIMIT_LOGIN_PER_MINUTE: '1000', RATE_LIMIT_REGISTRATIONS_PER_HOUR: '1000' },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
    const setup = await t.app.services.accounts.createAdminSetupLink();
    admin = new TestClient(t.app);
    await admin.register('keeper', PASSWORD, { setupToken: tokenOf(setup) });
  });
  afterAll(() => t.close());

  it('makes a room read-only for its members, tells them at once, and reopens it', async () => {
    const owner = await signedIn(t.app, 'archowner');
    const guest = await signedIn(t.app, 'archguest');
    const leaver = await signedIn(t.app, 'archleaver');
    const late = await signedIn(t.app, 'archlate');
    const a = await Peer.open(url, socketHeaders(owner));
    const b = await Peer.open(url, socketHeaders(guest));
    const c = await Peer.open(url, socketHeaders(leaver));
    const d = await Peer.open(url, socketHeaders(late));
    try {
      const created = await a.request<'room'>({
        t: 'create',
        kind: 'channel',
        name: 'harbour-archive',
      });
      if (created.t !== 'room') throw new Error(created.message);
      const room = created.room.id;
      await b.request({ t: 'join', room });
      await c.request({ t: 'join', room });
      const sent = await a.request<'ack'>({
        t: 'send',
        kind: 'message',
        room,
        cmid: 'before-close',
        epoch: epoch(0),
        payload: new Uint8Array([1]),
      });
      if (sent.t !== 'ack') throw new Error(sent.message);

      const closed = await admin.send('POST', `/api/admin/rooms/${room}/close`);
      expect(closed.statusCode, closed.body).toBe(204);
      // Every member's open socket hears it at once; the room's summary says so too.
      for (const peer of [a, b, c])
        await expect
          .poll(() => closedNotices(peer, room))
          .toEqual([{ type: 'closed', closed: true }]);
      const rooms = await b.request<'rooms'>({ t: 'rooms' });
      if (rooms.t !== 'rooms') throw new Error(rooms.message);
      expect(rooms.rooms.find((r) => r.id === room)?.closedAt).toEqual(expect.any(Number));

      // Nothing new is written: messages, edits, reactions, settings, joins, invitations.
      const before = await eventCount(room);
      const refusals = await Promise.all([
        b.request({
          t: 'send',
          kind: 'message',
          room,
          cmid: 'after-close',
          epoch: epoch(0),
          payload: new Uint8Array([2]),
        }),
        a.request({
          t: 'send',
          kind: 'edit',
          room,
          cmid: 'edit-after-close',
          target: sent.seq,
          payload: new Uint8Array([3]),
        }),
        b.request({
          t: 'send',
          kind: 'reaction',
          room,
          cmid: 'react-after-close',
          target: sent.seq,
          payload: new Uint8Array([4]),
        }),
        a.request({ t: 'settings', room, topic: 'still here?' }),
        d.request({ t: 'join', room }),
        a.request({ t: 'invite', room, username: 'archlate' }),
      ]);
      for (const refused of refusals)
        expect(refused).toMatchObject({ t: 'error', code: 'CHAT_ERR_ROOM_CLOSED' });
      expect(await eventCount(room)).toBe(before);
      // A retry of what was stored before it closed still gets its event back.
      const retried = await a.request<'ack'>({
        t: 'send',
        kind: 'message',
        room,
        cmid: 'before-close',
        epoch: epoch(0),
        payload: new Uint8Array([1]),
      });
      expect(retried).toMatchObject({ t: 'ack', seq: sent.seq });

      // The history stays readable; commits and leaving go on.
      const page = await b.request<'page'>({ t: 'history', room, limit: 50 });
      if (page.t !== 'page') throw new Error(page.message);
      expect(page.events.some((e) => e.kind === 'message' && e.seq === sent.seq)).toBe(true);
      const commit = await a.request<'ack'>({
        t: 'send',
        kind: 'commit',
        room,
        cmid: 'commit-while-closed',
        epoch: created.room.epoch,
        payload: new Uint8Array([5]),
      });
      expect(commit).toMatchObject({ t: 'ack' });
      const left = await c.request({ t: 'leave', room });
      expect(left.t).not.toBe('error');

      // The console lists it as closed, and filters by state.
      const listed = (await admin.get('/api/admin/rooms?state=closed')).json<Listed>();
      expect(listed.rooms.map((r) => r.id)).toEqual([room]);
      expect(listed.rooms[0]?.closedAt).toEqual(expect.any(String));
      const open = (await admin.get('/api/admin/rooms?state=open')).json<Listed>();
      expect(open.rooms.some((r) => r.id === room)).toBe(false);

      // Closing again changes nothing and tells nobody.
      expect((await admin.send('POST', `/api/admin/rooms/${room}/close`)).statusCode).toBe(204);
      const reopened = await admin.send('POST', `/api/admin/rooms/${room}/reopen`);
      expect(reopened.statusCode, reopened.body).toBe(204);
      const expected: Notice[] = [
        { type: 'closed', closed: true },
        { type: 'closed', closed: false },
      ];
      for (const peer of [a, b])
        await expect.poll(() => closedNotices(peer, room)).toEqual(expected);
      const again = await b.request<'ack'>({
        t: 'send',
        kind: 'message',
        room,
        cmid: 'after-reopen',
        epoch: epoch(Number(created.room.epoch) + 1),
        payload: new Uint8Array([6]),
      });
      expect(again).toMatchObject({ t: 'ack' });
      expect(await d.request({ t: 'join', room })).toMatchObject({ t: 'room' });

      // Each real change is audited once, with who made it.
      const me = await idOf(admin);
      for (const [event, count] of [
        ['admin.room_closed', 1],
        ['admin.room_reopened', 1],
      ] as const) {
        const audit = await admin.get(`/api/admin/audit?event=${event}`);
        const entries = audit
          .json<{ entries: { detail: Record<string, unknown> }[] }>()
          .entries.filter((entry) => entry.detail.room === room);
        expect(entries).toHaveLength(count);
        expect(entries[0]?.detail).toMatchObject({ kind: 'channel', by: me });
      }
    } finally {
      for (const peer of [a, b, c, d]) peer.close();
    }
  });

  it('settles a message racing the close: nothing lands after the room closed', async () => {
    const owner = await signedIn(t.app, 'archracer');
    const a = await Peer.open(url, socketHeaders(owner));
    try {
      const created = await a.request<'room'>({ t: 'create', kind: 'channel', name: 'race-quay' });
      if (created.t !== 'room') throw new Error(created.message);
      const room = created.room.id;
      const before = await eventCount(room);
      // A close holds the room's row, not yet committed, while the message is sent: on
      // PostgreSQL the send reads the room open, then waits for the row as it takes a seq.
      let commit = () => {};
      const holding = new Promise<void>((resolve) => (commit = resolve));
      const closing = t.storage.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('rooms')
          .set({ closed_at: Date.now() })
          .where('id', '=', room)
          .execute();
        await holding;
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const sending = a.request({
        t: 'send',
        kind: 'message',
        room,
        cmid: 'racing-the-close',
        epoch: epoch(0),
        payload: new Uint8Array([1]),
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      commit();
      await closing;
      expect(await sending).toMatchObject({ t: 'error', code: 'CHAT_ERR_ROOM_CLOSED' });
      expect(await eventCount(room)).toBe(before);
    } finally {
      a.close();
    }
  });

  it('keeps #general open, answers an unknown room with not found, and is for administrators only', async () => {
    const general =
      (await admin.get('/api/admin/rooms?kind=general')).json<Listed>().rooms[0]?.id ?? '';
    expect((await admin.send('POST', `/api/admin/rooms/${general}/close`)).statusCode).toBe(403);
    const unknown = `/api/admin/rooms/${'x'.repeat(22)}`;
    expect((await admin.send('POST', `${unknown}/close`)).statusCode).toBe(404);
    expect((await admin.send('POST', `${unknown}/reopen`)).statusCode).toBe(404);
    const member = await signedIn(t.app, 'archmeddler');
    const a = await Peer.open(url, socketHeaders(member));
    try {
      const created = await a.request<'room'>({ t: 'create', kind: 'group' });
      if (created.t !== 'room') throw new Error(created.message);
      const own = `/api/admin/rooms/${created.room.id}`;
      expect((await member.send('POST', `${own}/close`)).statusCode).toBe(403);
      expect((await member.send('POST', `${own}/reopen`)).statusCode).toBe(403);
      expect((await new TestClient(t.app).send('POST', `${own}/close`)).statusCode).toBe(401);
      const rooms = await a.request<'rooms'>({ t: 'rooms' });
      if (rooms.t !== 'rooms') throw new Error(rooms.message);
      expect(rooms.rooms.find((r) => r.id === created.room.id)?.closedAt).toBeNull();
    } finally {
      a.close();
    }
    expect((await admin.get('/api/admin/rooms?state=shut')).statusCode).toBe(400);
  });

  it('does the same from the command line', async () => {
    const owner = await signedIn(t.app, 'archcli');
    const a = await Peer.open(url, socketHeaders(owner));
    try {
      const created = await a.request<'room'>({
        t: 'create',
        kind: 'channel',
        name: 'cli-archive',
      });
      if (created.t !== 'room') throw new Error(created.message);
      const room = created.room.id;
      const out: string[] = [];
      const io = { out: (line: string) => out.push(line), err: (line: string) => out.push(line) };
      const env = cliEnv(t);
      expect(await runCli(['admin', 'close-room', room], env, io)).toBe(0);
      expect(out.at(-1)).toMatch(/^Closed room .*: its members can read its history/);
      expect(await runCli(['admin', 'rooms'], env, io)).toBe(0);
      expect(out.find((line) => line.startsWith(room))).toMatch(/\tclosed \d{4}-/);
      const refused = await a.request({
        t: 'send',
        kind: 'message',
        room: roomId(room),
        cmid: 'cli-closed',
        epoch: epoch(0),
        payload: new Uint8Array([1]),
      });
      expect(refused).toMatchObject({ t: 'error', code: 'CHAT_ERR_ROOM_CLOSED' });
      expect(await runCli(['admin', 'reopen-room', room], env, io)).toBe(0);
      expect(out.at(-1)).toBe(`Reopened room ${room}: its members can write in it again.`);
      expect(await runCli(['admin', 'rooms'], env, io)).toBe(0);
      expect(out.findLast((line) => line.startsWith(room))).not.toContain('closed');
      const audit = await admin.get('/api/admin/audit?event=admin.room_closed');
      expect(audit.body).toContain(room);
      expect(audit.body).toContain('"by":"cli"');
      const general =
        (await admin.get('/api/admin/rooms?kind=general')).json<Listed>().rooms[0]?.id ?? '';
      expect(await runCli(['admin', 'close-room', general], env, io)).toBe(1);
      expect(out.at(-1)).toContain('#general');
      expect(await runCli(['admin', 'close-room', 'x'.repeat(22)], env, io)).toBe(1);
      expect(out.at(-1)).toContain('no such room');
    } finally {
      a.close();
    }
  });
});
