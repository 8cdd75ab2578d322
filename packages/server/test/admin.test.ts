/**
 * Administrators and invitations: the one-time setup link, invite-only registration, the
 * admin routes behind `requireAdmin`, roles, and the audit log.
 */
import * as opaque from '@serenity-kit/opaque';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAccounts } from '../src/domain/accounts.js';
import { PASSWORD, TestClient } from './support/client.js';
import { createTestApp, describeEachDialect, type TestApp } from './support/harness.js';

const tokenOf = (link: string) => new URL(link).hash.replace('#token=', '');

describeEachDialect('open registration and the first administrator', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(() => t.close());

  it('makes nobody an administrator for registering first', async () => {
    const first = await new TestClient(t.app).register('earlybird');
    expect(first.json()).toMatchObject({ user: { role: 'member' } });
  });

  it('announces one setup link in one warn line, and a new one replaces the old', async () => {
    const lines: string[] = [];
    const accounts = createAccounts({
      db: t.storage.db,
      now: Date.now,
      opaqueServerSetup: t.secrets.opaqueServerSetup,
      registration: 'open',
      requireSecondFactor: false,
      publicOrigin: 'https://chat.example.org',
      log: { warn: (line) => lines.push(line) },
      vault: t.vault,
    });
    const older = await accounts.announceFirstRunSetup();
    const newer = await accounts.announceFirstRunSetup();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`${newer}`);
    expect(newer).toMatch(/^https:\/\/chat\.example\.org\/setup#token=[A-Za-z0-9_-]{43}$/);
    const rows = await t.storage.db.selectFrom('setup_tokens').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ origin: 'first-run', used_at: null });
    expect(rows[0]?.token_hash).not.toBe(tokenOf(newer ?? ''));
    expect((rows[0]?.expires_at ?? 0) - (rows[0]?.created_at ?? 0)).toBe(7 * 24 * 3600 * 1000);

    const stale = await new TestClient(t.app).register('stale', PASSWORD, {
      setupToken: tokenOf(older ?? ''),
    });
    expect(stale.statusCode).toBe(403);
    expect(stale.json()).toMatchObject({ code: 'CHAT_ERR_SETUP_TOKEN_INVALID' });

    const admin = await new TestClient(t.app).register('boss', PASSWORD, {
      setupToken: tokenOf(newer ?? ''),
    });
    expect(admin.statusCode).toBe(201);
    expect(admin.json()).toMatchObject({ user: { username: 'boss', role: 'admin' } });
    const again = await new TestClient(t.app).register('boss2', PASSWORD, {
      setupToken: tokenOf(newer ?? ''),
    });
    expect(again.json()).toMatchObject({ code: 'CHAT_ERR_SETUP_TOKEN_INVALID' });

    // Once an administrator exists, nothing more is announced.
    expect(await accounts.announceFirstRunSetup()).toBeNull();
    expect(lines).toHaveLength(2);
  });

  it('keeps the setup link when the registration using it fails', async () => {
    const link = await t.app.services.accounts.createAdminSetupLink();
    const setupToken = tokenOf(link);
    // Start a registration with the link; someone else takes the name before it finishes.
    const client = new TestClient(t.app);
    const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({
      password: PASSWORD,
    });
    const start = await client.send('POST', '/api/auth/register/start', {
      username: 'contender',
      registrationRequest,
      setupToken,
    });
    expect(start.statusCode).toBe(200);
    expect((await new TestClient(t.app).register('contender')).statusCode).toBe(201);
    const { registrationRecord } = opaque.client.finishRegistration({
      clientRegistrationState,
      registrationResponse: start.json<{ registrationResponse: string }>().registrationResponse,
      password: PASSWORD,
    });
    const lost = await client.send('POST', '/api/auth/register/finish', {
      username: 'contender',
      registrationRecord,
      setupToken,
    });
    expect(lost.statusCode).toBe(409);
    // The transaction rolled back: the link still works, once.
    const ok = await new TestClient(t.app).register('deputy', PASSWORD, { setupToken });
    expect(ok.json()).toMatchObject({ user: { role: 'admin' } });
    const row = await t.storage.db
      .selectFrom('setup_tokens')
      .select(['origin', 'used_at'])
      .where('origin', '=', 'cli')
      .executeTakeFirstOrThrow();
    expect(row.used_at).not.toBeNull();
  });
});

