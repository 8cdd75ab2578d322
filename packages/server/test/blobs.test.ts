/**
 * Blobs over HTTP: upload and download by members, the same 404 for everything else, the
 * size limit, the quota, the rate, CSRF and expiry; on SQLite and PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { blobPath, Limits } from '@securechat/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBlobs } from '../src/domain/blobs.js';
import { newId } from '../src/domain/crypto.js';
import { ORIGIN, signedIn, type TestClient } from './support/client.js';
import { createTestApp, describeEachDialect, type TestApp } from './support/harness.js';
import { csrfFor } from './support/platform.js';

describeEachDialect('blobs', (dialect) => {
  let t: TestApp;
  let alice: TestClient;
  let bob: TestClient;
  let mallory: TestClient;
  const ids: Record<string, string> = {};
  const room = newId();
  const otherRoom = newId();

  const userId = async (client: TestClient) =>
    (await client.get('/api/auth/session')).json<{ user: { id: string } }>().user.id;

  beforeAll(async () => {
    t = await createTestApp(dialect, { env: { RATE_LIMIT_LOGIN_PER_MINUTE: '100' } });
    alice = await signedIn(t.app, 'alice');
    bob = await signedIn(t.app, 'bob');
    mallory = await signedIn(t.app, 'mallory');
    for (const [name, client] of Object.entries({ alice, bob, mallory }))
      ids[name] = await userId(client);
    const now = Date.now();
    await t.storage.db
      .insertInto('rooms')
      .values([
        { id: room, kind: 'group', name: null, created_at: now, last_seq: 0 },
        { id: otherRoom, kind: 'group', name: null, created_at: now, last_seq: 0 },
      ])
      .execute();
    const member = (roomId: string, user: string) => ({
      room_id: roomId,
      user_id: user,
      role: 'member' as const,
      joined_at: now,
    });
    await t.storage.db
      .insertInto('room_members')
      .values([
        member(room, ids.alice ?? ''),
        member(room, ids.bob ?? ''),
        member(otherRoom, ids.alice ?? ''),
        member(otherRoom, ids.mallory ?? ''),
      ])
      .execute();
  });
  afterAll(() => t.close());

  /** A PUT as a browser page of ours sends it: session, Origin, CSRF token. */
  async function upload(
    client: TestClient,
    roomId: string,
    body: Buffer,
    options: { csrf?: boolean; contentType?: string } = {},
  ): Promise<LightMyRequestResponse> {
    const csrf = await csrfFor(t.app);
    return t.app.inject({
      method: 'PUT',
      url: blobPath(roomId),
      headers: {
        cookie: `__Host-sc_session=${client.cookie('__Host-sc_session')}; ${csrf.cookie}`,
        origin: ORIGIN,
        ...(options.csrf === false ? {} : { 'x-csrf-token': csrf.token }),
        'content-type': options.contentType ?? 'application/octet-stream',
      },
      payload: body,
    });
  }
  const download = (client: TestClient, roomId: string, id: string) =>
    client.get(blobPath(roomId, id));
  const stored = async () =>
    Number(
      (
        await t.storage.db
          .selectFrom('blobs')
          .select((eb) => eb.fn.countAll<string | number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('stores a member’s upload and serves it to the members of that room only', async () => {
    const bytes = randomBytes(300 * 1024); // bigger than a frame
    const put = await upload(alice, room, bytes);
    expect(put.statusCode).toBe(201);
    const { id, size, expiresAt } = put.json<{ id: string; size: number; expiresAt: number }>();
    expect(size).toBe(bytes.length);
    expect(expiresAt).toBeGreaterThan(Date.now() + (Limits.BLOB_TTL_SECONDS - 60) * 1000);

    const got = await download(bob, room, id);
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-type']).toBe('application/octet-stream');
    expect(got.headers['cache-control']).toBe('private, no-store');
    expect(Buffer.compare(got.rawPayload, bytes)).toBe(0);

    // Not a member, a missing id, the wrong room, a room that does not exist: the same 404.
    const answers = [
      await download(mallory, room, id),
      await download(bob, room, newId()),
      await download(alice, otherRoom, id),
      await download(bob, newId(), id),
    ];
    for (const answer of answers) {
      expect(answer.statusCode).toBe(404);
      expect(answer.json()).toEqual(answers[0]?.json());
    }
    expect(answers[0]?.json()).toMatchObject({ code: 'CHAT_ERR_NOT_FOUND' });
    // Signed out: not signed in.
    expect((await t.app.inject({ url: blobPath(room, id) })).statusCode).toBe(401);
  });

  it('refuses an upload into a room you are not in exactly like a missing room, storing nothing', async () => {
    const before = await stored();
    const forbidden = await upload(mallory, room, Buffer.from('x'));
    const missing = await upload(mallory, newId(), Buffer.from('x'));
    expect(forbidden.statusCode).toBe(404);
    expect(forbidden.json()).toEqual(missing.json());
    expect(await stored()).toBe(before);
  });

  it('refuses a blob over the size limit with 413 and a clear message, storing nothing', async () => {
    const before = await stored();
    const tooBig = await upload(alice, room, Buffer.alloc(Limits.BLOB_MAX_BYTES + 1));
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json()).toEqual({
      code: 'CHAT_ERR_PAYLOAD_TOO_LARGE',
      message: 'A blob may be at most 8 MiB.',
    });
    // Exactly the limit is fine; so it is the size, not the route, that was refused.
    const atLimit = await upload(alice, room, Buffer.alloc(Limits.BLOB_MAX_BYTES, 1));
    expect(atLimit.statusCode).toBe(201);
    expect(await stored()).toBe(before + 1);
    // Empty, or not octet-stream: refused too.
    expect((await upload(alice, room, Buffer.alloc(0))).statusCode).toBe(400);
    const json = await upload(alice, room, Buffer.from('{}'), { contentType: 'application/json' });
    expect(json.statusCode).toBe(415);
    expect(await stored()).toBe(before + 1);
  });

  it('requires the CSRF token on PUT', async () => {
    const before = await stored();
    const forged = await upload(alice, room, Buffer.from('forged'), { csrf: false });
    expect(forged.statusCode).toBe(403);
    expect(forged.json()).toMatchObject({ code: 'CHAT_ERR_CSRF' });
    const crossSite = await t.app.inject({
      method: 'PUT',
      url: blobPath(room),
      headers: {
        cookie: `__Host-sc_session=${alice.cookie('__Host-sc_session')}`,
        origin: 'https://evil.example',
        'content-type': 'application/octet-stream',
      },
      payload: Buffer.from('forged'),
    });
    expect(crossSite.statusCode).toBe(403);
    expect(await stored()).toBe(before);
  });

  it('keeps each user within their quota, counting only unexpired blobs, and sweeps', async () => {
    let now = Date.now();
    const blobs = createBlobs({
      db: t.storage.db,
      dialect: t.storage.dialect,
      now: () => now,
      quotaBytes: 1000,
      ttlSeconds: 60,
    });
    const bob_ = ids.bob ?? '';
    await blobs.put(bob_, room, new Uint8Array(600));
    // Two racing uploads cannot both fit in what is left.
    const racing = await Promise.allSettled([
      blobs.put(bob_, room, new Uint8Array(300)),
      blobs.put(bob_, room, new Uint8Array(300)),
    ]);
    expect(racing.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = racing.find((r) => r.status === 'rejected');
    expect(refused?.status === 'rejected' && refused.reason).toMatchObject({
      code: 'CHAT_ERR_BLOB_QUOTA',
      status: 413,
    });
    // Another user's quota is their own.
    await blobs.put(ids.mallory ?? '', otherRoom, new Uint8Array(900));
    // Once they expire, they count no more and are swept (and no longer served).
    const kept = await blobs.put(ids.mallory ?? '', otherRoom, new Uint8Array(1));
    now += 61_000;
    await expect(blobs.get(ids.alice ?? '', otherRoom, kept.id)).rejects.toMatchObject({
      code: 'CHAT_ERR_NOT_FOUND',
    });
    await blobs.put(bob_, room, new Uint8Array(1000));
    expect(await blobs.sweep()).toBeGreaterThanOrEqual(4);
    const left = await t.storage.db
      .selectFrom('blobs')
      .select('size')
      .where('expires_at', '<=', now)
      .execute();
    expect(left).toHaveLength(0);
  });

  it('answers the quota over HTTP with its own code', async () => {
    // Fill alice's real quota with blobs at the size limit (stored directly: faster).
    const at = Date.now();
    const full = Math.ceil(Limits.BLOB_BYTES_PER_USER_MAX / Limits.BLOB_MAX_BYTES);
    await t.storage.db
      .insertInto('blobs')
      .values(
        Array.from({ length: full }, () => ({
          id: newId(),
          room_id: room,
          user_id: ids.alice ?? '',
          size: Limits.BLOB_MAX_BYTES,
          created_at: at,
          expires_at: at + 60_000,
          data: new Uint8Array(1),
        })),
      )
      .execute();
    const over = await upload(alice, room, Buffer.from('one byte too many'));
    expect(over.statusCode).toBe(413);
    expect(over.json()).toMatchObject({ code: 'CHAT_ERR_BLOB_QUOTA' });
  });

  it('limits how often one user uploads, with retryAfter', async () => {
    const statuses: number[] = [];
    let limited: LightMyRequestResponse | undefined;
    for (let i = 0; i < Limits.BLOB_UPLOADS_PER_MINUTE_PER_USER + 5 && !limited; i += 1) {
      const response = await upload(bob, room, Buffer.from([i]));
      statuses.push(response.statusCode);
      if (response.statusCode === 429) limited = response;
    }
    expect(limited?.json()).toMatchObject({ code: 'CHAT_ERR_RATE_LIMITED' });
    expect(limited?.json<{ retryAfter: number }>().retryAfter).toBeGreaterThanOrEqual(1);
    // The bucket refills by one a second meanwhile.
    expect(statuses.filter((s) => s !== 429).length).toBeLessThanOrEqual(
      Limits.BLOB_UPLOADS_PER_MINUTE_PER_USER + 5,
    );
    // Someone else is not affected.
    expect((await upload(alice, otherRoom, Buffer.from('x'))).statusCode).not.toBe(429);
  });
});
