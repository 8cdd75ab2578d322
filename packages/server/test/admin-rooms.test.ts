/**
 * The admin console's rooms through the real HTTP API, WebSockets and CLI, on SQLite and
 * PostgreSQL: the list shows what the server knows (never a group's name), deleting a room
 * removes it and its log for everyone and tells its members' open sockets at once, #general
 * stays, and every route is for administrators only. Deleting an account takes it out of
 * every room (handing on what it owned), ends its sessions and keeps its name taken.
 */
import type { RoomEvent, ServerFrame } from '@securechat/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../../test-support/net.js';
import { runCli } from '../src/cli.js';
import { PASSWORD, signedIn, socketHeaders, TestClient } from './support/client.js';
import { cliEnv, createTestApp, describeEachDialect, type TestApp } from './support/harness.js';
import { Peer } from './support/peer.js';
import { epoch } from '../../../test-support/ids.js';

const tokenOf = (url: string) => new URL(url).hash.replace('#token=', '');

interface Listed {
  rooms: { id: string; kind: string; name: string | null; members: number; events: number }[];
  total: number;
}

describeEachDialect('admin console: rooms and account deletion', (dialect) => {
  let t: TestApp;
  let url: string;
  let admin: TestClient;

  beforeAll(async () => {
    const port = await freePort();
    url = `ws://127.0.0.1:${port}/api/ws`;
    t = await createTestApp(dialect, { env: { RATE_LIMIT_LOGIN_PER_MINUTE: '1000' } });
    await t.app.listen({ port, host: '127.0.0.1' });
    const setup = await t.app.services.accounts.createAdminSetupLink();
    admin = new TestClient(t.app);
    await admin.register('warden', PASSWORD, { setupToken: tokenOf(setup) });
  });
  afterAll(() => t.close());

  it('lists rooms with members and activity, never a group’s name; deletes one for everyone', async () => {
    const owner = await signedIn(t.app, 'roomowner');
    const guest = await signedIn(t.app, 'roomguest');
    const a = await Peer.open(url, socketHeaders(owner));
    const b = await Peer.open(url, socketHeaders(guest));
    try {
      const channel = await a.request<'room'>({
        t: 'create',
        kind: 'channel',
        name: 'lantern-quay',
      });
      const group = await a.request<'room'>({ t: 'create', kind: 'group' });
      if (channel.t !== 'room' || group.t !== 'room') throw new Error('rooms not created');
      await b.request({ t: 'join', room: channel.room.id });
      await a.request({ t: 'invite', room: group.room.id, username: 'roomguest' });

      const listed = (await admin.get('/api/admin/rooms')).json<Listed>();
      const byId = new Map(listed.rooms.map((room) => [room.id, room]));
      expect(byId.get(channel.room.id)).toMatchObject({
        kind: 'channel',
        name: 'lantern-quay',
        members: 2,
      });
      expect(byId.get(group.room.id)).toMatchObject({ kind: 'group', name: null, members: 2 });
      expect(listed.rooms.some((room) => room.kind === 'general')).toBe(true);
      expect(listed.total).toBe(listed.rooms.length);

      const filtered = (await admin.get('/api/admin/rooms?name=LANTERN')).json<Listed>();
      expect(filtered.rooms.map((room) => room.id)).toEqual([channel.room.id]);
      const groups = (await admin.get('/api/admin/rooms?kind=group')).json<Listed>();
      expect(groups.rooms.every((room) => room.kind === 'group')).toBe(true);
      const paged = (await admin.get('/api/admin/rooms?limit=1&offset=1')).json<Listed>();
      expect(paged.rooms).toHaveLength(1);
      expect(paged.total).toBe(listed.total);

      // Deleting: both members' open sockets hear they were removed, at once.
      const deleted = await admin.send('DELETE', `/api/admin/rooms/${group.room.id}`);
      expect(deleted.statusCode, deleted.body).toBe(200);
      expect(deleted.json()).toMatchObject({ members: 2 });
      for (const [peer, user] of [
        [a, 'roomowner'],
        [b, 'roomguest'],
      ] as const) {
        await expect
          .poll(() =>
            peer.frames
              .filter((f): f is Extract<ServerFrame, { t: 'event' }> => f.t === 'event')
              .map((f) => f.event)
              .some(
                (e: RoomEvent) =>
                  e.room === group.room.id &&
                  e.kind === 'notice' &&
                  e.notice.type === 'kick' &&
                  'username' in e.notice &&
                  e.notice.username === user,
              ),
          )
          .toBe(true);
      }
      const rows = await t.storage.db
        .selectFrom('events')
        .select('seq')
        .where('room_id', '=', group.room.id)
        .execute();
      expect(rows).toEqual([]);
      const after = (await admin.get('/api/admin/rooms')).json<Listed>();
      expect(after.rooms.some((room) => room.id === group.room.id)).toBe(false);
      // The room is gone for its members: a send there is refused.
      const refused = await a.request({
        t: 'send',
        kind: 'message',
        room: group.room.id,
        cmid: 'after-delete-1',
        epoch: epoch(0),
        payload: new Uint8Array([1]),
      });
      expect(refused).toMatchObject({ t: 'error', code: 'CHAT_ERR_NOT_FOUND' });

      const audit = await admin.get('/api/admin/audit?event=admin.room_deleted');
      expect(audit.body).toContain(group.room.id);
    } finally {
      a.close();
      b.close();
    }
  });

  it('keeps #general, answers an unknown room with not found, and is for administrators only', async () => {
    const listed = (await admin.get('/api/admin/rooms?kind=general')).json<Listed>();
    const general = listed.rooms[0]?.id ?? '';
    expect((await admin.send('DELETE', `/api/admin/rooms/${general}`)).statusCode).toBe(403);
    expect((await admin.send('DELETE', `/api/admin/rooms/${'x'.repeat(22)}`)).statusCode).toBe(404);
    const member = await signedIn(t.app, 'curious');
    expect((await member.get('/api/admin/rooms')).statusCode).toBe(403);
    expect((await member.send('DELETE', `/api/admin/rooms/${general}`)).statusCode).toBe(403);
    expect((await new TestClient(t.app).get('/api/admin/rooms')).statusCode).toBe(401);
    // Hostile filters are refused, not run.
    expect((await admin.get(`/api/admin/rooms?name=${'a'.repeat(65)}`)).statusCode).toBe(400);
    expect((await admin.get('/api/admin/rooms?limit=101')).statusCode).toBe(400);
    expect((await admin.get('/api/admin/rooms?kind=lobby')).statusCode).toBe(400);
  });

  it('does the same from the command line', async () => {
    const owner = await signedIn(t.app, 'clirooms');
    const a = await Peer.open(url, socketHeaders(owner));
    try {
      const channel = await a.request<'room'>({ t: 'create', kind: 'channel', name: 'cli-quay' });
      if (channel.t !== 'room') throw new Error('room not created');
      const out: string[] = [];
      const io = { out: (line: string) => out.push(line), err: (line: string) => out.push(line) };
      const env = cliEnv(t);
      expect(await runCli(['admin', 'rooms'], env, io)).toBe(0);
      expect(
        out.some((line) => line.startsWith(channel.room.id) && line.includes('#cli-quay')),
      ).toBe(true);
      expect(await runCli(['admin', 'delete-room', channel.room.id], env, io)).toBe(0);
      expect(out.at(-1)).toMatch(/^Deleted room .* 1 members no longer have it\.$/);
      const listed = (await admin.get('/api/admin/rooms?name=cli-quay')).json<Listed>();
      expect(listed.rooms).toEqual([]);
      expect(await runCli(['admin', 'delete-room', channel.room.id], env, io)).toBe(1);
      expect(out.at(-1)).toContain('no such room');
    } finally {
      a.close();
    }
  });

  it('deletes an account: out of every room, ownership handed on, signed out, name kept', async () => {
    const leaver = await signedIn(t.app, 'leaver');
    const heir = await signedIn(t.app, 'heir');
    const a = await Peer.open(url, socketHeaders(leaver));
    const b = await Peer.open(url, socketHeaders(heir));
    try {
      const group = await a.request<'room'>({ t: 'create', kind: 'group' });
      const solo = await a.request<'room'>({ t: 'create', kind: 'channel', name: 'solo-cove' });
      if (group.t !== 'room' || solo.t !== 'room') throw new Error('rooms not created');
      await a.request({ t: 'invite', room: group.room.id, username: 'heir' });
      const users = (await admin.get('/api/admin/users')).json<{
        users: { id: string; username: string }[];
      }>().users;
      const leaverId = users.find((u) => u.username === 'leaver')?.id ?? '';
      const heirId = users.find((u) => u.username === 'heir')?.id ?? '';

      const deleted = await admin.send('DELETE', `/api/admin/users/${leaverId}`);
      expect(deleted.statusCode, deleted.body).toBe(200);
      expect(deleted.json()).toMatchObject({ username: 'leaver', devices: 1 });

      // The other member hears that they left and that the group is now theirs.
      const noticesOf = (peer: Peer) =>
        peer.frames
          .filter((f): f is Extract<ServerFrame, { t: 'event' }> => f.t === 'event')
          .map((f) => f.event)
          .filter((e) => e.room === group.room.id && e.kind === 'notice')
          .map((e) => (e.kind === 'notice' ? e.notice : null));
      await expect
        .poll(() => noticesOf(b).map((n) => `${n?.type}:${n && 'user' in n ? n.user : ''}`))
        .toEqual(expect.arrayContaining([`leave:${leaverId}`, `transfer:${heirId}`]));
      const owners = await t.storage.db
        .selectFrom('room_members')
        .select(['user_id', 'role'])
        .where('room_id', '=', group.room.id)
        .execute();
      expect(owners).toEqual([{ user_id: heirId, role: 'owner' }]);
      // The channel they were alone in is gone; their session ended and their socket closed.
      const rooms = await t.storage.db
        .selectFrom('rooms')
        .select('id')
        .where('id', '=', solo.room.id)
        .execute();
      expect(rooms).toEqual([]);
      expect((await leaver.get('/api/auth/session')).statusCode).toBe(401);
      await expect.poll(() => a.socket.readyState).toBe(a.socket.CLOSED);

      // Nobody signs in as them or takes their name; restoring or deleting again is refused.
      const refused = await new TestClient(t.app).login('leaver');
      expect(refused.stage === 'finish' ? refused.response.statusCode : 401).toBe(401);
      expect((await new TestClient(t.app).register('leaver')).statusCode).toBe(409);
      const listed = (await admin.get('/api/admin/users')).json<{
        users: { username: string; deletedAt: string | null }[];
      }>().users;
      expect(listed.find((u) => u.username === 'leaver')?.deletedAt).toEqual(expect.any(String));
      const restore = await admin.send('POST', `/api/admin/users/${leaverId}/suspend`, {
        suspended: false,
      });
      expect(restore.statusCode).toBe(403);
      expect((await admin.send('DELETE', `/api/admin/users/${leaverId}`)).statusCode).toBe(404);
      const audit = await admin.get('/api/admin/audit?event=account.delete');
      expect(audit.json<{ entries: { username: string | null }[] }>().entries[0]).toMatchObject({
        username: 'leaver',
      });
    } finally {
      a.close();
      b.close();
    }
  });

  it('refuses to delete oneself, is for administrators only, and works from the command line', async () => {
    const me = (await admin.get('/api/auth/session')).json<{ user: { id: string } }>().user.id;
    expect((await admin.send('DELETE', `/api/admin/users/${me}`)).statusCode).toBe(403);
    const member = await signedIn(t.app, 'meddler');
    expect((await member.send('DELETE', `/api/admin/users/${me}`)).statusCode).toBe(403);
    await signedIn(t.app, 'scriptgone');
    const out: string[] = [];
    const io = { out: (line: string) => out.push(line), err: (line: string) => out.push(line) };
    const env = cliEnv(t);
    expect(await runCli(['admin', 'delete', 'scriptgone'], env, io)).toBe(0);
    expect(out.at(-1)).toMatch(/^Deleted scriptgone: 1 devices removed/);
    expect(await runCli(['admin', 'users'], env, io)).toBe(0);
    expect(out.find((line) => line.startsWith('scriptgone\t'))).toContain('deleted');
  });
});
