import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect, createTestApp, type TestApp } from './support/harness.js';
import { PASSWORD, signedIn, TestClient } from './support/client.js';

describeEachDialect('accounts', (dialect) => {
  let t: TestApp;
  let clock = Date.now();
  beforeAll(async () => {
    t = await createTestApp(dialect, {
      now: () => clock,
      env: { RATE_LIMIT_LOGIN_PER_MINUTE: '1000', RATE_LIMIT_REGISTRATIONS_PER_HOUR: '1000' },
    });
  });
  afterAll(() => t.close());

  it('registers, signs in with a session cookie, and signs out on the server', async () => {
    const client = new TestClient(t.app);
    const registered = await client.register('Alice');
    expect(registered.statusCode).toBe(201);
    expect(registered.json()).toMatchObject({ user: { username: 'alice', role: 'member' } });

    const login = await client.login('alice');
    expect(login.stage).toBe('finish');
    if (login.stage !== 'finish') return;
    expect(login.response.statusCode).toBe(200);
    expect(login.response.json()).toMatchObject({
      user: { username: 'alice' },
      device: { name: 'Chrome on Linux', current: true },
    });
    const cookie = login.response.cookies.find((c) => c.name === '__Host-sc_session');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    expect(cookie?.domain).toBeUndefined();

    const session = await client.get('/api/auth/session');
    expect(session.statusCode).toBe(200);
    const token = client.cookie('__Host-sc_session');

    expect((await client.send('POST', '/api/auth/logout')).statusCode).toBe(204);
    expect((await client.get('/api/auth/session')).statusCode).toBe(401);
    // The old token is dead on the server, not just forgotten by the client.
    const replay = await t.app.inject({
      url: '/api/auth/session',
      headers: { cookie: `__Host-sc_session=${token}` },
    });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({ code: 'CHAT_ERR_UNAUTHENTICATED' });
  });

  it('stores only the OPAQUE record, never the password', async () => {
    await signedIn(t.app, 'recordcheck');
    const row = await t.storage.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', 'recordcheck')
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(PASSWORD);
    expect(row.opaque_record.length).toBeGreaterThan(100);
  });

  it('answers a wrong password and an unknown user the same way', async () => {
    await signedIn(t.app, 'bob');
    const wrong = await new TestClient(t.app).login('bob', 'not the password at all');
    const unknown = await new TestClient(t.app).login('nobody-here', 'not the password at all');
    expect(wrong.stage).toBe('client-refused');
    expect(unknown.stage).toBe('client-refused');
    if (wrong.stage !== 'client-refused' || unknown.stage !== 'client-refused') return;
    expect(wrong.start.statusCode).toBe(unknown.start.statusCode);
    const shape = (body: Record<string, string>) =>
      Object.fromEntries(Object.entries(body).map(([k, v]) => [k, v.length]));
    expect(shape(wrong.start.json())).toEqual(shape(unknown.start.json()));

    // A forged proof for either is refused with the same answer.
    const forge = (attemptId: string) =>
      new TestClient(t.app).send('POST', '/api/auth/login/finish', {
        attemptId,
        finishLoginRequest: 'A'.repeat(86),
      });
    const a = await forge(wrong.attemptId);
    const b = await forge(unknown.attemptId);
    expect(a.statusCode).toBe(401);
    expect(a.json()).toEqual(b.json());
    expect(a.json()).toMatchObject({ code: 'CHAT_ERR_LOGIN_FAILED' });
    // An attempt is single use.
    expect((await forge(wrong.attemptId)).json()).toMatchObject({ code: 'CHAT_ERR_LOGIN_EXPIRED' });
  });

  it('refuses taken, lookalike, reserved and malformed usernames with clear errors', async () => {
    await signedIn(t.app, 'carol.smith');
    for (const name of ['carol.smith', 'CAROL.SMITH', 'carol_smith', 'caro1.smith']) {
      const response = await new TestClient(t.app).register(name);
      expect(response.statusCode, name).toBe(409);
      expect(response.json()).toMatchObject({
        code: 'CHAT_ERR_USERNAME_TAKEN',
        message: 'That username is already taken.',
      });
    }
    for (const name of ['admin', 'r00t', 'ab', 'has space', 'emoji😀']) {
      const response = await new TestClient(t.app).register(name);
      expect(response.statusCode, name).toBe(400);
      expect(response.json()).toMatchObject({
        code: 'CHAT_ERR_USERNAME_INVALID',
        field: 'username',
      });
    }
  });

  it('refuses unknown fields and oversized values', async () => {
    const client = new TestClient(t.app);
    const extra = await client.send('POST', '/api/auth/login/start', {
      username: 'x',
      startLoginRequest: 'abc',
      isAdmin: true,
    });
    expect(extra.statusCode).toBe(400);
    expect(extra.json()).toMatchObject({ code: 'CHAT_ERR_VALIDATION', field: 'isAdmin' });
    const huge = await client.send('POST', '/api/auth/login/start', {
      username: 'x',
      startLoginRequest: 'a'.repeat(5000),
    });
    expect(huge.statusCode).toBe(400);
    expect(huge.body).not.toMatch(/FST_|fastify|ajv/i);
  });

  it('lists devices, and revoking one ends its session; other users see "not found"', async () => {
    const first = await signedIn(t.app, 'dave');
    const second = new TestClient(
      t.app,
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15',
    );
    await second.login('dave');
    const list = await first.get('/api/devices');
    const devices = list.json<{ devices: { id: string; name: string; current: boolean }[] }>()
      .devices;
    expect(devices).toHaveLength(2);
    const other = devices.find((d) => !d.current);
    expect(other?.name).toBe('Safari on macOS');

    const stranger = await signedIn(t.app, 'eve');
    const forbidden = await stranger.send('DELETE', `/api/devices/${other?.id}`);
    const missing = await stranger.send('DELETE', '/api/devices/AAAAAAAAAAAAAAAAAAAAAA');
    expect(forbidden.statusCode).toBe(404);
    expect(forbidden.json()).toEqual(missing.json());
    expect((await second.get('/api/auth/session')).statusCode).toBe(200);

    expect((await first.send('DELETE', `/api/devices/${other?.id}`)).statusCode).toBe(204);
    expect((await second.get('/api/auth/session')).statusCode).toBe(401);
    expect((await first.get('/api/devices')).json<{ devices: unknown[] }>().devices).toHaveLength(
      1,
    );
  });

  it('expires sessions after the idle and the absolute lifetime', async () => {
    const client = await signedIn(t.app, 'frank');
    const start = clock;
    clock = start + 13 * 24 * 3600 * 1000; // active again before the 14-day idle limit
    expect((await client.get('/api/auth/session')).statusCode).toBe(200);
    clock += 15 * 24 * 3600 * 1000; // idle too long
    expect((await client.get('/api/auth/session')).statusCode).toBe(401);

    const busy = await signedIn(t.app, 'grace');
    const loginAt = clock;
    for (let day = 10; day <= 90; day += 10) {
      clock = loginAt + day * 24 * 3600 * 1000 - 1000;
      expect((await busy.get('/api/auth/session')).statusCode, `day ${day}`).toBe(200);
    }
    clock = loginAt + 90 * 24 * 3600 * 1000 + 1000; // past the absolute lifetime
    expect((await busy.get('/api/auth/session')).statusCode).toBe(401);
  });

  it('changes the password only after re-authentication, and ends other sessions', async () => {
    const here = await signedIn(t.app, 'heidi');
    const elsewhere = new TestClient(t.app);
    await elsewhere.login('heidi');

    const skipped = await here.setPassword('a brand new long passphrase');
    expect(skipped.statusCode).toBe(401);
    expect(skipped.json()).toMatchObject({ code: 'CHAT_ERR_REAUTH_REQUIRED' });

    expect((await here.changePassword(PASSWORD, 'a brand new long passphrase')).statusCode).toBe(
      204,
    );
    expect((await here.get('/api/auth/session')).statusCode).toBe(200);
    expect((await elsewhere.get('/api/auth/session')).statusCode).toBe(401);

    expect((await new TestClient(t.app).login('heidi')).stage).toBe('client-refused');
    const fresh = await new TestClient(t.app).login('heidi', 'a brand new long passphrase');
    expect(fresh.stage).toBe('finish');
  });
});

