/**
 * Two-factor sign-in (TOTP with recovery codes) through the real HTTP API on SQLite and
 * PostgreSQL: enrolment, a sign-in that has no session before its code, replay, single-use
 * recovery codes, the per-account budget of wrong codes under hostile input, turning it off,
 * REQUIRE_2FA, and an administrator's reset (console and CLI).
 */
import { Limits } from '@securechat/protocol';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { runCli } from '../src/cli.js';
import { PASSWORD, TestClient, signedIn } from './support/client.js';
import { cliEnv, createTestApp, describeEachDialect, type TestApp } from './support/harness.js';

const SESSION = '__Host-sc_session';
const PERIOD = Limits.TOTP_PERIOD_SECONDS * 1000;
const tokenOf = (url: string) => new URL(url).hash.replace('#token=', '');

interface Challenge {
  secondFactor: { ticket: string; step: 'verify' | 'enrol'; expiresAt: string };
}

/** The code an authenticator app shows for `secret` at `at`. */
const codeAt = (secret: string, at: number) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at });

/** The OPAQUE sign-in, which (with a second factor due) answers with a ticket and no cookie. */
async function challenge(client: TestClient, username: string): Promise<Challenge> {
  const outcome = await client.login(username);
  if (outcome.stage !== 'finish') throw new Error(`sign-in stopped at ${outcome.stage}`);
  expect(outcome.response.statusCode, outcome.response.body).toBe(202);
  expect(outcome.response.cookies.find((c) => c.name === SESSION)).toBeUndefined();
  return outcome.response.json<Challenge>();
}

/** A new address for each client: sign-ins and registrations are limited per address. */
let lastOctet = 0;
const address = () => `198.51.100.${(lastOctet += 1)}`;

function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json<{ code: string }>().code).toBe(code);
}

