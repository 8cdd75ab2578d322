/**
 * Accounts over HTTP: OPAQUE registration and sign-in, usernames, and what an attacker
 * learns (nothing) from the sign-in answers. Sessions, devices and password change are in
 * sessions.test.ts; setup links, invitations and admin routes in admin.test.ts.
 */
import { Limits } from '@securechat/protocol';
import * as opaque from '@serenity-kit/opaque';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PASSWORD, signedIn, TestClient } from './support/client.js';
import {
  createTestApp,
  describeEachDialect,
  openAddress,
  storedUsernames,
  type TestApp,
} from './support/harness.js';

const HIGH_LIMITS = {
  RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
  RATE_LIMIT_REGISTRATIONS_PER_HOUR: '1000',
};

describeEachDialect('accounts', (dialect) => {
  let t: TestApp;
  let clock = Date.now();
  beforeAll(async () => {
    t = await createTestApp(dialect, { now: () => clock, env: HIGH_LIMITS });
  });
  afterAll(() => t.close());

  it('registers, signs in, reads the session, and signs out on the server', async () => {
    const client = new TestClient(t.app);
    const registered = await client.register('Alice');
    expect(registered.statusCode).toBe(201);
    expect(registered.json()).toMatchObject({ user: { username: 'alice', role: 'member' } });

    const login = await client.login('ALICE');
    expect(login.stage).toBe('finish');
    if (login.stage !== 'finish') return;
    expect(login.response.statusCode).toBe(200);
    expect(login.response.json()).toMatchObject({
      user: { username: 'alice', role: 'member' },
      device: { name: 'Chrome on Linux', current: true },
    });

    // The sign-in made a device: its secret is in this answer only, never in the session's.
    const { deviceSecret, ...signedIn } = login.response.json<{ deviceSecret?: string }>();
    expect(deviceSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const session = await client.get('/api/auth/session');
    expect(session.statusCode).toBe(200);
    expect(session.json()).toEqual(signedIn);
    const token = client.cookie('__Host-sc_session');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const logout = await client.send('POST', '/api/auth/logout');
    expect(logout.statusCode).toBe(204);
    expect(logout.cookies.find((c) => c.name === '__Host-sc_session')?.value).toBe('');
    expect((await client.get('/api/auth/session')).statusCode).toBe(401);
    // The old token is dead on the server, not just forgotten by the client.
    const replay = await t.app.inject({
      url: '/api/auth/session',
      headers: { cookie: `__Host-sc_session=${token}` },
    });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toEqual({
      code: 'CHAT_ERR_UNAUTHENTICATED',
      message: 'You are not signed in.',
    });
  });

  it('stores only the OPAQUE record, and the session by its hash', async () => {
    const client = await signedIn(t.app, 'recordcheck');
    const user = await t.storage.db
      .selectFrom('users')
      .selectAll()
      .where('username_index', '=', t.vault.index('username', 'recordcheck'))
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(user)).not.toContain(PASSWORD);
    expect(user.opaque_record.length).toBeGreaterThan(100);
    const token = client.cookie('__Host-sc_session') ?? '';
    const sessions = await t.storage.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute();
    expect(sessions).toHaveLength(1);
    expect(JSON.stringify(sessions)).not.toContain(token);
  });

  it('answers a wrong password and an unknown user alike, and audits both', async () => {
    await signedIn(t.app, 'bob');
    const wrong = await new TestClient(t.app).startLogin('bob', 'not the password at all');
    const unknown = await new TestClient(t.app).startLogin('nobody-here', 'not the password');
    // The server's first answer looks the same, and OPAQUE's client refuses both.
    expect(wrong.response.statusCode).toBe(200);
    expect(unknown.response.statusCode).toBe(200);
    const shape = (body: Record<string, string>) =>
      Object.fromEntries(Object.entries(body).map(([k, v]) => [k, v.length]));
    expect(shape(wrong.response.json())).toEqual(shape(unknown.response.json()));
    expect(wrong.finishLoginRequest).toBeUndefined();
    expect(unknown.finishLoginRequest).toBeUndefined();

    // Both attempts were stored the same way; the unknown one for nobody.
    const attempts = await t.storage.db
      .selectFrom('login_attempts')
      .select(['user_id', 'purpose'])
      .where('purpose', '=', 'login')
      .execute();
    expect(attempts.filter((a) => a.user_id === null).length).toBeGreaterThanOrEqual(1);

    // A proof for either (here, a valid proof for another login) gets the same refusal.
    const other = await new TestClient(t.app).startLogin('bob');
    const proof = other.finishLoginRequest ?? '';
    const before = await t.storage.db
      .selectFrom('audit_log')
      .select('id')
      .where('event', '=', 'account.login_failed')
      .execute();
    const a = await new TestClient(t.app).finishLogin(wrong.attemptId ?? '', proof);
    const b = await new TestClient(t.app).finishLogin(unknown.attemptId ?? '', proof);
    expect(a.statusCode).toBe(401);
    expect(b.statusCode).toBe(401);
    expect(a.body).toBe(b.body);
    expect(a.json()).toEqual({
      code: 'CHAT_ERR_LOGIN_FAILED',
      message: 'Wrong username or password.',
    });
    expect(a.cookies.find((c) => c.name === '__Host-sc_session')).toBeUndefined();
    const failed = await t.storage.db
      .selectFrom('audit_log')
      .selectAll()
      .where('event', '=', 'account.login_failed')
      .execute();
    expect(failed.length - before.length).toBe(2);
    expect(JSON.stringify(failed)).not.toContain(proof);

    // An attempt is single use: the second try finds nothing.
    const replay = await new TestClient(t.app).finishLogin(wrong.attemptId ?? '', proof);
    expect(replay.json()).toMatchObject({ code: 'CHAT_ERR_LOGIN_EXPIRED' });
  });

  it('lets a sign-in attempt live 60 seconds, once, and sweeps expired ones', async () => {
    await signedIn(t.app, 'slowpoke');
    const client = new TestClient(t.app);
    const late = await client.startLogin('slowpoke');
    clock += 61_000;
    const expired = await client.finishLogin(late.attemptId ?? '', late.finishLoginRequest ?? '');
    expect(expired.statusCode).toBe(401);
    expect(expired.json()).toMatchObject({ code: 'CHAT_ERR_LOGIN_EXPIRED' });

    const abandoned = await client.startLogin('slowpoke');
    clock += 61_000;
    await client.startLogin('slowpoke'); // any new attempt sweeps the expired ones
    const stale = await t.storage.db
      .selectFrom('login_attempts')
      .select('id')
      .where('expires_at', '<=', clock)
      .execute();
    expect(stale).toEqual([]);
    const gone = await client.finishLogin(
      abandoned.attemptId ?? '',
      abandoned.finishLoginRequest ?? '',
    );
    expect(gone.json()).toMatchObject({ code: 'CHAT_ERR_LOGIN_EXPIRED' });

    const inTime = await client.startLogin('slowpoke');
    clock += 59_000;
    const ok = await client.finishLogin(inTime.attemptId ?? '', inTime.finishLoginRequest ?? '');
    expect(ok.statusCode).toBe(200);
  });

  it('counts a sign-in left unfinished past its lifetime as a failed one, and audits it', async () => {
    await signedIn(t.app, 'forgetful');
    const failures = (reason: string) =>
      t.storage.db
        .selectFrom('audit_log')
        .select(['user_id', 'ip', 'detail'])
        .where('event', '=', 'account.login_failed')
        .execute()
        .then((rows) =>
          Promise.all(
            rows
              .filter((r) => (JSON.parse(r.detail) as { reason?: string }).reason === reason)
              .map(async (r) => ({ ...r, ip: await openAddress(t, r.ip) })),
          ),
        );
    const forgetful = await t.storage.db
      .selectFrom('users')
      .select('id')
      .where('username_index', '=', t.vault.index('username', 'forgetful'))
      .executeTakeFirstOrThrow();
    // Earlier tests' leftovers are counted first, so what follows counts only this test's.
    clock += Limits.LOGIN_ATTEMPT_TTL_SECONDS * 1000;
    await t.app.services.accounts.sweepUnfinishedLogins();
    const before = (await failures('unfinished')).length;
    // A wrong password ends in the client: the server never sees a second step.
    const wrong = await new TestClient(t.app, undefined, '192.0.2.44').startLogin(
      'forgetful',
      'not the password at all',
    );
    expect(wrong.finishLoginRequest).toBeUndefined();
    const stranger = await new TestClient(t.app, undefined, '192.0.2.45').startLogin(
      'nobody-by-this-name',
      'whatever',
    );
    expect(stranger.response.statusCode).toBe(200);
    // Within the lifetime nothing is counted yet.
    clock += (Limits.LOGIN_ATTEMPT_TTL_SECONDS - 1) * 1000;
    expect(await t.app.services.accounts.sweepUnfinishedLogins()).toBe(0);
    expect(await failures('unfinished')).toHaveLength(before);
    // Past it, the next sign-in step (anyone's) counts both, once each.
    clock += 2000;
    const next = await new TestClient(t.app).login('forgetful');
    expect(next.stage).toBe('finish');
    const counted = (await failures('unfinished')).slice(before);
    expect(counted).toHaveLength(2);
    const detail = JSON.stringify({ purpose: 'login', reason: 'unfinished' });
    expect(counted).toEqual(
      expect.arrayContaining([
        { user_id: forgetful.id, ip: '192.0.2.44', detail },
        { user_id: null, ip: '192.0.2.45', detail },
      ]),
    );
    // The timer's sweep finds them gone: counted once.
    expect(await t.app.services.accounts.sweepUnfinishedLogins()).toBe(0);
    // With nobody signing in, the sweep alone counts an abandoned attempt.
    await new TestClient(t.app, undefined, '192.0.2.46').startLogin('forgetful', 'wrong again');
    clock += Limits.LOGIN_ATTEMPT_TTL_SECONDS * 1000;
    expect(await t.app.services.accounts.sweepUnfinishedLogins()).toBe(1);
    expect((await failures('unfinished')).slice(before).map((r) => r.ip)).toContain('192.0.2.46');
  });

  it('refuses a suspended user exactly like a wrong password, and ends their sessions', async () => {
    const client = await signedIn(t.app, 'suspendme');
    await t.storage.db
      .updateTable('users')
      .set({ suspended_at: clock })
      .where('username_index', '=', t.vault.index('username', 'suspendme'))
      .execute();
    expect((await client.get('/api/auth/session')).statusCode).toBe(401);
    const login = await new TestClient(t.app).login('suspendme');
    expect(login.stage).toBe('client-refused');
  });

  it('refuses taken and lookalike usernames with 409', async () => {
    await signedIn(t.app, 'carol.smith');
    await signedIn(t.app, 'john.doe');
    await signedIn(t.app, 'alicia');
    const lookalikes = [
      'carol.smith',
      'CAROL.SMITH',
      'carol_smith',
      'caro1.smith',
      'ｃａｒｏｌ.smith',
      'john_doe',
      'john-doe',
      'aIicia',
      'a1icia',
    ];
    for (const name of lookalikes) {
      const response = await new TestClient(t.app).register(name);
      expect(response.statusCode, name).toBe(409);
      expect(response.json()).toEqual({
        code: 'CHAT_ERR_USERNAME_TAKEN',
        message: 'That username is already taken.',
        field: 'username',
      });
    }
  });

  it('refuses reserved and malformed usernames with 400 and the reason', async () => {
    const cases: [string, string][] = [
      ['admin', 'That username is reserved.'],
      ['r00t', 'That username is reserved.'],
      ['ab', 'Usernames have at least 3 characters.'],
      ['x'.repeat(33), 'Usernames have at most 32 characters.'],
      ['has space', 'Use letters a–z'],
      ['emoji😀', 'Use letters a–z'],
      ['.leading', 'Use letters a–z'],
    ];
    for (const [name, message] of cases) {
      const response = await new TestClient(t.app).register(name);
      expect(response.statusCode, name).toBe(400);
      const body = response.json<{ code: string; message: string; field: string }>();
      expect(body.code, name).toBe('CHAT_ERR_USERNAME_INVALID');
      expect(body.field).toBe('username');
      expect(body.message).toContain(message);
    }
    expect(await storedUsernames(t)).not.toContain('admin');
  });

  it('gives a name to exactly one of two registrations racing for it', async () => {
    await opaque.ready;
    const prepare = async (username: string) => {
      const client = new TestClient(t.app);
      const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({
        password: PASSWORD,
      });
      const start = await client.send('POST', '/api/auth/register/start', {
        username,
        registrationRequest,
      });
      expect(start.statusCode).toBe(200);
      const { registrationRecord } = opaque.client.finishRegistration({
        clientRegistrationState,
        registrationResponse: start.json<{ registrationResponse: string }>().registrationResponse,
        password: PASSWORD,
      });
      return () =>
        client.send('POST', '/api/auth/register/finish', { username, registrationRecord });
    };
    for (const [first, second] of [
      ['racer', 'racer'],
      ['jane.roe', 'jane_roe'],
    ] as const) {
      const finishes = [await prepare(first), await prepare(second)];
      const answers = await Promise.all(finishes.map((finish) => finish()));
      expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 409]);
    }
    const rows = await t.storage.db
      .selectFrom('users')
      .select('username')
      .where(
        'username_index',
        'in',
        ['racer', 'jane.roe', 'jane_roe'].map((n) => t.vault.index('username', n)),
      )
      .execute();
    expect(rows).toHaveLength(2);
  });

  it('refuses unknown fields, malformed OPAQUE messages and oversized values', async () => {
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
    const garbage = await client.send('POST', '/api/auth/register/start', {
      username: 'garbage',
      registrationRequest: 'AAAA',
    });
    expect(garbage.statusCode).toBe(400);
    expect(garbage.json()).toMatchObject({ code: 'CHAT_ERR_VALIDATION' });
  });
});