describeEachDialect('registration modes and administration', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect, {
      env: { REGISTRATION: 'invite', RATE_LIMIT_LOGIN_PER_MINUTE: '1000' },
    });
  });
  afterAll(() => t.close());

  const setupToken = (link: string) => new URL(link).hash.replace('#token=', '');

  it('makes the first administrator through the one-time setup link only', async () => {
    const link = await t.app.services.accounts.firstRunSetupLink();
    expect(link).toMatch(/^http:\/\/localhost:3000\/setup#token=[A-Za-z0-9_-]{43}$/);
    const token = setupToken(link ?? '');
    const admin = new TestClient(t.app);
    const registered = await admin.register('root-user', PASSWORD, { setupToken: token });
    expect(registered.statusCode).toBe(201);
    expect(registered.json()).toMatchObject({ user: { role: 'admin' } });
    const again = await new TestClient(t.app).register('second', PASSWORD, { setupToken: token });
    expect(again.statusCode).toBe(403);
    expect(again.json()).toMatchObject({ code: 'CHAT_ERR_SETUP_TOKEN_INVALID' });
    expect(await t.app.services.accounts.firstRunSetupLink()).toBeNull();
  });

  it('needs a single-use invitation in invite-only mode', async () => {
    const closed = await new TestClient(t.app).register('uninvited');
    expect(closed.statusCode).toBe(403);
    expect(closed.json()).toMatchObject({ code: 'CHAT_ERR_REGISTRATION_CLOSED' });

    const admin = new TestClient(t.app);
    await admin.login('root-user');
    const created = await admin.send('POST', '/api/admin/invites', { ttlSeconds: 3600 });
    expect(created.statusCode).toBe(201);
    const { token, url } = created.json<{ token: string; url: string }>();
    expect(url).toBe(`http://localhost:3000/invite#token=${token}`);

    expect(
      (await new TestClient(t.app).register('invited', PASSWORD, { inviteToken: token }))
        .statusCode,
    ).toBe(201);
    const reused = await new TestClient(t.app).register('invited2', PASSWORD, {
      inviteToken: token,
    });
    expect(reused.json()).toMatchObject({ code: 'CHAT_ERR_INVITE_INVALID' });

    const invites = await admin.get('/api/admin/invites');
    expect(
      invites.json<{ invites: { usedAt: string | null }[] }>().invites[0]?.usedAt,
    ).not.toBeNull();
  });

  it('keeps admin routes behind the admin role', async () => {
    const member = new TestClient(t.app);
    const admin = new TestClient(t.app);
    await admin.login('root-user');
    const invite = (await admin.send('POST', '/api/admin/invites', {})).json<{ token: string }>();
    await member.register('plainmember', PASSWORD, { inviteToken: invite.token });
    await member.login('plainmember');
    for (const [method, url] of [
      ['GET', '/api/admin/users'],
      ['GET', '/api/admin/invites'],
      ['POST', '/api/admin/invites'],
    ] as const) {
      const asMember =
        method === 'GET' ? await member.get(url) : await member.send(method, url, {});
      expect(asMember.statusCode, url).toBe(403);
      expect(asMember.json()).toMatchObject({ code: 'CHAT_ERR_FORBIDDEN' });
      const anonymous =
        method === 'GET'
          ? await new TestClient(t.app).get(url)
          : await new TestClient(t.app).send(method, url, {});
      expect(anonymous.statusCode, url).toBe(401);
    }
    const users = await admin.get('/api/admin/users');
    expect(users.json<{ users: { username: string }[] }>().users.map((u) => u.username)).toContain(
      'plainmember',
    );
  });

  it('promotes and demotes from the shell, but never the last administrator', async () => {
    const accounts = t.app.services.accounts;
    await expect(accounts.setRole('root-user', 'member')).rejects.toMatchObject({
      code: 'CHAT_ERR_LAST_ADMIN',
    });
    await expect(accounts.setRole('plainmember', 'admin')).resolves.toMatchObject({
      role: 'admin',
    });
    await expect(accounts.setRole('root-user', 'member')).resolves.toMatchObject({
      role: 'member',
    });
    await expect(accounts.setRole('nobody', 'admin')).rejects.toMatchObject({
      code: 'CHAT_ERR_NOT_FOUND',
    });
  });

  it('records security events in the audit log without secrets', async () => {
    const rows = await t.storage.db.selectFrom('audit_log').selectAll().execute();
    const events = new Set(rows.map((r) => r.event));
    for (const e of [
      'account.register',
      'account.login',
      'invite.create',
      'setup.link_used',
      'account.role_change',
    ]) {
      expect(events, e).toContain(e);
    }
    expect(JSON.stringify(rows)).not.toContain(PASSWORD);
  });
});