describeEachDialect('two-factor sign-in', (dialect) => {
  let t: TestApp;
  let clock = Date.UTC(2026, 0, 5, 12, 0, 0);
  let admin: TestClient;

  beforeAll(async () => {
    t = await createTestApp(dialect, { now: () => clock });
    const setup = await t.app.services.accounts.createAdminSetupLink();
    admin = new TestClient(t.app, undefined, address());
    const registered = await admin.register('keeper', PASSWORD, { setupToken: tokenOf(setup) });
    expect(registered.statusCode).toBe(201);
  });
  afterAll(() => t.close());

  /** Move the clock to the next time step, so a new code is due. */
  const tick = () => {
    clock += PERIOD;
  };

  async function userIdOf(username: string): Promise<string> {
    const row = await t.storage.db
      .selectFrom('users')
      .select('id')
      .where('username_index', '=', t.vault.index('username', username))
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** Register `username` and turn TOTP on; returns the secret and the recovery codes. */
  async function enrolled(username: string) {
    const client = await signedIn(t.app, username);
    const started = await client.send('POST', '/api/account/two-factor/totp/start');
    expect(started.statusCode, started.body).toBe(200);
    const { secret, uri } = started.json<{ secret: string; uri: string }>();
    const confirmed = await client.send('POST', '/api/account/two-factor/totp/confirm', {
      code: codeAt(secret, clock),
    });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    const { recoveryCodes } = confirmed.json<{ recoveryCodes: string[] }>();
    tick();
    return { client, secret, uri, recoveryCodes };
  }

  async function events(username: string): Promise<string[]> {
    const rows = await t.storage.db
      .selectFrom('audit_log')
      .select('event')
      .where('user_id', '=', await userIdOf(username))
      .orderBy('id')
      .execute();
    return rows.map((r) => r.event);
  }

  it('enrols with a QR secret confirmed by its first code, and hands out 10 recovery codes once', async () => {
    const client = await signedIn(t.app, 'careful', address());
    expect((await client.get('/api/account/two-factor')).json()).toEqual({
      totp: false,
      passkeys: 0,
      recoveryCodesLeft: 0,
      required: false,
    });
    const started = await client.send('POST', '/api/account/two-factor/totp/start');
    const { secret, uri } = started.json<{ secret: string; uri: string }>();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(uri).toMatch(/^otpauth:\/\/totp\/.*careful\?.*secret=[A-Z2-7]{32}/);
    expect(uri).toContain('period=30');
    // Pending until confirmed: a sign-in still gets a session with the password alone.
    const meanwhile = await new TestClient(t.app, undefined, address()).login('careful');
    expect(meanwhile.stage === 'finish' && meanwhile.response.statusCode).toBe(200);

    const wrong = String((Number(codeAt(secret, clock)) + 1) % 1_000_000).padStart(6, '0');
    expectError(
      await client.send('POST', '/api/account/two-factor/totp/confirm', { code: wrong }),
      401,
      'CHAT_ERR_SECOND_FACTOR_FAILED',
    );
    const confirmed = await client.send('POST', '/api/account/two-factor/totp/confirm', {
      code: codeAt(secret, clock),
    });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    const { recoveryCodes } = confirmed.json<{ recoveryCodes: string[] }>();
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
    // Stored hashed; the secret went through the vault; a second start is refused.
    const stored = await t.storage.db.selectFrom('recovery_codes').selectAll().execute();
    for (const code of recoveryCodes) expect(JSON.stringify(stored)).not.toContain(code);
    expectError(
      await client.send('POST', '/api/account/two-factor/totp/start'),
      409,
      'CHAT_ERR_TWO_FACTOR_STATE',
    );
    expect((await client.get('/api/account/two-factor')).json()).toMatchObject({
      totp: true,
      recoveryCodesLeft: 10,
    });
    expect(await events('careful')).toEqual(
      expect.arrayContaining(['totp.enable', 'account.second_factor_failed']),
    );
    tick();
  });

  it('asks for the code after the password and before any session exists', async () => {
    const { secret } = await enrolled('doubled');
    const id = await userIdOf('doubled');
    const before = await t.storage.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', id)
      .execute();

    const phone = new TestClient(t.app, undefined, address());
    const { secondFactor } = await challenge(phone, 'doubled');
    expect(secondFactor.step).toBe('verify');
    expect(Date.parse(secondFactor.expiresAt) - clock).toBe(
      Limits.SECOND_FACTOR_TTL_SECONDS * 1000,
    );
    // No session: not in the browser, not on the server; the ticket is kept only hashed.
    expectError(await phone.get('/api/auth/session'), 401, 'CHAT_ERR_UNAUTHENTICATED');
    expectError(await phone.get('/api/devices'), 401, 'CHAT_ERR_UNAUTHENTICATED');
    const during = await t.storage.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', id)
      .execute();
    expect(during).toHaveLength(before.length);
    const tickets = await t.storage.db.selectFrom('second_factor_tickets').selectAll().execute();
    expect(JSON.stringify(tickets)).not.toContain(secondFactor.ticket);

    const right = await phone.send('POST', '/api/auth/login/second-factor', {
      ticket: secondFactor.ticket,
      code: codeAt(secret, clock),
    });
    expect(right.statusCode, right.body).toBe(200);
    expect(phone.cookie(SESSION)).toBeDefined();
    expect((await phone.get('/api/auth/session')).json()).toMatchObject({
      user: { username: 'doubled' },
    });
    // The ticket is spent.
    tick();
    expectError(
      await phone.send('POST', '/api/auth/login/second-factor', {
        ticket: secondFactor.ticket,
        code: codeAt(secret, clock),
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_EXPIRED',
    );
    tick();
  });

  it('refuses a code used once already, and an older one, within its window', async () => {
    const { secret } = await enrolled('replayed');
    const first = new TestClient(t.app, undefined, address());
    const a = await challenge(first, 'replayed');
    const code = codeAt(secret, clock);
    const ok = await first.send('POST', '/api/auth/login/second-factor', {
      ticket: a.secondFactor.ticket,
      code,
    });
    expect(ok.statusCode).toBe(200);

    // Someone who saw the code tries it at once, in the same step and the next.
    const thief = new TestClient(t.app, undefined, address());
    const b = await challenge(thief, 'replayed');
    expectError(
      await thief.send('POST', '/api/auth/login/second-factor', {
        ticket: b.secondFactor.ticket,
        code,
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_FAILED',
    );
    clock += PERIOD;
    // `code` is still inside the window (one step back) but its step is spent.
    expectError(
      await thief.send('POST', '/api/auth/login/second-factor', {
        ticket: b.secondFactor.ticket,
        code,
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_FAILED',
    );
    expect(thief.cookie(SESSION)).toBeUndefined();
    // The next step's code works.
    const fresh = await thief.send('POST', '/api/auth/login/second-factor', {
      ticket: b.secondFactor.ticket,
      code: codeAt(secret, clock),
    });
    expect(fresh.statusCode).toBe(200);
    tick();
  });

  it('takes each recovery code once', async () => {
    const { client, recoveryCodes } = await enrolled('lostphone');
    const code = recoveryCodes[3] ?? '';
    const laptop = new TestClient(t.app, undefined, address());
    const a = await challenge(laptop, 'lostphone');
    const used = await laptop.send('POST', '/api/auth/login/second-factor', {
      ticket: a.secondFactor.ticket,
      recoveryCode: code,
    });
    expect(used.statusCode, used.body).toBe(200);

    const again = new TestClient(t.app, undefined, address());
    const b = await challenge(again, 'lostphone');
    expectError(
      await again.send('POST', '/api/auth/login/second-factor', {
        ticket: b.secondFactor.ticket,
        recoveryCode: code,
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_FAILED',
    );
    expect((await client.get('/api/account/two-factor')).json()).toMatchObject({
      recoveryCodesLeft: 9,
    });
    expect(await events('lostphone')).toEqual(
      expect.arrayContaining(['totp.recovery_used', 'account.second_factor_failed']),
    );
  });

  it('refuses hostile input and stops guessing at the per-account budget, whatever the ticket', async () => {
    const { secret } = await enrolled('targeted');
    const attacker = new TestClient(t.app, undefined, address());
    const { secondFactor } = await challenge(attacker, 'targeted');
    const { ticket } = secondFactor;

    for (const body of [
      { ticket, code: '12345' },
      { ticket, code: '12345a' },
      { ticket, code: '1'.repeat(10_000) },
      { ticket, code: 123456 },
      { ticket, recoveryCode: 'ABCDE-FGHIJ' },
      { ticket, recoveryCode: 'abcde-fgh1j' },
      { ticket, code: '123456', recoveryCode: 'abcde-fghij' },
      { ticket },
      { ticket: 'x', code: '123456' },
      { ticket, code: '123456', extra: true },
    ]) {
      const response = await attacker.send('POST', '/api/auth/login/second-factor', body);
      expect(response.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
    // A made-up ticket is no sign-in.
    expectError(
      await attacker.send('POST', '/api/auth/login/second-factor', {
        ticket: 'A'.repeat(43),
        code: '123456',
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_EXPIRED',
    );

    // Twenty guesses at once: at most the budget is looked at; the rest are refused unread.
    const right = codeAt(secret, clock);
    const wrong = String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
    const guesses = await Promise.all(
      Array.from({ length: 20 }, () =>
        attacker.send('POST', '/api/auth/login/second-factor', { ticket, code: wrong }),
      ),
    );
    const statuses = guesses.map((g) => g.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(Limits.SECOND_FACTOR_FAILURES_MAX);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - Limits.SECOND_FACTOR_FAILURES_MAX);
    const limited = guesses.find((g) => g.statusCode === 429);
    expect(limited?.json<{ retryAfter: number }>().retryAfter).toBeGreaterThan(0);

    // The budget is the account's: a new ticket (the attacker knows the password) and even the
    // right code and a recovery code are refused until the window has passed.
    const other = new TestClient(t.app, undefined, address());
    const again = await challenge(other, 'targeted');
    expectError(
      await other.send('POST', '/api/auth/login/second-factor', {
        ticket: again.secondFactor.ticket,
        code: right,
      }),
      429,
      'CHAT_ERR_RATE_LIMITED',
    );
    clock += Limits.SECOND_FACTOR_FAILURE_WINDOW_SECONDS * 1000;
    const owner = new TestClient(t.app, undefined, address());
    const mine = await challenge(owner, 'targeted');
    const through = await owner.send('POST', '/api/auth/login/second-factor', {
      ticket: mine.secondFactor.ticket,
      code: codeAt(secret, clock),
    });
    expect(through.statusCode, through.body).toBe(200);
    // The failures are on the owner's account activity, folded into one burst.
    const activity = await owner.get('/api/account/activity');
    const failures = activity
      .json<{ entries: { event: string; count: number }[] }>()
      .entries.find((e) => e.event === 'account.second_factor_failed');
    expect(failures?.count).toBe(Limits.SECOND_FACTOR_FAILURES_MAX);
    tick();
  });

  it('lets a sign-in wait only so long for its code', async () => {
    const { secret } = await enrolled('slowpoke');
    const client = new TestClient(t.app, undefined, address());
    const { secondFactor } = await challenge(client, 'slowpoke');
    clock += Limits.SECOND_FACTOR_TTL_SECONDS * 1000;
    expectError(
      await client.send('POST', '/api/auth/login/second-factor', {
        ticket: secondFactor.ticket,
        code: codeAt(secret, clock),
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_EXPIRED',
    );
    tick();
  });

  it('turns off only with a fresh code, and new recovery codes replace the old', async () => {
    const { client, secret, recoveryCodes } = await enrolled('changeable');
    expectError(
      await client.send('POST', '/api/account/two-factor/totp/disable', {}),
      400,
      'CHAT_ERR_VALIDATION',
    );
    expectError(
      await client.send('POST', '/api/account/two-factor/totp/disable', { code: '000000' }),
      401,
      'CHAT_ERR_SECOND_FACTOR_FAILED',
    );
    const renewed = await client.send('POST', '/api/account/two-factor/recovery-codes', {
      code: codeAt(secret, clock),
    });
    expect(renewed.statusCode, renewed.body).toBe(200);
    const fresh = renewed.json<{ recoveryCodes: string[] }>().recoveryCodes;
    expect(fresh).toHaveLength(10);
    // An old recovery code no longer works; a new one turns TOTP off.
    expectError(
      await client.send('POST', '/api/account/two-factor/totp/disable', {
        recoveryCode: recoveryCodes[0],
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_FAILED',
    );
    const off = await client.send('POST', '/api/account/two-factor/totp/disable', {
      recoveryCode: fresh[0],
    });
    expect(off.statusCode, off.body).toBe(204);
    expect((await client.get('/api/account/two-factor')).json()).toMatchObject({ totp: false });
    expect(
      await t.storage.db
        .selectFrom('recovery_codes')
        .selectAll()
        .where('user_id', '=', await userIdOf('changeable'))
        .execute(),
    ).toHaveLength(0);
    const again = await new TestClient(t.app, undefined, address()).login('changeable');
    expect(again.stage === 'finish' && again.response.statusCode).toBe(200);
    expect(await events('changeable')).toEqual(
      expect.arrayContaining(['totp.enable', 'totp.recovery_regenerated', 'totp.disable']),
    );
    tick();
  });

  it('lets an administrator remove a user’s second factor, from the console or the CLI, audited', async () => {
    await enrolled('locked-out');
    const id = await userIdOf('locked-out');
    const users = (await admin.get('/api/admin/users')).json<{
      users: { id: string; twoFactor: boolean }[];
    }>().users;
    expect(users.find((u) => u.id === id)?.twoFactor).toBe(true);

    const member = await signedIn(t.app, 'not-an-admin', address());
    expectError(
      await member.send('POST', `/api/admin/users/${id}/reset-2fa`),
      403,
      'CHAT_ERR_FORBIDDEN',
    );
    const reset = await admin.send('POST', `/api/admin/users/${id}/reset-2fa`);
    expect(reset.statusCode, reset.body).toBe(200);
    expect(reset.json()).toMatchObject({ id, twoFactor: false });
    const back = new TestClient(t.app, undefined, address());
    const outcome = await back.login('locked-out');
    expect(outcome.stage === 'finish' && outcome.response.statusCode).toBe(200);
    const activity = (await back.get('/api/account/activity')).json<{
      entries: { event: string; byAdmin: boolean }[];
    }>();
    expect(activity.entries.find((e) => e.event === 'admin.second_factor_removed')).toMatchObject({
      byAdmin: true,
    });

    await enrolled('shell-reset');
    const out: string[] = [];
    const err: string[] = [];
    const env = cliEnv(t);
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    expect(await runCli(['admin', 'reset-2fa', 'shell-reset'], env, io)).toBe(0);
    expect(out.at(-1)).toContain('shell-reset');
    const direct = await new TestClient(t.app, undefined, address()).login('shell-reset');
    expect(direct.stage === 'finish' && direct.response.statusCode).toBe(200);
    expect(await events('shell-reset')).toContain('admin.second_factor_removed');
    expect(await runCli(['admin', 'reset-2fa', 'nobody-at-all'], env, io)).toBe(1);
  });
});

describeEachDialect('REQUIRE_2FA', (dialect) => {
  let t: TestApp;
  let clock = Date.UTC(2026, 0, 6, 9, 0, 0);

  beforeAll(async () => {
    t = await createTestApp(dialect, { now: () => clock, env: { REQUIRE_2FA: 'true' } });
  });
  afterAll(() => t.close());

  it('sends an account without a second factor to enrolment, with no session until it is done', async () => {
    const client = new TestClient(t.app, undefined, address());
    const registered = await client.register('newcomer');
    expect(registered.statusCode, registered.body).toBe(202);
    const { secondFactor } = registered.json<Challenge>();
    expect(secondFactor.step).toBe('enrol');
    expect(client.cookie(SESSION)).toBeUndefined();
    expectError(await client.get('/api/auth/session'), 401, 'CHAT_ERR_UNAUTHENTICATED');
    expectError(
      await client.send('POST', '/api/account/two-factor/totp/start'),
      401,
      'CHAT_ERR_UNAUTHENTICATED',
    );
    // An enrolment ticket is no sign-in ticket.
    expectError(
      await client.send('POST', '/api/auth/login/second-factor', {
        ticket: secondFactor.ticket,
        code: '123456',
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_EXPIRED',
    );

    // Next time they sign in, the same: enrol first.
    const later = new TestClient(t.app, undefined, address());
    const outcome = await later.login('newcomer');
    expect(outcome.stage === 'finish' && outcome.response.statusCode).toBe(202);
    const ticket =
      outcome.stage === 'finish' ? outcome.response.json<Challenge>().secondFactor.ticket : '';
    const started = await later.send('POST', '/api/auth/login/enrol/start', { ticket });
    expect(started.statusCode, started.body).toBe(200);
    const { secret } = started.json<{ secret: string }>();
    const finished = await later.send('POST', '/api/auth/login/enrol/finish', {
      ticket,
      code: codeAt(secret, clock),
    });
    expect(finished.statusCode, finished.body).toBe(200);
    expect(finished.json<{ recoveryCodes: string[] }>().recoveryCodes).toHaveLength(10);
    expect(finished.json()).toMatchObject({ user: { username: 'newcomer' } });
    expect(later.cookie(SESSION)).toBeDefined();
    expect((await later.get('/api/account/two-factor')).json()).toEqual({
      totp: true,
      passkeys: 0,
      recoveryCodesLeft: 10,
      required: true,
    });
    // The enrolment ticket is spent; turning it off is refused on this server.
    expectError(
      await later.send('POST', '/api/auth/login/enrol/start', { ticket }),
      401,
      'CHAT_ERR_SECOND_FACTOR_EXPIRED',
    );
    clock += PERIOD;
    expectError(
      await later.send('POST', '/api/account/two-factor/totp/disable', {
        code: codeAt(secret, clock),
      }),
      403,
      'CHAT_ERR_FORBIDDEN',
    );

    // From now on a sign-in asks for the code.
    const third = new TestClient(t.app, undefined, address());
    const next = await third.login('newcomer');
    expect(next.stage === 'finish' && next.response.json<Challenge>().secondFactor.step).toBe(
      'verify',
    );
  });
});
