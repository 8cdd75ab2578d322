/**
 * Sessions, devices and password change over HTTP, with a clock the tests move.
 */
import { createHash } from 'node:crypto';
import { Limits } from '@securechat/protocol';
import * as opaque from '@serenity-kit/opaque';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PASSWORD, signedIn, TestClient } from './support/client.js';
import { createTestApp, describeEachDialect, type TestApp } from './support/harness.js';

const DAY = 24 * 3600 * 1000;
const SAFARI =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
const NEW_PASSWORD = 'a brand new long passphrase';

interface Device {
  id: string;
  name: string;
  current: boolean;
}

describeEachDialect('sessions and devices', (dialect) => {
  let t: TestApp;
  let clock = Date.now();
  beforeAll(async () => {
    t = await createTestApp(dialect, {
      now: () => clock,
      env: { RATE_LIMIT_LOGIN_PER_MINUTE: '1000', RATE_LIMIT_REGISTRATIONS_PER_HOUR: '1000' },
    });
  });
  afterAll(() => t.close());

  const devicesOf = async (client: TestClient): Promise<Device[]> => {
    const response = await client.get('/api/devices');
    expect(response.statusCode).toBe(200);
    return response.json<{ devices: Device[] }>().devices;
  };
  const sessionRow = (userId: string) =>
    t.storage.db
      .selectFrom('sessions')
      .innerJoin('devices', 'devices.id', 'sessions.device_id')
      .select(['sessions.last_seen_at as session_seen', 'devices.last_seen_at as device_seen'])
      .where('sessions.user_id', '=', userId)
      .executeTakeFirstOrThrow();

  it('sets the session cookie __Host-sc_session: HttpOnly, Secure, SameSite=Strict, Path=/', async () => {
    const client = new TestClient(t.app);
    await client.register('cookiejar');
    const login = await client.login('cookiejar');
    if (login.stage !== 'finish') throw new Error('login failed');
    const cookie = login.response.cookies.find((c) => c.name === '__Host-sc_session');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    expect(cookie?.domain).toBeUndefined();
    expect(cookie?.maxAge).toBe(Limits.SESSION_ABSOLUTE_SECONDS);
  });

  it('ends a session after 14 idle days or 90 days in all', async () => {
    const client = await signedIn(t.app, 'frank');
    clock += 13 * DAY; // active again before the idle limit
    expect((await client.get('/api/auth/session')).statusCode).toBe(200);
    clock += 14 * DAY + 1000; // idle too long
    expect((await client.get('/api/auth/session')).statusCode).toBe(401);

    const busy = await signedIn(t.app, 'grace');
    const loginAt = clock;
    for (let day = 10; day <= 90; day += 10) {
      clock = loginAt + day * DAY - 1000;
      expect((await busy.get('/api/auth/session')).statusCode, `day ${day}`).toBe(200);
    }
    clock = loginAt + 90 * DAY; // the absolute lifetime is over, however busy
    const over = await busy.get('/api/auth/session');
    expect(over.statusCode).toBe(401);
    expect(over.json()).toMatchObject({ code: 'CHAT_ERR_UNAUTHENTICATED' });
    const left = await t.storage.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select('sessions.id')
      .where(
        'users.username_index',
        'in',
        ['frank', 'grace'].map((n) => t.vault.index('username', n)),
      )
      .execute();
    expect(left).toEqual([]);
  });

  it('writes last-seen at most once a minute, for the session and its device', async () => {
    const client = await signedIn(t.app, 'toucher');
    const me = (await client.get('/api/auth/session')).json<{ user: { id: string } }>().user;
    const loginAt = clock;
    clock += 30_000;
    await client.get('/api/auth/session');
    expect(await sessionRow(me.id)).toEqual({ session_seen: loginAt, device_seen: loginAt });
    clock += 31_000;
    const seen = await client.get('/api/auth/session');
    expect(await sessionRow(me.id)).toEqual({ session_seen: clock, device_seen: clock });
    expect(seen.json<{ device: { lastSeenAt: string } }>().device.lastSeenAt).toBe(
      new Date(clock).toISOString(),
    );
  });

  it('lists devices, and revoking one ends its session; another user gets "not found"', async () => {
    const first = await signedIn(t.app, 'dave');
    const second = new TestClient(t.app, SAFARI);
    clock += 1000;
    expect((await second.login('dave')).stage).toBe('finish');
    const devices = await devicesOf(first);
    expect(devices.map((d) => [d.name, d.current])).toEqual([
      ['Chrome on Linux', true],
      ['Safari on macOS', false],
    ]);
    const other = devices[1]?.id ?? '';
    expect((await devicesOf(second)).map((d) => d.current)).toEqual([false, true]);

    const stranger = await signedIn(t.app, 'eve');
    const forbidden = await stranger.send('DELETE', `/api/devices/${other}`);
    const missing = await stranger.send('DELETE', '/api/devices/AAAAAAAAAAAAAAAAAAAAAA');
    expect(forbidden.statusCode).toBe(404);
    expect(forbidden.body).toBe(missing.body);
    expect(forbidden.json()).toEqual({ code: 'CHAT_ERR_NOT_FOUND', message: 'Not found.' });
    expect((await second.get('/api/auth/session')).statusCode).toBe(200);

    expect((await first.send('DELETE', `/api/devices/${other}`)).statusCode).toBe(204);
    expect((await second.get('/api/auth/session')).statusCode).toBe(401);
    expect((await devicesOf(first)).map((d) => d.id)).not.toContain(other);
    // Revoked is revoked: a second revoke is "not found" too.
    expect((await first.send('DELETE', `/api/devices/${other}`)).statusCode).toBe(404);
    const audit = await t.storage.db
      .selectFrom('audit_log')
      .select('detail')
      .where('event', '=', 'device.revoke')
      .execute();
    expect(audit.map((a) => JSON.parse(a.detail) as unknown)).toContainEqual({ device: other });
  });

  it('revoking the current device signs this browser out', async () => {
    const client = await signedIn(t.app, 'selfrevoke');
    const [current] = await devicesOf(client);
    const revoked = await client.send('DELETE', `/api/devices/${current?.id ?? ''}`);
    expect(revoked.statusCode).toBe(204);
    expect(revoked.cookies.find((c) => c.name === '__Host-sc_session')?.value).toBe('');
    expect((await client.get('/api/auth/session')).statusCode).toBe(401);
  });

  it('signing out keeps the device; signing in again with its id and secret reuses it', async () => {
    const stays = await signedIn(t.app, 'leaver');
    const me = (await stays.get('/api/auth/session')).json<{ user: { id: string } }>().user;
    // In a room, so that device changes would show there: notices and pending adds.
    const room = 'LeaverRoom000000000000';
    await t.storage.db
      .insertInto('rooms')
      .values({ id: room, kind: 'group', name: null, created_at: clock, last_seq: 0 })
      .execute();
    await t.storage.db
      .insertInto('room_members')
      .values({ room_id: room, user_id: me.id, role: 'owner', joined_at: clock })
      .execute();
    const deviceNotices = async () =>
      Promise.all(
        (
          await t.storage.db
            .selectFrom('events')
            .select('notice')
            .where('room_id', '=', room)
            .where('kind', '=', 'notice')
            .orderBy('seq')
            .execute()
        ).map(
          async (e) =>
            JSON.parse(await t.vault.open('notice', e.notice ?? '')) as {
              type: string;
              change: string;
            },
        ),
      );
    const pendingAdds = () =>
      t.storage.db.selectFrom('pending_adds').selectAll().where('room_id', '=', room).execute();

    const leaves = new TestClient(t.app, SAFARI);
    clock += 1000;
    const first = await leaves.login('leaver');
    if (first.stage !== 'finish') throw new Error(`sign-in stopped at ${first.stage}`);
    const created = first.response.json<{ device: Device; deviceSecret: string }>();
    expect(created.deviceSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const device = { id: created.device.id, secret: created.deviceSecret };
    // The server keeps only the secret's hash.
    const row = await t.storage.db
      .selectFrom('devices')
      .select('secret_hash')
      .where('id', '=', device.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_hash).toBe(createHash('sha256').update(device.secret).digest('base64url'));
    expect(await deviceNotices()).toEqual([expect.objectContaining({ change: 'added' })]);
    expect(await pendingAdds()).toEqual([expect.objectContaining({ device_id: device.id })]);
    await t.storage.db.deleteFrom('pending_adds').where('room_id', '=', room).execute();

    // Signing out ends the session only: the device stays, and nobody is told of a change.
    expect((await leaves.send('POST', '/api/auth/logout')).statusCode).toBe(204);
    expect((await leaves.get('/api/auth/session')).statusCode).toBe(401);
    expect((await devicesOf(stays)).map((d) => d.name)).toEqual([
      'Chrome on Linux',
      'Safari on macOS',
    ]);
    expect(await deviceNotices()).toHaveLength(1);

    // Back on the same device: no new device, no notice, no pending add, no new secret.
    clock += 1000;
    const again = await leaves.login('leaver', PASSWORD, { device });
    if (again.stage !== 'finish') throw new Error(`sign-in stopped at ${again.stage}`);
    expect(again.response.statusCode).toBe(200);
    const reused = again.response.json<{ device: Device; deviceSecret?: string }>();
    expect(reused.device).toMatchObject({ id: device.id, current: true });
    expect(reused.deviceSecret).toBeUndefined();
    expect((await leaves.get('/api/auth/session')).json()).toEqual(reused);
    expect(await devicesOf(stays)).toHaveLength(2);
    expect(await deviceNotices()).toHaveLength(1);
    expect(await pendingAdds()).toEqual([]);

    // A wrong secret, someone else's device, an unknown id: a new device, with no error.
    const stranger = new TestClient(t.app);
    const theirs = (await stranger.register('stranger')).json<{
      device: Device;
      deviceSecret: string;
    }>();
    for (const credential of [
      { id: device.id, secret: 'A'.repeat(43) },
      { id: theirs.device.id, secret: theirs.deviceSecret },
      { id: 'AAAAAAAAAAAAAAAAAAAAAA', secret: device.secret },
    ]) {
      const other = await new TestClient(t.app, SAFARI).login('leaver', PASSWORD, {
        device: credential,
      });
      if (other.stage !== 'finish') throw new Error(`sign-in stopped at ${other.stage}`);
      expect(other.response.statusCode).toBe(200);
      const fresh = other.response.json<{ device: Device; deviceSecret?: string }>();
      expect(fresh.device.id).not.toBe(credential.id);
      expect(fresh.deviceSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    expect(await devicesOf(stays)).toHaveLength(5);
    expect(await deviceNotices()).toHaveLength(4);
    // The stranger's device is untouched.
    expect((await devicesOf(stranger)).map((d) => d.id)).toEqual([theirs.device.id]);

    // A malformed device or sign-out is refused, naming the field.
    const malformed = await new TestClient(t.app).startLogin('leaver');
    const refused = await new TestClient(t.app).finishLogin(
      malformed.attemptId ?? '',
      malformed.finishLoginRequest ?? '',
      { device: { id: device.id, secret: 'short' } },
    );
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'CHAT_ERR_VALIDATION', field: 'device.secret' });
    const badLogout = await leaves.send('POST', '/api/auth/logout', { removeDevice: 'yes' });
    expect(badLogout.statusCode).toBe(400);
    expect(badLogout.json()).toMatchObject({ code: 'CHAT_ERR_VALIDATION', field: 'removeDevice' });
    expect((await leaves.get('/api/auth/session')).statusCode).toBe(200);
  });

  it('signing out with removeDevice revokes the device, which can then never be reused', async () => {
    const stays = await signedIn(t.app, 'remover');
    const leaves = new TestClient(t.app, SAFARI);
    clock += 1000;
    const login = await leaves.login('remover');
    if (login.stage !== 'finish') throw new Error(`sign-in stopped at ${login.stage}`);
    const created = login.response.json<{ device: Device; deviceSecret: string }>();
    expect(await devicesOf(stays)).toHaveLength(2);

    const out = await leaves.send('POST', '/api/auth/logout', { removeDevice: true });
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((c) => c.name === '__Host-sc_session')?.value).toBe('');
    expect((await devicesOf(stays)).map((d) => d.name)).toEqual(['Chrome on Linux']);
    const revoked = await t.storage.db
      .selectFrom('devices')
      .select('revoked_at')
      .where('id', '=', created.device.id)
      .executeTakeFirstOrThrow();
    expect(revoked.revoked_at).not.toBeNull();

    const back = await leaves.login('remover', PASSWORD, {
      device: { id: created.device.id, secret: created.deviceSecret },
    });
    if (back.stage !== 'finish') throw new Error(`sign-in stopped at ${back.stage}`);
    expect(back.response.json<{ device: Device }>().device.id).not.toBe(created.device.id);
    // Signing out twice, or without a session, is harmless.
    expect((await leaves.send('POST', '/api/auth/logout')).statusCode).toBe(204);
    expect((await leaves.send('POST', '/api/auth/logout')).statusCode).toBe(204);
    const audit = await t.storage.db
      .selectFrom('audit_log')
      .select('detail')
      .where('event', '=', 'account.logout')
      .execute();
    expect(audit.map((a) => JSON.parse(a.detail) as unknown)).toContainEqual({
      device: created.device.id,
      removeDevice: true,
    });
  });

  it(`keeps at most ${Limits.DEVICES_PER_USER_MAX} devices, retiring the least recently seen`, async () => {
    const client = await signedIn(t.app, 'collector');
    const me = (await client.get('/api/auth/session')).json<{ user: { id: string } }>().user;
    const old = await Promise.all(
      Array.from({ length: Limits.DEVICES_PER_USER_MAX }, async (_, i) => ({
        id: `old-device-${String(i).padStart(11, '0')}`,
        user_id: me.id,
        name: await t.vault.seal('device-name', `Old ${i}`),
        created_at: clock - DAY,
        last_seen_at: clock - DAY + i,
        revoked_at: null,
      })),
    );
    await t.storage.db.insertInto('devices').values(old).execute();
    clock += 1000;
    expect((await new TestClient(t.app).login('collector')).stage).toBe('finish');
    const live = await devicesOf(client);
    expect(live).toHaveLength(Limits.DEVICES_PER_USER_MAX);
    const names = live.map((d) => d.name);
    // The signed-in device (seen most recently) and the newest stay; the two oldest went.
    expect(names).not.toContain('Old 0');
    expect(names).not.toContain('Old 1');
    expect(names).toContain('Old 2');
    expect((await client.get('/api/auth/session')).statusCode).toBe(200);
  });

  it('changes the password only after re-authentication, and ends the other sessions', async () => {
    const here = await signedIn(t.app, 'heidi');
    const elsewhere = new TestClient(t.app, SAFARI);
    await elsewhere.login('heidi');

    const skipped = await here.setPassword(NEW_PASSWORD);
    expect(skipped.statusCode).toBe(401);
    expect(skipped.json()).toMatchObject({ code: 'CHAT_ERR_REAUTH_REQUIRED' });
    expect((await elsewhere.get('/api/auth/session')).statusCode).toBe(200);

    expect((await here.changePassword(PASSWORD, NEW_PASSWORD)).statusCode).toBe(204);
    expect((await here.get('/api/auth/session')).statusCode).toBe(200);
    expect((await elsewhere.get('/api/auth/session')).statusCode).toBe(401);

    expect((await new TestClient(t.app).login('heidi')).stage).toBe('client-refused');
    const fresh = await new TestClient(t.app).login('heidi', NEW_PASSWORD);
    expect(fresh.stage).toBe('finish');

    // The confirmation is spent: another change needs another re-authentication.
    expect((await here.setPassword('yet another passphrase')).statusCode).toBe(401);
    const events = await t.storage.db
      .selectFrom('audit_log')
      .select('event')
      .where('event', '=', 'account.password_change')
      .execute();
    expect(events).toHaveLength(1);
  });

  it('lets a re-authentication count for five minutes', async () => {
    const client = await signedIn(t.app, 'judy');
    expect((await client.reauthenticate(PASSWORD)).statusCode).toBe(204);
    clock += (Limits.REAUTH_TTL_SECONDS + 1) * 1000;
    const late = await client.setPassword(NEW_PASSWORD);
    expect(late.json()).toMatchObject({ code: 'CHAT_ERR_REAUTH_REQUIRED' });
    expect((await new TestClient(t.app).login('judy')).stage).toBe('finish');
  });

  it('binds a re-authentication to its session and refuses a wrong password', async () => {
    const client = await signedIn(t.app, 'kate');
    const thief = await signedIn(t.app, 'mallory');
    const wrong = await client.reauthenticate('not my password').catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(Error); // OPAQUE's client refuses before sending anything
    // A re-authentication attempt can't be finished by another session, nor as a login.
    const { clientLoginState, startLoginRequest } = opaque.client.startLogin({
      password: PASSWORD,
    });
    const start = await client.send('POST', '/api/account/reauth/start', { startLoginRequest });
    const { attemptId, loginResponse } = start.json<{ attemptId: string; loginResponse: string }>();
    const proof = opaque.client.finishLogin({
      clientLoginState,
      loginResponse,
      password: PASSWORD,
    });
    const body = { attemptId, finishLoginRequest: proof?.finishLoginRequest ?? '' };
    const stolen = await thief.send('POST', '/api/account/reauth/finish', body);
    expect(stolen.json()).toMatchObject({ code: 'CHAT_ERR_LOGIN_EXPIRED' });
    const asLogin = await new TestClient(t.app).send('POST', '/api/auth/login/finish', body);
    expect(asLogin.statusCode).toBe(401);
    expect(asLogin.cookies.find((c) => c.name === '__Host-sc_session')).toBeUndefined();
    expect((await thief.setPassword(NEW_PASSWORD)).statusCode).toBe(401);
  });

  it('keeps every account route behind a session', async () => {
    const anonymous = new TestClient(t.app);
    expect((await anonymous.get('/api/devices')).statusCode).toBe(401);
    expect((await anonymous.get('/api/auth/session')).statusCode).toBe(401);
    for (const url of [
      '/api/account/reauth/start',
      '/api/account/password/start',
      '/api/devices/AAAAAAAAAAAAAAAAAAAAAA',
    ]) {
      const method = url.startsWith('/api/devices') ? 'DELETE' : 'POST';
      const body = url.includes('reauth')
        ? { startLoginRequest: 'AAAA' }
        : url.includes('password')
          ? { registrationRequest: 'AAAA' }
          : undefined;
      const response = await anonymous.send(method, url, body);
      expect(response.statusCode, url).toBe(401);
      expect(response.json()).toMatchObject({ code: 'CHAT_ERR_UNAUTHENTICATED' });
    }
    const forged = await t.app.inject({
      url: '/api/auth/session',
      headers: { cookie: `__Host-sc_session=${'A'.repeat(43)}` },
    });
    expect(forged.statusCode).toBe(401);
  });
});