describeEachDialect('login rate limit', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(() => t.close());

  it('answers the 6th sign-in attempt in a minute with 429 and Retry-After, per account and address', async () => {
    expect((await new TestClient(t.app).register('ivan')).statusCode).toBe(201);
    for (let i = 1; i <= 5; i += 1) {
      const attempt = await new TestClient(t.app, undefined, '10.0.0.1').login(
        'ivan',
        'wrong password guess',
      );
      expect(attempt.stage, `attempt ${i}`).toBe('client-refused');
    }
    // The right password, from the same address, in a lookalike spelling: the same budget.
    const sixth = await new TestClient(t.app, undefined, '10.0.0.1').login('IVAN');
    expect(sixth.stage).toBe('start');
    if (sixth.stage !== 'start') return;
    expect(sixth.response.statusCode).toBe(429);
    expect(Number(sixth.response.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(sixth.response.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(sixth.response.json()).toMatchObject({ code: 'CHAT_ERR_RATE_LIMITED' });

    // One address guessing at many accounts is stopped too.
    for (let i = 0; i < 5; i += 1) {
      const guess = await new TestClient(t.app, undefined, '10.9.9.9').login(`someone${i}`, 'x');
      expect(guess.stage).toBe('client-refused');
    }
    const blocked = await new TestClient(t.app, undefined, '10.9.9.9').login('another', 'x');
    expect(blocked.stage).toBe('start');
    if (blocked.stage === 'start') expect(blocked.response.statusCode).toBe(429);
  });

  it('lets the owner sign in while strangers elsewhere flood sign-ins for the name', async () => {
    expect((await new TestClient(t.app, undefined, '10.1.0.1').register('judy')).statusCode).toBe(
      201,
    );
    // One stranger floods from one address: refused after its own five, and those refusals
    // do not spend the account's ceiling.
    const statuses: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      const flood = await new TestClient(t.app, undefined, '203.0.113.66').startLogin(
        'judy',
        'a guess',
      );
      statuses.push(flood.response.statusCode);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(35);
    // A few more strangers, each from its own address, each spending its own five.
    for (let a = 1; a <= 4; a += 1) {
      for (let i = 0; i < 6; i += 1) {
        await new TestClient(t.app, undefined, `203.0.113.${a}`).startLogin('judy', 'a guess');
      }
    }
    // The owner, from their own address, with the right password: signed in.
    const owner = await new TestClient(t.app, undefined, '10.1.0.1').login('judy');
    expect(owner.stage).toBe('finish');
    if (owner.stage === 'finish') expect(owner.response.statusCode).toBe(200);
    // The looser ceiling for the account still bounds guessing spread over many addresses.
    const ceiling = Limits.LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE;
    const spent = 5 + 4 * 5 + 1;
    let refused = 0;
    for (let a = 0; a < ceiling - spent + 1; a += 1) {
      const attempt = await new TestClient(t.app, undefined, `198.51.100.${a}`).startLogin(
        'judy',
        'a guess',
      );
      if (attempt.response.statusCode === 429) refused += 1;
    }
    expect(refused).toBe(1);
  });
});

describeEachDialect('registration rate limit', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect, { env: { RATE_LIMIT_REGISTRATIONS_PER_HOUR: '2' } });
  });
  afterAll(() => t.close());

  it('counts account creation itself, so skipping the first step does not dodge the limit', async () => {
    const client = new TestClient(t.app, undefined, '10.7.7.7');
    const finish = (username: string) =>
      client.send('POST', '/api/auth/register/finish', {
        username,
        registrationRecord: 'A'.repeat(256),
      });
    expect((await finish('direct1')).statusCode).toBe(201);
    expect((await finish('direct2')).statusCode).toBe(201);
    const third = await finish('direct3');
    expect(third.statusCode).toBe(429);
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    expect(await storedUsernames(t)).not.toContain('direct3');
  });
});