describeEachDialect('invite-only registration and administration', (dialect) => {
  let t: TestApp;
  let clock = Date.now();
  let admin: TestClient;
  beforeAll(async () => {
    t = await createTestApp(dialect, {
      now: () => clock,
      env: { REGISTRATION: 'invite', RATE_LIMIT_LOGIN_PER_MINUTE: '1000' },
    });
    const link = await t.app.services.accounts.firstRunSetupLink();
    admin = new TestClient(t.app);
    const registered = await admin.register('root-user', PASSWORD, {
      setupToken: tokenOf(link ?? ''),
    });
    expect(registered.statusCode).toBe(201);
    expect((await admin.login('root-user')).stage).toBe('finish');
  });
  afterAll(() => t.close());

  const invite = async (body: { ttlSeconds?: number } = {}) => {
    const created = await admin.send('POST', '/api/admin/invites', body);
    expect(created.statusCode).toBe(201);
    return created.json<{
      invite: { id: string; expiresAt: string };
      token: string;
      url: string;
    }>();
  };

  it('needs an invitation, and each one works once', async () => {
    const closed = await new TestClient(t.app).register('uninvited');
    expect(closed.statusCode).toBe(403);
    expect(closed.json()).toMatchObject({ code: 'CHAT_ERR_REGISTRATION_CLOSED' });

    const { token, url, invite: info } = await invite({ ttlSeconds: 3600 });
    expect(url).toBe(`http://localhost:3000/invite#token=${token}`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(info.expiresAt) - clock).toBe(3600 * 1000);

    const forged = await new TestClient(t.app).register('forger', PASSWORD, {
      inviteToken: 'A'.repeat(43),
    });
    expect(forged.statusCode).toBe(403);
    expect(forged.json()).toMatchObject({ code: 'CHAT_ERR_INVITE_INVALID' });

    const invited = await new TestClient(t.app).register('invited', PASSWORD, {
      inviteToken: token,
    });
    expect(invited.statusCode).toBe(201);
    expect(invited.json()).toMatchObject({ user: { role: 'member' } });
    const reused = await new TestClient(t.app).register('invited2', PASSWORD, {
      inviteToken: token,
    });
    expect(reused.statusCode).toBe(403);
    expect(reused.json()).toMatchObject({ code: 'CHAT_ERR_INVITE_INVALID' });

    const list = await admin.get('/api/admin/invites');
    const listed = list.json<{ invites: { id: string; usedAt: string | null }[] }>().invites;
    expect(listed.find((i) => i.id === info.id)?.usedAt).toBe(new Date(clock).toISOString());
    const stored = await t.storage.db.selectFrom('invites').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it('refuses an expired invitation', async () => {
    const { token } = await invite({ ttlSeconds: 60 });
    clock += 61_000;
    const late = await new TestClient(t.app).register('toolate', PASSWORD, { inviteToken: token });
    expect(late.statusCode).toBe(403);
    expect(late.json()).toMatchObject({ code: 'CHAT_ERR_INVITE_INVALID' });
  });

  it('refuses a revoked invitation, and a second revoke is "not found"', async () => {
    const { token, invite: info } = await invite();
    expect((await admin.send('DELETE', `/api/admin/invites/${info.id}`)).statusCode).toBe(204);
    const revoked = await new TestClient(t.app).register('revoked', PASSWORD, {
      inviteToken: token,
    });
    expect(revoked.json()).toMatchObject({ code: 'CHAT_ERR_INVITE_INVALID' });
    const again = await admin.send('DELETE', `/api/admin/invites/${info.id}`);
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ code: 'CHAT_ERR_NOT_FOUND' });
  });

  it('keeps every admin route behind the admin role: 401 anonymous, 403 for a member', async () => {
    const { token } = await invite();
    const member = new TestClient(t.app);
    expect(
      (await member.register('plainmember', PASSWORD, { inviteToken: token })).statusCode,
    ).toBe(201);
    await member.login('plainmember');
    const target = (await invite()).invite.id;
    const routes = [
      ['GET', '/api/admin/users'],
      ['GET', '/api/admin/invites'],
      ['POST', '/api/admin/invites'],
      ['DELETE', `/api/admin/invites/${target}`],
      ['DELETE', '/api/admin/invites/AAAAAAAAAAAAAAAAAAAAAA'],
    ] as const;
    for (const [method, url] of routes) {
      const call = (client: TestClient) =>
        method === 'GET'
          ? client.get(url)
          : client.send(method, url, method === 'POST' ? {} : undefined);
      const asMember = await call(member);
      expect(asMember.statusCode, `${method} ${url}`).toBe(403);
      expect(asMember.json()).toMatchObject({ code: 'CHAT_ERR_FORBIDDEN' });
      const anonymous = await call(new TestClient(t.app));
      expect(anonymous.statusCode, `${method} ${url}`).toBe(401);
      expect(anonymous.json()).toMatchObject({ code: 'CHAT_ERR_UNAUTHENTICATED' });
    }
    // Nothing happened on the member's behalf.
    const invites = await t.storage.db.selectFrom('invites').select('id').execute();
    expect(invites.map((i) => i.id)).toContain(target);

    const users = await admin.get('/api/admin/users');
    expect(users.statusCode).toBe(200);
    const listed = users.json<{ users: { username: string; role: string }[] }>().users;
    expect(listed).toContainEqual(
      expect.objectContaining({ username: 'plainmember', role: 'member' }),
    );
    expect(listed).toContainEqual(
      expect.objectContaining({ username: 'root-user', role: 'admin' }),
    );
    expect(JSON.stringify(users.json())).not.toMatch(/opaque|record|skeleton/i);
  });

  it('promotes and demotes, never the last administrator; the session follows the role', async () => {
    const accounts = t.app.services.accounts;
    await expect(accounts.setRole('root-user', 'member')).rejects.toMatchObject({
      code: 'CHAT_ERR_LAST_ADMIN',
    });
    await expect(accounts.setRole('PlainMember', 'admin')).resolves.toMatchObject({
      username: 'plainmember',
      role: 'admin',
    });
    const member = new TestClient(t.app);
    await member.login('plainmember');
    expect((await member.get('/api/admin/users')).statusCode).toBe(200);
    await expect(accounts.setRole('plainmember', 'member')).resolves.toMatchObject({
      role: 'member',
    });
    // The very same session loses admin rights at once.
    expect((await member.get('/api/admin/users')).statusCode).toBe(403);
    await expect(accounts.setRole('nobody', 'admin')).rejects.toMatchObject({
      code: 'CHAT_ERR_NOT_FOUND',
    });
  });

  it('records security events in the audit log, without secrets', async () => {
    await admin.send('POST', '/api/auth/logout');
    const rows = await t.storage.db.selectFrom('audit_log').selectAll().execute();
    const events = new Set(rows.map((r) => r.event));
    for (const e of [
      'setup.link_created',
      'setup.link_used',
      'account.register',
      'account.login',
      'account.logout',
      'account.role_change',
      'invite.create',
      'invite.revoke',
    ]) {
      expect(events, e).toContain(e);
    }
    const text = JSON.stringify(rows);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toMatch(/[A-Za-z0-9_-]{43}/); // no token, hash or OPAQUE message
    const registered = rows.find((r) => r.event === 'account.register');
    expect(registered?.user_id).toBeTruthy();
    expect(await t.vault.open('audit-address', registered?.ip ?? '')).toBe('127.0.0.1');
  });
});
