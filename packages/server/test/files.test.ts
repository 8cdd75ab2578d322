/**
 * Files over HTTP: upload and download by members, the same 404 for everyone else, the size
 * limit, the type allow-list, the quota (each refusal storing nothing), a message keeping its
 * file and its delete deleting it, and unreferenced files collected; on SQLite and PostgreSQL,
 * with the ciphertext in DATA_DIR and in a real S3-compatible server (s3rver).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { filePath, Limits, sealedFileBytes } from '@securechat/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceId, userId } from '../../../test-support/ids.js';
import { buildApp } from '../src/app.js';
import { newId } from '../src/domain/crypto.js';
import type { Sender } from '../src/domain/delivery.js';
import { openStorage } from '../src/storage/db.js';
import { ORIGIN, signedIn, type TestClient } from './support/client.js';
import { createTestApp, describeEachDialect, type TestApp } from './support/harness.js';
import { csrfFor } from './support/platform.js';
import { startTestS3, type TestS3 } from './support/s3.js';

/** Small limits, so the tests move little data: 64 KB files, a quota of about four. */
const MAX = 64 * 1024;
const QUOTA = 4 * sealedFileBytes(MAX) + 1000;

for (const backend of ['folder', 's3'] as const) {
  describeEachDialect(`files in ${backend === 's3' ? 'S3' : 'DATA_DIR'}`, (dialect) => {
    let t: TestApp;
    let s3: TestS3 | null = null;
    let clock = Date.now();
    let alice: TestClient;
    let bob: TestClient;
    let carol: TestClient;
    let mallory: TestClient;
    const who: Record<string, Sender> = {};
    const room = newId();
    const otherRoom = newId();

    const session = async (client: TestClient) =>
      (await client.get('/api/auth/session')).json<{
        user: { id: string };
        device: { id: string };
      }>();

    beforeAll(async () => {
      if (backend === 's3') s3 = await startTestS3();
      t = await createTestApp(dialect, {
        env: {
          RATE_LIMIT_LOGIN_PER_MINUTE: '100',
          FILE_MAX_BYTES: String(MAX),
          FILE_QUOTA_BYTES: String(QUOTA),
          ...(s3?.env ?? {}),
        },
        now: () => clock,
      });
      alice = await signedIn(t.app, 'alice');
      bob = await signedIn(t.app, 'bob');
      carol = await signedIn(t.app, 'carol');
      mallory = await signedIn(t.app, 'mallory');
      for (const [name, client] of Object.entries({ alice, bob, carol, mallory })) {
        const { user, device } = await session(client);
        who[name] = { userId: userId(user.id), deviceId: deviceId(device.id) };
      }
      const now = Date.now();
      await t.storage.db
        .insertInto('rooms')
        .values([
          { id: room, kind: 'group', name: null, created_at: now, last_seq: 0 },
          { id: otherRoom, kind: 'group', name: null, created_at: now, last_seq: 0 },
        ])
        .execute();
      const member = (roomId: string, user: Sender | undefined) => ({
        room_id: roomId,
        user_id: user?.userId ?? '',
        role: 'member' as const,
        joined_at: now,
      });
      await t.storage.db
        .insertInto('room_members')
        .values([
          member(room, who.alice),
          member(room, who.bob),
          member(room, who.carol),
          member(otherRoom, who.alice),
          member(otherRoom, who.mallory),
        ])
        .execute();
    });
    afterAll(async () => {
      await t.close();
      await s3?.close();
    });

    /** A PUT as a browser page of ours sends it: session, Origin, CSRF token. */
    async function upload(
      client: TestClient,
      roomId: string,
      body: Buffer,
      options: { type?: string | null; csrf?: boolean } = {},
    ): Promise<LightMyRequestResponse> {
      const csrf = await csrfFor(t.app);
      const type = options.type === undefined ? 'pdf' : options.type;
      return t.app.inject({
        method: 'PUT',
        url: `${filePath(roomId)}${type === null ? '' : `?type=${type}`}`,
        headers: {
          cookie: `__Host-sc_session=${client.cookie('__Host-sc_session')}; ${csrf.cookie}`,
          origin: ORIGIN,
          ...(options.csrf === false ? {} : { 'x-csrf-token': csrf.token }),
          'content-type': 'application/octet-stream',
        },
        payload: body,
      });
    }
    const download = (client: TestClient, roomId: string, id: string) =>
      client.get(filePath(roomId, id));

    const rows = async () =>
      Number(
        (
          await t.storage.db
            .selectFrom('files')
            .select((eb) => eb.fn.countAll<string | number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    /** The objects in the store: files in DATA_DIR/files, or keys in the bucket. */
    async function objects(): Promise<string[]> {
      if (!s3) {
        const folder = join(t.config.dataDir, 'files');
        return existsSync(folder) ? readdirSync(folder) : [];
      }
      const client = new S3Client({
        endpoint: s3.env.S3_ENDPOINT ?? '',
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.env.S3_BUCKET }));
      client.destroy();
      return (listed.Contents ?? []).map((o) => o.Key ?? '');
    }
    const stored = async () => ({ rows: await rows(), objects: (await objects()).length });

    async function uploaded(client: TestClient, bytes = randomBytes(1000)): Promise<string> {
      const put = await upload(client, room, bytes);
      expect(put.statusCode).toBe(201);
      return put.json<{ id: string }>().id;
    }

    /** A message in `room` carrying `file`, sent as the gateway would. */
    const sendWithFile = (sender: Sender | undefined, file: string, roomId = room) =>
      t.app.services.delivery.send(sender ?? { userId: userId(''), deviceId: deviceId('') }, {
        room: roomId,
        cmid: `c-${newId()}`,
        kind: 'message',
        payload: new Uint8Array([1, 2, 3]),
        file,
      });

    it('stores a member’s ciphertext and serves it to the members of that room only', async () => {
      const bytes = randomBytes(sealedFileBytes(MAX)); // the largest allowed
      const put = await upload(alice, room, bytes);
      expect(put.statusCode).toBe(201);
      const { id, size } = put.json<{ id: string; size: number }>();
      expect(size).toBe(bytes.length);
      expect(await objects()).toContain(id);

      const got = await download(bob, room, id);
      expect(got.statusCode).toBe(200);
      expect(got.headers['content-type']).toBe('application/octet-stream');
      expect(got.headers['cache-control']).toBe('private, no-store');
      expect(got.headers['content-disposition']).toBe('attachment');
      expect(Buffer.compare(got.rawPayload, bytes)).toBe(0);

      // A non-member who knows the id, a missing id, the wrong room, a room that does not
      // exist: the same 404.
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
      expect((await t.app.inject({ url: filePath(room, id) })).statusCode).toBe(401);
    });

    it('refuses a file over the size limit with a clear message, storing nothing', async () => {
      const before = await stored();
      const put = await upload(alice, room, randomBytes(sealedFileBytes(MAX) + 1));
      expect(put.statusCode).toBe(413);
      expect(put.json()).toEqual({
        code: 'CHAT_ERR_PAYLOAD_TOO_LARGE',
        message: 'This file is too large: files may be at most 64 KB.',
      });
      expect(await stored()).toEqual(before);
    });

    it('refuses a type off the allow-list (and none at all) with a clear message, storing nothing', async () => {
      const before = await stored();
      for (const type of ['exe', 'svg', 'html']) {
        const put = await upload(alice, room, randomBytes(100), { type });
        expect(put.statusCode).toBe(415);
        expect(put.json()).toEqual({
          code: 'CHAT_ERR_FILE_TYPE',
          message: `Files of type .${type} cannot be sent here. Allowed: png, jpg, jpeg, gif, pdf, txt, doc, docx, zip.`,
        });
      }
      const untyped = await upload(alice, room, randomBytes(100), { type: null });
      expect(untyped.json<{ code: string }>().code).toBe('CHAT_ERR_FILE_TYPE');
      expect(await stored()).toEqual(before);
    });

    it('refuses uploads into a room you are not in like a missing room, and without CSRF', async () => {
      const before = await stored();
      const forbidden = await upload(mallory, room, randomBytes(10));
      const missing = await upload(mallory, newId(), randomBytes(10));
      expect(forbidden.statusCode).toBe(404);
      expect(forbidden.json()).toEqual(missing.json());
      expect((await upload(alice, room, randomBytes(10), { csrf: false })).statusCode).toBe(403);
      expect(await stored()).toEqual(before);
    });

    it('keeps each user within their quota, storing nothing past it', async () => {
      const full = randomBytes(sealedFileBytes(MAX));
      for (let i = 0; i < 4; i++) expect((await upload(carol, room, full)).statusCode).toBe(201);
      const before = await stored();
      const over = await upload(carol, room, full);
      expect(over.statusCode).toBe(413);
      const body = over.json<{ code: string; message: string }>();
      expect(body.code).toBe('CHAT_ERR_FILE_QUOTA');
      expect(body.message).toContain('You have stored too many files');
      expect(await stored()).toEqual(before);
      // Someone else's quota is their own.
      expect((await upload(bob, room, full)).statusCode).toBe(201);
    });

    it('keeps a file its message names, and deletes it with the message', async () => {
      const id = await uploaded(alice);
      const accepted = await sendWithFile(who.alice, id);
      // Long after an unreferenced file would have been collected, it is still there.
      clock += (Limits.FILE_UNREFERENCED_SECONDS + 60) * 1000;
      await t.app.services.files.collect();
      expect((await download(bob, room, id)).statusCode).toBe(200);

      const actor = who.alice ?? { userId: userId(''), deviceId: deviceId('') };
      const { code } = await t.app.services.delivery.deleteCode(actor, room, accepted.event.seq);
      await t.app.services.delivery.delete(actor, room, accepted.event.seq, code);
      // Gone for readers at once; its object goes with the next collection.
      expect((await download(bob, room, id)).statusCode).toBe(404);
      expect(await t.app.services.files.collect()).toBeGreaterThanOrEqual(1);
      expect(await objects()).not.toContain(id);
      const row = await t.storage.db
        .selectFrom('files')
        .select('id')
        .where('id', '=', id)
        .executeTakeFirst();
      expect(row).toBeUndefined();
    });

    it('refuses a message naming a file that is not the sender’s, not this room’s, or taken', async () => {
      const id = await uploaded(alice);
      const refused = async (sending: Promise<unknown>) =>
        expect(sending).rejects.toMatchObject({ code: 'CHAT_ERR_VALIDATION', field: 'file' });
      await refused(sendWithFile(who.bob, id)); // someone else's upload
      await refused(sendWithFile(who.alice, id, otherRoom)); // another room's
      await refused(sendWithFile(who.alice, newId())); // none at all
      await sendWithFile(who.alice, id);
      await refused(sendWithFile(who.alice, id)); // already carried by a message
    });

    it.runIf(backend === 's3' && dialect === 'postgres')(
      'serves a file uploaded on one node from another sharing the database and the bucket',
      async () => {
        const id = await uploaded(alice, randomBytes(2000));
        // A second node: the same PostgreSQL, the same bucket, secrets, but a DATA_DIR of its own.
        const dataDir = mkdtempSync(join(tmpdir(), 'securechat-node2-'));
        const config = { ...t.config, dataDir };
        const storage = openStorage({ dataDir, databaseUrl: config.databaseUrl });
        const other = await buildApp({
          config,
          secrets: t.secrets,
          storage,
          vault: t.vault,
          now: () => clock,
        });
        try {
          await other.ready();
          const got = await other.inject({
            url: filePath(room, id),
            headers: { cookie: `__Host-sc_session=${bob.cookie('__Host-sc_session')}` },
          });
          expect(got.statusCode).toBe(200);
          const mine = await download(bob, room, id);
          expect(Buffer.compare(got.rawPayload, mine.rawPayload)).toBe(0);
          expect(existsSync(join(dataDir, 'files'))).toBe(false);
        } finally {
          await other.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    );

    it('limits how often one user uploads, with retryAfter, storing nothing past it', async () => {
      const dave = await signedIn(t.app, `dave${backend}`);
      const { user } = await session(dave);
      await t.storage.db
        .insertInto('room_members')
        .values({ room_id: room, user_id: user.id, role: 'member', joined_at: Date.now() })
        .execute();
      for (let i = 0; i < Limits.FILE_UPLOADS_PER_MINUTE_PER_USER; i++)
        expect((await upload(dave, room, randomBytes(10))).statusCode).toBe(201);
      const before = await stored();
      const limited = await upload(dave, room, randomBytes(10));
      expect(limited.statusCode).toBe(429);
      expect(limited.json<{ code: string; retryAfter: number }>()).toMatchObject({
        code: 'CHAT_ERR_RATE_LIMITED',
      });
      expect(await stored()).toEqual(before);
    });

    it('collects a file no message names in time, and a deleted room’s files', async () => {
      const lonely = await uploaded(bob);
      const inOther = await upload(alice, otherRoom, randomBytes(500));
      const otherId = inOther.json<{ id: string }>().id;
      await sendWithFile(who.alice, otherId, otherRoom);
      clock += (Limits.FILE_UNREFERENCED_SECONDS - 60) * 1000;
      await t.app.services.files.collect();
      expect(await objects()).toContain(lonely);
      clock += 120 * 1000;
      await t.app.services.files.collect();
      expect(await objects()).not.toContain(lonely);
      expect((await download(bob, room, lonely)).statusCode).toBe(404);
      // A message must name it before then: too late now.
      await expect(sendWithFile(who.bob, lonely)).rejects.toMatchObject({ field: 'file' });

      await t.storage.db.deleteFrom('room_members').where('room_id', '=', otherRoom).execute();
      await t.storage.db.deleteFrom('events').where('room_id', '=', otherRoom).execute();
      await t.storage.db.deleteFrom('rooms').where('id', '=', otherRoom).execute();
      expect(await objects()).toContain(otherId);
      await t.app.services.files.collect();
      expect(await objects()).not.toContain(otherId);
    });
  });
}

describe('sealedFileBytes', () => {
  it('adds one tag per chunk, and one for an empty file', () => {
    expect(sealedFileBytes(0)).toBe(16);
    expect(sealedFileBytes(1)).toBe(17);
    expect(sealedFileBytes(64 * 1024)).toBe(64 * 1024 + 16);
    expect(sealedFileBytes(64 * 1024 + 1)).toBe(64 * 1024 + 1 + 32);
  });
});
