/**
 * MLS support over real WebSockets and HTTP, on SQLite and PostgreSQL: a commit names its
 * group info as a blob the committer uploaded (kept while current, out of every quota; a
 * stale commit's blob deleted), and a member adds their own new device to a group (claim,
 * commit, welcome) without being a moderator.
 */
import { randomBytes } from 'node:crypto';
import { blobPath, type Epoch } from '@securechat/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deviceId, epoch, roomId, userId } from '../../../test-support/ids.js';
import { freePort } from '../../../test-support/net.js';
import { until } from '../../../test-support/until.js';
import { createBlobs } from '../src/domain/blobs.js';
import { newId } from '../src/domain/crypto.js';
import { ORIGIN, signedIn, socketHeaders, TestClient } from './support/client.js';
import { createTestApp, describeEachDialect, type TestApp } from './support/harness.js';
import { csrfFor } from './support/platform.js';
import { Peer } from './support/peer.js';

const text = (s: string) => new TextEncoder().encode(s);
const DAY = 24 * 3600 * 1000;

describeEachDialect('group info and own devices', (dialect) => {
  let t: TestApp;
  let url: string;
  let alice: TestClient;
  let bob: TestClient;
  let a: Peer;
  let b: Peer;
  let group: string;
  let otherGroup: string;
  const ids: Record<string, string> = {};

  const idOf = async (client: TestClient) =>
    (await client.get('/api/auth/session')).json<{ user: { id: string } }>().user.id;

  /** A PUT of a blob, as a page of ours sends it; answers the blob's id. */
  async function upload(client: TestClient, room: string, bytes: Uint8Array): Promise<string> {
    const csrf = await csrfFor(t.app);
    const response = await t.app.inject({
      method: 'PUT',
      url: blobPath(room),
      headers: {
        cookie: `__Host-sc_session=${client.cookie('__Host-sc_session')}; ${csrf.cookie}`,
        origin: ORIGIN,
        'x-csrf-token': csrf.token,
        'content-type': 'application/octet-stream',
      },
      payload: Buffer.from(bytes),
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json<{ id: string }>().id;
  }

  async function create(peer: Peer): Promise<string> {
    const created = await peer.request<'room'>({ t: 'create', kind: 'group' });
    if (created.t !== 'room') throw new Error(created.message);
    return created.room.id;
  }

  const commit = (peer: Peer, room: string, at: Epoch, cmid: string, groupInfo?: string) =>
    peer.request<'ack'>({
      t: 'send',
      room: roomId(room),
      cmid,
      kind: 'commit',
      epoch: at,
      payload: text(cmid),
      ...(groupInfo === undefined ? {} : { groupInfo }),
    });

  async function groupInfo(peer: Peer, room: string) {
    const reply = await peer.request<'group-info'>({ t: 'group-info', room: roomId(room) });
    if (reply.t !== 'group-info') throw new Error(reply.message);
    return reply;
  }

  const blobExists = async (id: string) =>
    (await t.storage.db.selectFrom('blobs').select('id').where('id', '=', id).execute()).length ===
    1;

  beforeAll(async () => {
    const port = await freePort();
    url = `ws://127.0.0.1:${port}/api/ws`;
    t = await createTestApp(dialect, {
      env: { RATE_LIMIT_LOGIN_PER_MINUTE: '100', RATE_LIMIT_REGISTRATIONS_PER_HOUR: '100' },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
    alice = await signedIn(t.app, 'alice');
    bob = await signedIn(t.app, 'bob');
    ids.alice = await idOf(alice);
    ids.bob = await idOf(bob);
    a = await Peer.open(url, socketHeaders(alice));
    b = await Peer.open(url, socketHeaders(bob));
    group = await create(a);
    otherGroup = await create(a);
    expect(await a.request({ t: 'invite', room: roomId(group), username: 'bob' })).toMatchObject({
      t: 'room',
    });
  });
  afterAll(async () => {
    a.close();
    b.close();
    await t.close();
  });

  it('accepts a commit naming its group-info blob; every member fetches it', async () => {
    expect(await groupInfo(b, group)).toMatchObject({ epoch: 0, blob: null });
    // A big room's tree: far more than a frame may carry.
    const bytes = randomBytes(512 * 1024);
    const blob = await upload(alice, group, bytes);
    expect(await commit(a, group, epoch(0), 'c-0', blob)).toMatchObject({ t: 'ack' });

    const info = await groupInfo(b, group);
    expect(info).toMatchObject({ t: 'group-info', room: group, epoch: 1, blob });
    const fetched = await bob.get(blobPath(group, blob));
    expect(fetched.statusCode).toBe(200);
    expect(Buffer.compare(fetched.rawPayload, bytes)).toBe(0);
    // Not to a stranger.
    const stranger = await signedIn(t.app, 'stranger');
    expect((await stranger.get(blobPath(group, blob))).statusCode).toBe(404);
    // A commit without group info leaves the current one.
    expect(await commit(a, group, epoch(1), 'c-1')).toMatchObject({ t: 'ack' });
    expect(await groupInfo(a, group)).toMatchObject({ epoch: 2, blob });
  });

  it('refuses a commit naming another room’s, another user’s, an expired or no blob', async () => {
    const before = await groupInfo(a, group);
    const bobs = await upload(bob, group, text('bob’s'));
    const elsewhere = await upload(alice, otherGroup, text('other room'));
    const expired = newId();
    await t.storage.db
      .insertInto('blobs')
      .values({
        id: expired,
        room_id: group,
        user_id: ids.alice ?? '',
        size: 1,
        created_at: 0,
        expires_at: 1,
        data: text('x'),
      })
      .execute();
    for (const [name, blob] of [
      ['other-user', bobs],
      ['other-room', elsewhere],
      ['expired', expired],
      ['missing', newId()],
    ] as const) {
      const refused = await commit(a, group, before.epoch, `bad-${name}`, blob);
      expect(refused, name).toMatchObject({
        t: 'error',
        code: 'CHAT_ERR_VALIDATION',
        field: 'groupInfo',
      });
    }
    // Refused whole: no epoch bump, no event, the current blob stays.
    expect(await groupInfo(a, group)).toMatchObject({ epoch: before.epoch, blob: before.blob });
    const stored = await t.storage.db
      .selectFrom('events')
      .select('seq')
      .where('room_id', '=', group)
      .where('cmid', 'like', 'bad-%')
      .execute();
    expect(stored).toEqual([]);
    // Not deleted either: they are not this commit's to delete.
    expect(await blobExists(bobs)).toBe(true);
    expect(await blobExists(elsewhere)).toBe(true);
  });

  it('deletes the blob of a commit refused as stale, never the current one', async () => {
    const current = await groupInfo(a, group);
    const late = await upload(alice, group, text('late group info'));
    const stale = await commit(a, group, epoch(current.epoch - 1), 'stale-1', late);
    expect(stale).toMatchObject({
      t: 'error',
      code: 'CHAT_ERR_STALE_EPOCH',
      epoch: current.epoch,
    });
    expect(await blobExists(late)).toBe(false);
    // Its retry is told the same, not that its blob is gone.
    expect(await commit(a, group, epoch(current.epoch - 1), 'stale-1', late)).toMatchObject({
      code: 'CHAT_ERR_STALE_EPOCH',
    });
    // Naming the current blob in a stale commit does not delete it.
    const named = current.blob ?? '';
    expect(await commit(a, group, epoch(0), 'stale-2', named)).toMatchObject({
      code: 'CHAT_ERR_STALE_EPOCH',
    });
    expect(await blobExists(named)).toBe(true);
    // Nor does another user's stale commit naming a blob of alice's.
    const alices = await upload(alice, group, text('alice’s spare'));
    expect(await commit(b, group, epoch(0), 'stale-3', alices)).toMatchObject({
      code: 'CHAT_ERR_STALE_EPOCH',
    });
    expect(await blobExists(alices)).toBe(true);
  });

  it('keeps the current blob past its expiry and out of the quota; the previous one expires', async () => {
    const now = Date.now();
    const quota = createBlobs({
      db: t.storage.db,
      dialect: t.storage.dialect,
      now: () => now,
      quotaBytes: 4000,
    });
    const carol = await signedIn(t.app, 'carol');
    const c = await Peer.open(url, socketHeaders(carol));
    try {
      const room = await create(c);
      const carolId = await idOf(carol);
      const first = await quota.put(carolId, room, new Uint8Array(3000));
      expect(await commit(c, room, epoch(0), 'q-0', first.id)).toMatchObject({ t: 'ack' });
      // Current: not counted, so the whole quota is free again.
      const second = await quota.put(carolId, room, new Uint8Array(4000));
      // The next epoch's blob replaces it: now the first counts again, and the second not.
      expect(await commit(c, room, epoch(1), 'q-1', second.id)).toMatchObject({ t: 'ack' });
      await expect(quota.put(carolId, room, new Uint8Array(1001))).rejects.toMatchObject({
        code: 'CHAT_ERR_BLOB_QUOTA',
      });
      await quota.put(carolId, room, new Uint8Array(1000));

      // Long after every expiry: the sweep takes all but the current one, which is served.
      const later = createBlobs({
        db: t.storage.db,
        dialect: t.storage.dialect,
        now: () => now + 30 * DAY,
      });
      await later.sweep();
      expect(await blobExists(first.id)).toBe(false);
      expect(await blobExists(second.id)).toBe(true);
      expect(await later.get(carolId, room, second.id)).toHaveLength(4000);
      expect(await groupInfo(c, room)).toMatchObject({ epoch: 2, blob: second.id });
    } finally {
      c.close();
    }
  });

  it('makes the whole member pending when a second new device comes while one is', async () => {
    const frank = await signedIn(t.app, 'frank');
    const frankId = await idOf(frank);
    const f = await Peer.open(url, socketHeaders(frank));
    try {
      const room = await create(a);
      await a.request({ t: 'invite', room: roomId(room), username: 'frank' });
      const pending = async () =>
        (
          await t.storage.db
            .selectFrom('pending_adds')
            .select('device_id')
            .where('room_id', '=', room)
            .where('user_id', '=', frankId)
            .execute()
        ).map((p) => p.device_id);
      // Invited: the whole member; a new device then changes nothing.
      expect(await pending()).toEqual([null]);
      const signIn = async () => {
        const login = await new TestClient(t.app, 'Mozilla/5.0 (X11; Linux) Firefox/128.0').login(
          'frank',
        );
        if (login.stage !== 'finish') throw new Error(`sign-in stopped at ${login.stage}`);
        return login.response.json<{ device: { id: string } }>().device.id;
      };
      await signIn();
      expect(await pending()).toEqual([null]);
      // Welcomed (he writes): nothing pending; one new device: that one; a second: all of him.
      await f.request({
        t: 'send',
        room: roomId(room),
        cmid: 'frank-1',
        kind: 'message',
        payload: text('hi'),
      });
      expect(await pending()).toEqual([]);
      const first = await signIn();
      expect(await pending()).toEqual([first]);
      await signIn();
      expect(await pending()).toEqual([null]);
    } finally {
      f.close();
    }
  });

  it('still takes the welcome owed to a device when its owner signs in elsewhere meanwhile', async () => {
    const gina = await signedIn(t.app, 'gina');
    const g = await Peer.open(url, socketHeaders(gina));
    try {
      expect(await g.request({ t: 'kp-upload', packages: [text('phone-kp')] })).toMatchObject({
        t: 'kp-count',
      });
      const room = await create(a);
      await a.request({ t: 'invite', room: roomId(room), username: 'gina' });
      const claimed = await a.request<'key-packages'>({
        t: 'kp-claim',
        room: roomId(room),
        users: [userId(await idOf(gina))],
      });
      if (claimed.t !== 'key-packages') throw new Error(claimed.message);
      const phone = claimed.packages[0]?.device;
      if (!phone) throw new Error('nothing claimed');
      // Between the claim and the welcome, gina signs in on a laptop: a new pending device.
      const login = await new TestClient(t.app, 'Mozilla/5.0 (X11; Linux) Firefox/128.0').login(
        'gina',
      );
      if (login.stage !== 'finish') throw new Error(`sign-in stopped at ${login.stage}`);
      expect(
        await a.request({
          t: 'inbox-send',
          room: roomId(room),
          device: phone,
          cmid: 'welcome-phone',
          payload: text('welcome'),
        }),
      ).toMatchObject({ t: 'ok' });
      const inbox = await g.request<'inbox'>({ t: 'inbox-fetch' });
      expect(inbox.t === 'inbox' && inbox.messages.map((m) => m.cmid)).toEqual(['welcome-phone']);
    } finally {
      g.close();
    }
  });

  it.skipIf(dialect !== 'postgres')(
    'signs a member in while a commit in their room holds it: one waits, neither fails',
    async () => {
      // A commit advances the room's row, then ends its sender's pending add; a sign-in marks
      // the new device pending in each of the user's rooms. Taken in opposite orders, the two
      // deadlocked and PostgreSQL failed one of them. Here the commit's transaction is paused
      // between its two steps until the sign-in waits on it.
      const ivy = await signedIn(t.app, 'ivy');
      const ivyId = await idOf(ivy);
      const room = await create(a);
      await a.request({ t: 'invite', room: roomId(room), username: 'ivy' });
      const db = t.storage.db;
      let roomHeld!: () => void;
      const held = new Promise<void>((resolve) => (roomHeld = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const committing = db.transaction().execute(async (trx) => {
        await trx
          .updateTable('rooms')
          .set((eb) => ({ epoch: eb('epoch', '+', 1) }))
          .where('id', '=', room)
          .execute();
        roomHeld();
        await released;
        await trx
          .deleteFrom('pending_adds')
          .where('room_id', '=', room)
          .where('user_id', '=', ivyId)
          .execute();
      });
      await held;
      const signingIn = new TestClient(t.app, 'Mozilla/5.0 (X11; Linux) Firefox/128.0').login(
        'ivy',
      );
      // Until the sign-in's transaction waits for a lock the paused commit holds.
      await until(async () => {
        const { rows } = await sql<{ n: string }>`
          select count(*) as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
        return Number(rows[0]?.n) > 0;
      }, 'the sign-in to wait on the room');
      release();
      await expect(committing).resolves.toBeUndefined();
      const login = await signingIn;
      if (login.stage !== 'finish') throw new Error(`sign-in stopped at ${login.stage}`);
      expect(login.response.statusCode, login.response.body).toBe(200);
    },
  );

  it('lets two people claim each other’s key packages at the same moment, and welcome each other', async () => {
    // Both ends of a new direct room set up its group at once: each claims the other's
    // packages and sends the other a welcome. On PostgreSQL each claim holds its sender's
    // user row; the rows it inserts name the other user, which once deadlocked the pair.
    for (let round = 0; round < 6; round++) {
      const [one, two] = await Promise.all([
        signedIn(t.app, `pair${round}a`),
        signedIn(t.app, `pair${round}b`),
      ]);
      const [oneId, twoId] = await Promise.all([idOf(one), idOf(two)]);
      const [p1, p2] = await Promise.all([
        Peer.open(url, socketHeaders(one)),
        Peer.open(url, socketHeaders(two)),
      ]);
      try {
        for (const peer of [p1, p2])
          expect(await peer.request({ t: 'kp-upload', packages: [text('kp')] })).toMatchObject({
            t: 'kp-count',
          });
        const made = await p1.request<'room'>({ t: 'direct', username: `pair${round}b` });
        if (made.t !== 'room') throw new Error(made.message);
        const room = roomId(made.room.id);
        const [c1, c2] = await Promise.all([
          p1.request<'key-packages'>({ t: 'kp-claim', room, users: [userId(twoId)] }),
          p2.request<'key-packages'>({ t: 'kp-claim', room, users: [userId(oneId)] }),
        ]);
        if (c1.t !== 'key-packages' || c2.t !== 'key-packages')
          throw new Error(`a claim was refused: ${JSON.stringify([c1, c2])}`);
        const [to2, to1] = [c1.packages[0]?.device, c2.packages[0]?.device];
        if (!to1 || !to2) throw new Error('a claim handed out nothing');
        const welcomes = await Promise.all([
          p1.request({ t: 'inbox-send', room, device: to2, cmid: 'w', payload: text('w') }),
          p2.request({ t: 'inbox-send', room, device: to1, cmid: 'w', payload: text('w') }),
        ]);
        expect(welcomes).toMatchObject([{ t: 'ok' }, { t: 'ok' }]);
      } finally {
        p1.close();
        p2.close();
      }
    }
  });

  it('lets a plain member of a group add their own new device: claim, commit, welcome', async () => {
    const erin = await signedIn(t.app, 'erin');
    const erinId = userId(await idOf(erin));
    const e = await Peer.open(url, socketHeaders(erin));
    const room = await create(a);
    expect(await a.request({ t: 'invite', room: roomId(room), username: 'erin' })).toMatchObject({
      t: 'room',
    });
    const say = (peer: Peer, cmid: string) =>
      peer.request({ t: 'send', room: roomId(room), cmid, kind: 'message', payload: text(cmid) });
    const claim = (peer: Peer, users: string[]) =>
      peer.request<'key-packages'>({ t: 'kp-claim', room: roomId(room), users: users.map(userId) });
    // Erin is in the group and has written: nothing of hers is pending.
    expect(await say(e, 'erin-1')).toMatchObject({ t: 'ack' });
    expect(await claim(e, [erinId])).toMatchObject({ t: 'error', code: 'CHAT_ERR_FORBIDDEN' });

    // Erin signs in on a laptop: a new device, pending in her rooms.
    const laptop = new TestClient(t.app, 'Mozilla/5.0 (X11; Linux) Firefox/128.0');
    const login = await laptop.login('erin');
    if (login.stage !== 'finish') throw new Error(`sign-in stopped at ${login.stage}`);
    const laptopId = deviceId(login.response.json<{ device: { id: string } }>().device.id);
    const l = await Peer.open(url, socketHeaders(laptop));
    try {
      expect(await l.request({ t: 'kp-upload', packages: [text('laptop-kp')] })).toMatchObject({
        t: 'kp-count',
        available: 1,
      });
      // Her phone writing does not end the laptop's pending add.
      expect(await say(e, 'erin-2')).toMatchObject({ t: 'ack' });

      // Someone else's add is still for moderators only; her own device is hers to add.
      const dave = await signedIn(t.app, 'dave');
      expect(await a.request({ t: 'invite', room: roomId(room), username: 'dave' })).toMatchObject({
        t: 'room',
      });
      const daveId = await idOf(dave);
      for (const users of [[daveId], [erinId, daveId]])
        expect(await claim(e, users)).toMatchObject({ t: 'error', code: 'CHAT_ERR_FORBIDDEN' });
      const claimed = await claim(e, [erinId]);
      if (claimed.t !== 'key-packages') throw new Error(claimed.message);
      // Only the pending device: not the phone that asks, nor any device already in the group.
      expect(claimed.packages.map((p) => p.device)).toEqual([laptopId]);
      expect(claimed.packages[0]?.data).toEqual(Buffer.from('laptop-kp'));

      // The commit adding it is a write of erin's; the welcome that follows still goes through.
      const at = (await groupInfo(e, room)).epoch;
      expect(await commit(e, room, at, 'add-laptop')).toMatchObject({ t: 'ack' });
      expect(
        await e.request({
          t: 'inbox-send',
          room: roomId(room),
          device: laptopId,
          cmid: 'welcome-laptop',
          payload: text('welcome'),
        }),
      ).toMatchObject({ t: 'ok' });
      const inbox = await l.request<'inbox'>({ t: 'inbox-fetch' });
      expect(inbox.t === 'inbox' && inbox.messages.map((m) => m.cmid)).toEqual(['welcome-laptop']);

      // The laptop writes: it is in the group, nothing more to claim.
      expect(await say(l, 'laptop-1')).toMatchObject({ t: 'ack' });
      expect(await claim(e, [erinId])).toMatchObject({ t: 'error', code: 'CHAT_ERR_FORBIDDEN' });
    } finally {
      l.close();
      e.close();
    }
  });
});