describeEachDialect('registration is its own first sign-in', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    // The default sign-in limits: before, the sign-in after each registration counted
    // against the address's five a minute and the sixth newcomer was refused, with an account.
    t = await createTestApp(dialect, { env: { RATE_LIMIT_REGISTRATIONS_PER_HOUR: '8' } });
  });
  afterAll(() => t.close());

  it('signs in every registration from one address, or refuses it before the account exists', async () => {
    const outcomes: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const client = new TestClient(t.app, undefined, '10.8.8.8');
      const username = `newcomer${i}`;
      const registered = await client.register(username);
      outcomes.push(registered.statusCode);
      const stored = await t.storage.db
        .selectFrom('users')
        .select('id')
        .where('username_index', '=', t.vault.index('username', username))
        .executeTakeFirst();
      if (registered.statusCode === 201) {
        expect(registered.json()).toMatchObject({
          user: { username },
          device: { name: 'Chrome on Linux', current: true },
        });
        const session = await client.get('/api/auth/session');
        expect(session.statusCode, username).toBe(200);
        expect(session.json()).toMatchObject({ user: { username } });
        expect(stored).toBeDefined();
      } else {
        expect(registered.statusCode).toBe(429);
        expect(registered.json()).toMatchObject({ code: 'CHAT_ERR_RATE_LIMITED' });
        expect(client.cookie('__Host-sc_session')).toBeUndefined();
        // Refused before the account exists: the name is still free.
        expect(stored).toBeUndefined();
      }
    }
    expect(outcomes).toEqual([...Array<number>(8).fill(201), 429, 429]);
    // One device per registration, and its sign-in is in the audit log.
    const logins = await t.storage.db
      .selectFrom('audit_log')
      .select('event')
      .where('event', '=', 'account.login')
      .execute();
    expect(logins).toHaveLength(8);
  });
});