describeEachDialect('login rate limit', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(() => t.close());

  it('answers the 6th sign-in attempt in a minute with 429 and Retry-After, per account and per address', async () => {
    await new TestClient(t.app).register('ivan');
    for (let i = 1; i <= 5; i += 1) {
      const attempt = await new TestClient(t.app, undefined, `10.0.0.${i}`).login(
        'ivan',
        'wrong password guess',
      );
      expect(attempt.stage, `attempt ${i}`).toBe('client-refused');
    }
    const sixth = await new TestClient(t.app, undefined, '10.0.0.99').login('ivan');
    expect(sixth.stage).toBe('start');
    if (sixth.stage !== 'start') return;
    expect(sixth.response.statusCode).toBe(429);
    expect(Number(sixth.response.headers['retry-after'])).toBeGreaterThan(0);
    expect(sixth.response.json()).toMatchObject({ code: 'CHAT_ERR_RATE_LIMITED' });

    // One address guessing at many accounts is stopped too.
    for (let i = 0; i < 5; i += 1)
      await new TestClient(t.app, undefined, '10.9.9.9').login(`someone${i}`, 'guess guess');
    const blocked = await new TestClient(t.app, undefined, '10.9.9.9').login(
      'another',
      'guess guess',
    );
    expect(blocked.stage).toBe('start');
  });
});
