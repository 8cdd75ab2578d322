/**
 * The sdk's blob transport against the real server listening on a port, with a fetch that
 * keeps cookies and sends Origin the way a browser does.
 */
import { randomBytes } from 'node:crypto';
import { Limits } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../server/test/support/harness.js';
import { ORIGIN, signedIn } from '../../server/test/support/client.js';
import { newId } from '../../server/src/domain/crypto.js';
import { freePort } from '../../../test-support/net.js';
import { BlobTransport } from '../src/transport/blobs.js';
import { HttpTransport } from '../src/transport/http.js';

/** A fetch like a browser's on our page: it keeps cookies and sends our Origin. */
function browserFetch(origin: string, session: string): typeof fetch {
  const cookies = new Map([['__Host-sc_session', session]]);
  return async (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    if ((init.method ?? 'GET') !== 'GET') headers.set('origin', origin);
    const response = await fetch(input, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  };
}

describe('sdk blobs', () => {
  let t: TestApp;
  let origin: string;
  let transport: (who: 'alice' | 'mallory') => BlobTransport;
  const room = newId();

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    t = await createTestApp('sqlite', {
      env: { RATE_LIMIT_LOGIN_PER_MINUTE: '100' },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
    const clients = {
      alice: await signedIn(t.app, 'alice'),
      mallory: await signedIn(t.app, 'mallory'),
    };
    const aliceId = (await clients.alice.get('/api/auth/session')).json<{ user: { id: string } }>()
      .user.id;
    const now = Date.now();
    await t.storage.db
      .insertInto('rooms')
      .values({ id: room, kind: 'group', name: null, created_at: now, last_seq: 0 })
      .execute();
    await t.storage.db
      .insertInto('room_members')
      .values({ room_id: room, user_id: aliceId, role: 'owner', joined_at: now })
      .execute();
    transport = (who) => {
      // The page is at PUBLIC_ORIGIN; the server listens here.
      const fetch = browserFetch(ORIGIN, clients[who].cookie('__Host-sc_session') ?? '');
      const http = new HttpTransport({ baseUrl: origin, fetch, cookies: 'browser' });
      return new BlobTransport(http, { baseUrl: origin, fetch });
    };
  });
  afterAll(() => t.close());

  it('uploads and downloads a blob bigger than a frame', async () => {
    const alice = transport('alice');
    const bytes = new Uint8Array(randomBytes(Limits.FRAME_MAX_BYTES * 2));
    const { id, size } = await alice.uploadBlob(room, bytes);
    expect(size).toBe(bytes.byteLength);
    expect(await alice.downloadBlob(room, id)).toEqual(bytes);
    // Someone else's room: not found, as if it did not exist.
    const mallory = transport('mallory');
    await expect(mallory.downloadBlob(room, id)).rejects.toMatchObject({
      code: 'CHAT_ERR_NOT_FOUND',
    });
    await expect(mallory.uploadBlob(room, bytes)).rejects.toMatchObject({
      code: 'CHAT_ERR_NOT_FOUND',
    });
  });

  it('refuses a blob over the limit before sending it', async () => {
    let sent = 0;
    const counting: typeof fetch = (input, init) => {
      sent += 1;
      return fetch(input, init);
    };
    const http = new HttpTransport({ baseUrl: origin, fetch: counting, cookies: 'browser' });
    const blobs = new BlobTransport(http, { baseUrl: origin, fetch: counting });
    await expect(
      blobs.uploadBlob(room, new Uint8Array(Limits.BLOB_MAX_BYTES + 1)),
    ).rejects.toMatchObject({ code: 'CHAT_ERR_PAYLOAD_TOO_LARGE' });
    expect(sent).toBe(0);
  });
});
