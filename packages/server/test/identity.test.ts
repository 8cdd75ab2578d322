/**
 * Identities: one identity key per user, set once (at registration or later), with its
 * client-encrypted backup, replaced only with a password change; and the identity-keys
 * directory over a real WebSocket. On SQLite and PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { Limits, type ServerFrame } from '@securechat/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../../test-support/net.js';
import { userId } from '../../../test-support/ids.js';
import { PASSWORD, signedIn, TestClient } from './support/client.js';
import { createTestApp, describeEachDialect, type TestApp } from './support/harness.js';
import { Peer, type Request } from './support/peer.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const newKey = () => b64(randomBytes(Limits.IDENTITY_KEY_BYTES));
const newBackup = (size = 200) => b64(randomBytes(size));
const NEW_PASSWORD = 'a brand new long passphrase';

describeEachDialect('identities', (dialect) => {
  let t: TestApp;
  let url: string;
  const origin = 'http://localhost:3000';

  beforeAll(async () => {
    const port = await freePort();
    url = `ws://127.0.0.1:${port}/api/ws`;
    t = await createTestApp(dialect, {
      env: { RATE_LIMIT_LOGIN_PER_MINUTE: '1000', RATE_LIMIT_REGISTRATIONS_PER_HOUR: '1000' },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  const identityOf = async (client: TestClient) => {
    const response = await client.get('/api/account/identity');
    expect(response.statusCode).toBe(200);
    return response.json<{ key: string | null; backup: string | null }>();
  };
  const idOf = async (client: TestClient) =>
    (await client.get('/api/auth/session')).json<{ user: { id: string } }>().user.id;
  const audited = async (id: string) =>
    (
      await t.storage.db
        .selectFrom('audit_log')
        .select('detail')
        .where('event', '=', 'identity.set')
        .where('user_id', '=', id)
        .execute()
    ).map((row) => JSON.parse(row.detail) as unknown);

  it('stores an identity given at registration with the account, and reads it back', async () => {
    const identity = { key: newKey(), backup: newBackup() };
    const client = new TestClient(t.app);
    const registered = await client.register('ivy', PASSWORD, {}, { identity });
    expect(registered.statusCode).toBe(201);
    expect(await identityOf(client)).toEqual(identity);
    expect(await audited(await idOf(client))).toEqual([{ registration: true }]);
    // Stored as bytes, not as the text of the wire.
    const row = await t.storage.db
      .selectFrom('users')
      .select(['identity_key', 'identity_set_at'])
      .where('username_index', '=', t.vault.index('username', 'ivy'))
      .executeTakeFirstOrThrow();
    expect(b64(new Uint8Array(row.identity_key ?? new Uint8Array()))).toBe(identity.key);
    expect(row.identity_set_at).not.toBeNull();
    // Anonymous: not signed in.
    expect((await new TestClient(t.app).get('/api/account/identity')).statusCode).toBe(401);
  });

  it('sets an identity once: the same key again is a no-op, another key is a 409', async () => {
    const client = await signedIn(t.app, 'jack');
    expect(await identityOf(client)).toEqual({ key: null, backup: null });
    const identity = { key: newKey(), backup: newBackup() };
    const set = await client.send('PUT', '/api/account/identity', identity);
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual(identity);
    expect(await identityOf(client)).toEqual(identity);

    // The same key again: 200, and nothing replaced (not even the backup).
    const again = await client.send('PUT', '/api/account/identity', {
      key: identity.key,
      backup: newBackup(),
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(identity);

    // Another key: refused, and nothing changed.
    const other = await client.send('PUT', '/api/account/identity', {
      key: newKey(),
      backup: newBackup(),
    });
    expect(other.statusCode).toBe(409);
    expect(other.json()).toMatchObject({ code: 'CHAT_ERR_CONFLICT', field: 'key' });
    expect(await identityOf(client)).toEqual(identity);
    expect(await audited(await idOf(client))).toEqual([{}]);

    // Another account cannot claim this key as its own, at registration or later.
    const copycat = await signedIn(t.app, 'copycat');
    const copied = await copycat.send('PUT', '/api/account/identity', {
      key: identity.key,
      backup: newBackup(),
    });
    expect(copied.statusCode).toBe(409);
    expect(copied.json()).toMatchObject({ code: 'CHAT_ERR_CONFLICT', field: 'key' });
    const registering = await new TestClient(t.app).register(
      'copycat2',
      PASSWORD,
      {},
      { identity: { key: identity.key, backup: newBackup() } },
    );
    expect(registering.statusCode).toBe(409);
    expect(registering.json()).toMatchObject({ code: 'CHAT_ERR_CONFLICT', field: 'identity.key' });
    const none = await t.storage.db
      .selectFrom('users')
      .select('id')
      .where('username_index', '=', t.vault.index('username', 'copycat2'))
      .execute();
    expect(none).toEqual([]);
  });

  it('gives one of two racing first identities the account, the other a 409', async () => {
    const client = await signedIn(t.app, 'racer');
    const answers = await Promise.all(
      [newKey(), newKey()].map((key) =>
        client.send('PUT', '/api/account/identity', { key, backup: newBackup() }),
      ),
    );
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
  });

  it('needs the CSRF token to set an identity', async () => {
    const client = await signedIn(t.app, 'forged');
    const forged = await t.app.inject({
      method: 'PUT',
      url: '/api/account/identity',
      headers: {
        cookie: `__Host-sc_session=${client.cookie('__Host-sc_session')}`,
        origin,
        'content-type': 'application/json',
      },
      payload: JSON.stringify({ key: newKey(), backup: newBackup() }),
    });
    expect(forged.statusCode).toBe(403);
    expect(forged.json()).toMatchObject({ code: 'CHAT_ERR_CSRF' });
    expect(await identityOf(client)).toEqual({ key: null, backup: null });
  });

  it('replaces the backup with a password change, in its transaction, and only then', async () => {
    const identity = { key: newKey(), backup: newBackup() };
    const client = new TestClient(t.app);
    await client.register('kim', PASSWORD, {}, { identity });
    const rewrapped = newBackup(300);
    const changed = await client.changePassword(PASSWORD, NEW_PASSWORD, {
      identityBackup: rewrapped,
    });
    expect(changed.statusCode).toBe(204);
    expect(await identityOf(client)).toEqual({ key: identity.key, backup: rewrapped });

    // A password change without one leaves the backup as it is.
    expect((await client.changePassword(NEW_PASSWORD, PASSWORD)).statusCode).toBe(204);
    expect(await identityOf(client)).toEqual({ key: identity.key, backup: rewrapped });

    // With a bad backup the whole change is refused: the old password still works.
    const refused = await client.changePassword(PASSWORD, NEW_PASSWORD, {
      identityBackup: b64(new Uint8Array(Limits.IDENTITY_BACKUP_MAX_BYTES + 1)),
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'CHAT_ERR_VALIDATION', field: 'identityBackup' });
    expect((await new TestClient(t.app).login('kim', PASSWORD)).stage).toBe('finish');

    // An account without an identity has no backup to replace: refused, password unchanged.
    const bare = await signedIn(t.app, 'bare');
    const orphan = await bare.changePassword(PASSWORD, NEW_PASSWORD, {
      identityBackup: newBackup(),
    });
    expect(orphan.statusCode).toBe(400);
    expect(orphan.json()).toMatchObject({ code: 'CHAT_ERR_VALIDATION', field: 'identityBackup' });
    expect((await new TestClient(t.app).login('bare', PASSWORD)).stage).toBe('finish');
    expect(await identityOf(bare)).toEqual({ key: null, backup: null });
  });

  it('refuses keys and backups of the wrong size, naming the field, storing nothing', async () => {
    const client = await signedIn(t.app, 'sizer');
    const put = (body: object) => client.send('PUT', '/api/account/identity', body);
    const cases: [object, string][] = [
      [{ key: b64(randomBytes(31)), backup: newBackup() }, 'key'],
      [{ key: b64(randomBytes(33)), backup: newBackup() }, 'key'],
      [{ key: '', backup: newBackup() }, 'key'],
      // 43 characters, but not a canonical encoding of 32 bytes.
      [{ key: `${newKey().slice(0, 42)}_`, backup: newBackup() }, 'key'],
      [{ key: newKey(), backup: '' }, 'backup'],
      [{ key: newKey(), backup: b64(randomBytes(Limits.IDENTITY_BACKUP_MAX_BYTES + 1)) }, 'backup'],
      [{ key: newKey(), backup: 'not base64url!' }, 'backup'],
      [{ key: newKey() }, 'backup'],
      [{ key: newKey(), backup: newBackup(), extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const refused = await put(body);
      expect(refused.statusCode, JSON.stringify(body)).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'CHAT_ERR_VALIDATION', field });
    }
    expect(await identityOf(client)).toEqual({ key: null, backup: null });
    // The largest backup is fine.
    const largest = {
      key: newKey(),
      backup: b64(randomBytes(Limits.IDENTITY_BACKUP_MAX_BYTES)),
    };
    expect((await put(largest)).statusCode).toBe(200);

    // At registration too: refused before an account exists.
    const refused = await new TestClient(t.app).register(
      'sizer2',
      PASSWORD,
      {},
      { identity: { key: b64(randomBytes(16)), backup: newBackup() } },
    );
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'CHAT_ERR_VALIDATION', field: 'identity.key' });
    expect(
      await t.storage.db
        .selectFrom('users')
        .select('id')
        .where('username_index', '=', t.vault.index('username', 'sizer2'))
        .execute(),
    ).toEqual([]);
  });

  it('looks up identity keys for anyone signed in: unknown users and users without one alike', async () => {
    const withKey = { key: newKey(), backup: newBackup() };
    const owner = new TestClient(t.app);
    await owner.register('lookedup', PASSWORD, {}, { identity: withKey });
    const keyless = await signedIn(t.app, 'keyless');
    const asker = await signedIn(t.app, 'asker');
    const [ownerId, keylessId] = [await idOf(owner), await idOf(keyless)];
    const unknown = 'UnknownUnknownUnknown0';
    const peer = await Peer.open(url, {
      origin,
      cookie: `__Host-sc_session=${asker.cookie('__Host-sc_session')}`,
    });
    try {
      const users = [ownerId, unknown, keylessId, ownerId].map(userId);
      const answer = await peer.request<'identity-keys'>({ t: 'identity-keys', users });
      if (answer.t !== 'identity-keys') throw new Error(answer.message);
      // One entry per user asked for, in order, duplicates once.
      expect(answer.keys.map((k) => k.user)).toEqual([ownerId, unknown, keylessId]);
      expect(b64(answer.keys[0]?.key ?? new Uint8Array())).toBe(withKey.key);
      expect(answer.keys[1]).toEqual({ user: unknown, key: null });
      expect(answer.keys[2]).toEqual({ user: keylessId, key: null });

      // The request limit: at most IDENTITY_KEYS_PER_REQUEST_MAX users, at least one.
      const most = Array.from({ length: Limits.IDENTITY_KEYS_PER_REQUEST_MAX }, (_, i) =>
        userId(`user${String(i).padStart(18, '0')}`),
      );
      const full = await peer.request<'identity-keys'>({ t: 'identity-keys', users: most });
      expect(full.t === 'identity-keys' && full.keys).toHaveLength(most.length);
      for (const users of [[...most, userId(ownerId)], []]) {
        expect(await peer.request({ t: 'identity-keys', users })).toMatchObject({
          t: 'error',
          code: 'CHAT_ERR_FRAME_MALFORMED',
        });
      }
    } finally {
      peer.close();
    }
  });

  it('charges lookups to the keys budget: a flood is refused with retryAfter', async () => {
    const flooder = await signedIn(t.app, 'flooder');
    const peer = await Peer.open(url, {
      origin,
      cookie: `__Host-sc_session=${flooder.cookie('__Host-sc_session')}`,
    });
    try {
      const frame: Request = { t: 'identity-keys', users: [userId(await idOf(flooder))] };
      const count = Limits.KEY_REQUESTS_BURST_PER_USER + 20;
      const replies: ServerFrame[] = await Promise.all(
        Array.from({ length: count }, () => peer.request(frame)),
      );
      const refused = replies.filter((r) => r.t === 'error');
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.length).toBeLessThan(count);
      for (const r of refused) {
        expect(r).toMatchObject({ code: 'CHAT_ERR_RATE_LIMITED' });
        expect(r.t === 'error' && r.retryAfter).toBeGreaterThanOrEqual(1);
      }
    } finally {
      peer.close();
    }
  });
});
