/**
 * Password-reset links, signing out everywhere else, each user's account activity and the
 * administrators' audit log with its retention: through the real HTTP API on SQLite and
 * PostgreSQL.
 */
import * as opaque from '@serenity-kit/opaque';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { networkOf } from '../src/domain/address.js';
import { PASSWORD, TestClient, signedIn } from './support/client.js';
import { cliEnv, createTestApp, describeEachDialect, type TestApp } from './support/harness.js';

const NEW_PASSWORD = 'a brand new passphrase for the reset';
const tokenOf = (url: string) => new URL(url).hash.replace('#token=', '');

/** Set a new password with a reset link's token, as the reset page does. */
async function resetWith(client: TestClient, token: string, password = NEW_PASSWORD) {
  await opaque.ready;
  const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({
    password,
  });
  const start = await client.send('POST', '/api/auth/reset/start', { token, registrationRequest });
  if (start.statusCode !== 200) return start;
  const { registrationRecord } = opaque.client.finishRegistration({
    clientRegistrationState,
    registrationResponse: start.json<{ registrationResponse: string }>().registrationResponse,
    password,
  });
  return client.send('POST', '/api/auth/reset/finish', { token, registrationRecord });
}

describeEachDialect('password reset, sign-out elsewhere, activity and audit', (dialect) => {
  let t: TestApp;
  let clock = Date.now();
  let admin: TestClient;
  let adminId: string;

  beforeAll(async () => {
    t = await createTestApp(dialect, { now: () => clock, env: { AUDIT_RETENTION_DAYS: '30' } });
    const setup = await t.app.services.accounts.createAdminSetupLink();
    admin = new TestClient(t.app);
    const registered = await admin.register('warden', PASSWORD, { setupToken: tokenOf(setup) });
    adminId = registered.json<{ user: { id: string } }>().user.id;
  });
  afterAll(() => t.close());

  async function userId(client: TestClient): Promise<string> {
    return (await client.get('/api/auth/session')).json<{ user: { id: string } }>().user.id;
  }

  async function resetLink(id: string, body: object = {}) {
    return admin.send('POST', `/api/admin/users/${id}/reset-link`, body);
  }

  it('a reset link sets a new password once, ends every session and device, and is audited', async () => {
    const laptop = await signedIn(t.app, 'forgetful');
    const id = await userId(laptop);
    const identity = await laptop.send('PUT', '/api/account/identity', {
      key: Buffer.alloc(32, 7).toString('base64url'),
      backup: Buffer.alloc(64, 1).toString('base64url'),
    });
    expect(identity.statusCode).toBe(200);
    const phone = new TestClient(
      t.app,
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)',
      '198.51.100.20',
    );
    const phoneIn = await phone.login('forgetful');
    expect(phoneIn.stage === 'finish' ? phoneIn.response.statusCode : 0).toBe(200);

    const made = await resetLink(id);
    expect(made.statusCode, made.body).toBe(201);
    const link = made.json<{ username: string; url: string; expiresAt: string }>();
    expect(link.username).toBe('forgetful');
    expect(link.url).toMatch(/^http:\/\/localhost:3000\/reset#token=[A-Za-z0-9_-]{43}$/);
    const token = tokenOf(link.url);
    // Only the hash is kept.
    const stored = await t.storage.db.selectFrom('reset_links').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(token);

    const stranger = new TestClient(t.app, undefined, '198.51.100.7');
    const check = await stranger.send('POST', '/api/auth/reset/check', { token });
    expect(check.json()).toMatchObject({ username: 'forgetful' });
    expect((await resetWith(stranger, token)).statusCode).toBe(204);

    // Every session ended, every device revoked, the identity cleared.
    expect((await laptop.get('/api/auth/session')).statusCode).toBe(401);
    expect((await phone.get('/api/auth/session')).statusCode).toBe(401);
    const devices = await t.storage.db
      .selectFrom('devices')
      .select('revoked_at')
      .where('user_id', '=', id)
      .execute();
    expect(devices.length).toBe(2);
    expect(devices.every((d) => d.revoked_at !== null)).toBe(true);
    const user = await t.storage.db
      .selectFrom('users')
      .select(['identity_key', 'identity_backup'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(user).toEqual({ identity_key: null, identity_backup: null });

    // Single use: the same link again is refused, at each step.
    for (const path of ['/api/auth/reset/check']) {
      const again = await stranger.send('POST', path, { token });
      expect(again.statusCode).toBe(403);
      expect(again.json()).toMatchObject({ code: 'CHAT_ERR_RESET_LINK_INVALID' });
    }
    expect((await resetWith(stranger, token, 'yet another passphrase here')).statusCode).toBe(403);

    // The old password no longer works; the new one does, and makes a new device.
    const old = await new TestClient(t.app).login('forgetful');
    expect(old.stage === 'finish' ? old.response.statusCode : 401).toBe(401);
    const fresh = new TestClient(t.app);
    const signed = await fresh.login('forgetful', NEW_PASSWORD);
    expect(signed.stage === 'finish' ? signed.response.statusCode : 0).toBe(200);

    const audit = await admin.get('/api/admin/audit?event=account.password_reset');
    const entry = audit.json<{ entries: { userId: string; address: string; detail: object }[] }>()
      .entries[0];
    expect(entry).toMatchObject({
      userId: id,
      address: '198.51.100.7',
      detail: { endedSessions: 2, revokedDevices: 2 },
    });
  });

  it('a link expires, a newer one replaces it, and only administrators make them', async () => {
    const member = await signedIn(t.app, 'drifter');
    const id = await userId(member);
    const first = tokenOf((await resetLink(id)).json<{ url: string }>().url);
    const second = tokenOf((await resetLink(id, { ttlSeconds: 600 })).json<{ url: string }>().url);
    const replaced = await new TestClient(t.app).send('POST', '/api/auth/reset/check', {
      token: first,
    });
    expect(replaced.json()).toMatchObject({ code: 'CHAT_ERR_RESET_LINK_INVALID' });

    clock += 601_000;
    const expired = await resetWith(new TestClient(t.app), second);
    expect(expired.json()).toMatchObject({ code: 'CHAT_ERR_RESET_LINK_INVALID' });
    // Nothing changed: the old password still signs in.
    const still = await new TestClient(t.app).login('drifter');
    expect(still.stage === 'finish' ? still.response.statusCode : 0).toBe(200);

    const forbidden = await member.send('POST', `/api/admin/users/${adminId}/reset-link`, {});
    expect(forbidden.statusCode).toBe(403);
    const tooLong = await resetLink(id, { ttlSeconds: 30 * 24 * 3600 });
    expect(tooLong.statusCode).toBe(400);
    const nobody = await resetLink('AAAAAAAAAAAAAAAAAAAAAA');
    expect(nobody.statusCode).toBe(404);
    const forged = await new TestClient(t.app).send('POST', '/api/auth/reset/check', {
      token: 'x'.repeat(43),
    });
    expect(forged.json()).toMatchObject({ code: 'CHAT_ERR_RESET_LINK_INVALID' });
  });

  it('securechat admin reset-link prints a link that works', async () => {
    await signedIn(t.app, 'shellfriend');
    const out: string[] = [];
    const err: string[] = [];
    const env = cliEnv(t, { PUBLIC_ORIGIN: 'http://localhost:3000' });
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    expect(await runCli(['admin', 'reset-link', 'shellfriend'], env, io)).toBe(0);
    const url = out.find((l) => l.includes('/reset#token='));
    expect(url).toBeDefined();
    const check = await new TestClient(t.app).send('POST', '/api/auth/reset/check', {
      token: tokenOf(url ?? ''),
    });
    expect(check.json()).toMatchObject({ username: 'shellfriend' });
    expect(await runCli(['admin', 'reset-link', 'nobody-here'], env, io)).toBe(1);
    expect(err.at(-1)).toContain('no one with that username');
  });

  it('signs out everywhere else, keeping this session and every device', async () => {
    const here = await signedIn(t.app, 'traveller');
    const there = new TestClient(
      t.app,
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Safari/605',
      '198.51.100.30',
    );
    await there.login('traveller');
    const third = new TestClient(t.app, undefined, '198.51.100.31');
    await third.login('traveller');
    const answer = await here.send('POST', '/api/account/sessions/sign-out-others');
    expect(answer.json()).toEqual({ ended: 2 });
    expect((await here.get('/api/auth/session')).statusCode).toBe(200);
    expect((await there.get('/api/auth/session')).statusCode).toBe(401);
    expect((await third.get('/api/auth/session')).statusCode).toBe(401);
    const devices = await here.get('/api/devices');
    expect(devices.json<{ devices: unknown[] }>().devices).toHaveLength(3);
  });

  it('shows each user their own activity, failed sign-ins folded into a burst', async () => {
    const owner = await signedIn(t.app, 'watchful', '203.0.113.45');
    const someoneElse = await signedIn(t.app, 'bystander');
    const attacker = new TestClient(t.app, undefined, '192.0.2.9');
    for (let i = 0; i < 4; i += 1) {
      const attempt = await attacker.login('watchful', 'not the password at all');
      // The client can't finish with a wrong password: the attempt is left to expire.
      expect(attempt.stage).toBe('client-refused');
    }
    clock += 120_000;
    await t.app.services.accounts.sweepUnfinishedLogins();
    const phone = new TestClient(
      t.app,
      'Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile',
      '198.51.100.40',
    );
    await phone.login('watchful');
    await owner.send('POST', '/api/account/sessions/sign-out-others');

    const page = await owner.get('/api/account/activity');
    expect(page.statusCode, page.body).toBe(200);
    const { entries } = page.json<{
      entries: {
        event: string;
        count: number;
        device: string | null;
        network: string | null;
        newDevice: boolean;
      }[];
    }>();
    expect(entries.map((e) => e.event)).toEqual([
      'account.sign_out_others',
      'account.login',
      'account.login_failed',
      'account.login',
      'account.register',
    ]);
    const burst = entries.find((e) => e.event === 'account.login_failed');
    expect(burst).toMatchObject({ count: 4, network: '192.0.2.0/24' });
    const phoneLogin = entries.find((e) => e.event === 'account.login' && e.newDevice);
    expect(phoneLogin?.device).toMatch(/Android/);
    expect(entries.at(-1)).toMatchObject({ network: '203.0.113.0/24' });
    // Only one's own: the bystander's registration is not there.
    const theirs = await someoneElse.get('/api/account/activity');
    expect(theirs.json<{ entries: { event: string }[] }>().entries.map((e) => e.event)).toEqual([
      'account.login',
      'account.register',
    ]);
  });

  it('gives administrators the audit log with filters and pages, and nobody else', async () => {
    const member = await signedIn(t.app, 'auditee');
    expect((await member.get('/api/admin/audit')).statusCode).toBe(403);

    const byUser = await admin.get('/api/admin/audit?username=auditee');
    const rows = byUser.json<{ entries: { event: string; username: string }[] }>().entries;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.username === 'auditee')).toBe(true);

    const family = await admin.get('/api/admin/audit?event=reset');
    const events = family.json<{ entries: { event: string }[] }>().entries.map((e) => e.event);
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events)).toEqual(new Set(['reset.link_created']));

    const first = await admin.get('/api/admin/audit?limit=2');
    const one = first.json<{ entries: { id: number }[]; next: number }>();
    expect(one.entries).toHaveLength(2);
    const second = await admin.get(`/api/admin/audit?limit=2&before=${one.next}`);
    const two = second.json<{ entries: { id: number }[] }>();
    expect(two.entries[0]?.id).toBeLessThan(one.entries[1]?.id ?? 0);

    const future = new Date(clock + 3_600_000).toISOString();
    const none = await admin.get(`/api/admin/audit?since=${encodeURIComponent(future)}`);
    expect(none.json<{ entries: unknown[] }>().entries).toEqual([]);

    for (const bad of [
      'limit=0',
      'limit=abc',
      'limit=101',
      'event=DROP%20TABLE',
      'since=yesterday',
    ]) {
      const refused = await admin.get(`/api/admin/audit?${bad}`);
      expect(refused.statusCode, bad).toBe(400);
    }
    const unknown = await admin.get('/api/admin/audit?username=nobody-at-all');
    expect(unknown.statusCode).toBe(404);
  });

  it('deletes audit events past the retention', async () => {
    const before = await t.storage.db.selectFrom('audit_log').select('id').execute();
    expect(before.length).toBeGreaterThan(0);
    clock += 31 * 86_400_000;
    await signedIn(t.app, 'latecomer');
    const pruned = await t.app.services.accounts.pruneAudit(t.config.auditRetentionDays);
    expect(pruned).toBe(before.length);
    const left = await t.storage.db.selectFrom('audit_log').select('event').execute();
    expect(left.map((r) => r.event).sort()).toEqual(['account.login', 'account.register']);
  });
});

describe('the network an address is shown as', () => {
  it('shortens IPv4 to its /24 and IPv6 to its /48', () => {
    expect(networkOf('203.0.113.45')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:192.0.2.1')).toBe('192.0.2.0/24');
    expect(networkOf('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(networkOf('not an address')).toBeNull();
  });
});

describe('retention configuration', () => {
  it('is validated', async () => {
    const { loadConfig } = await import('../src/config.js');
    expect(loadConfig({ AUDIT_RETENTION_DAYS: '90' }).auditRetentionDays).toBe(90);
    expect(() => loadConfig({ AUDIT_RETENTION_DAYS: '0' })).toThrow(/AUDIT_RETENTION_DAYS/);
  });
});
