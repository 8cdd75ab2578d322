/**
 * The admin console's account actions and figures through the real HTTP API and CLI, on
 * SQLite and PostgreSQL: suspending ends every session and refuses sign-in, restoring allows
 * it again, roles change (never leaving no administrator), and the figures count what is there.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { PASSWORD, TestClient, signedIn } from './support/client.js';
import { cliEnv, createTestApp, describeEachDialect, type TestApp } from './support/harness.js';

const tokenOf = (url: string) => new URL(url).hash.replace('#token=', '');

describeEachDialect('admin console', (dialect) => {
  let t: TestApp;
  let admin: TestClient;
  let adminId: string;

  beforeAll(async () => {
    t = await createTestApp(dialect, { env: { RATE_LIMIT_LOGIN_PER_MINUTE: '1000' } });
    const setup = await t.app.services.accounts.createAdminSetupLink();
    admin = new TestClient(t.app);
    const registered = await admin.register('overseer', PASSWORD, { setupToken: tokenOf(setup) });
    adminId = registered.json<{ user: { id: string } }>().user.id;
  });
  afterAll(() => t.close());

  const idOf = async (client: TestClient) =>
    (await client.get('/api/auth/session')).json<{ user: { id: string } }>().user.id;

  it('lists accounts with their state', async () => {
    await signedIn(t.app, 'listed');
    const answer = await admin.get('/api/admin/users');
    const users = answer.json<{
      users: { username: string; devices: number; suspendedAt: null; lastSeenAt: string }[];
    }>().users;
    const listed = users.find((u) => u.username === 'listed');
    expect(listed).toMatchObject({ devices: 1, suspendedAt: null, role: 'member' });
    expect(typeof listed?.lastSeenAt).toBe('string');
  });

  it('suspends an account: sessions end, sign-in is refused; restoring allows it again', async () => {
    const member = await signedIn(t.app, 'unruly');
    const id = await idOf(member);
    const suspended = await admin.send('POST', `/api/admin/users/${id}/suspend`, {
      suspended: true,
    });
    expect(suspended.statusCode, suspended.body).toBe(200);
    expect(suspended.json<{ suspendedAt: string | null }>().suspendedAt).not.toBeNull();
    expect((await member.get('/api/auth/session')).statusCode).toBe(401);
    const refused = await new TestClient(t.app).login('unruly');
    expect(refused.stage === 'finish' ? refused.response.statusCode : 401).toBe(401);

    const restored = await admin.send('POST', `/api/admin/users/${id}/suspend`, {
      suspended: false,
    });
    expect(restored.json<{ suspendedAt: string | null }>().suspendedAt).toBeNull();
    const back = await new TestClient(t.app).login('unruly');
    expect(back.stage === 'finish' ? back.response.statusCode : 0).toBe(200);

    const audit = await admin.get('/api/admin/audit?event=account.suspend');
    expect(
      audit.json<{ entries: { userId: string; detail: object }[] }>().entries[0],
    ).toMatchObject({
      userId: id,
      detail: { by: adminId, endedSessions: 1 },
    });
  });

  it('refuses to suspend oneself or the last administrator, and members may not suspend', async () => {
    const self = await admin.send('POST', `/api/admin/users/${adminId}/suspend`, {
      suspended: true,
    });
    expect(self.json()).toMatchObject({ code: 'CHAT_ERR_SELF_SUSPEND' });
    const member = await signedIn(t.app, 'pretender');
    const forbidden = await member.send('POST', `/api/admin/users/${adminId}/suspend`, {
      suspended: true,
    });
    expect(forbidden.statusCode).toBe(403);
    const demoteLast = await admin.send('POST', `/api/admin/users/${adminId}/role`, {
      role: 'member',
    });
    expect(demoteLast.json()).toMatchObject({ code: 'CHAT_ERR_LAST_ADMIN' });
    const bad = await admin.send('POST', `/api/admin/users/${adminId}/role`, { role: 'owner' });
    expect(bad.statusCode).toBe(400);
  });

  it('promotes and demotes from the console', async () => {
    const deputy = await signedIn(t.app, 'deputy');
    const id = await idOf(deputy);
    const promoted = await admin.send('POST', `/api/admin/users/${id}/role`, { role: 'admin' });
    expect(promoted.json()).toMatchObject({ role: 'admin' });
    expect((await deputy.get('/api/admin/users')).statusCode).toBe(200);
    const demoted = await admin.send('POST', `/api/admin/users/${id}/role`, { role: 'member' });
    expect(demoted.json()).toMatchObject({ role: 'member' });
    expect((await deputy.get('/api/admin/users')).statusCode).toBe(403);
  });

  it('counts accounts, rooms and messages, and the storage used', async () => {
    const stats = await admin.get('/api/admin/stats');
    expect(stats.statusCode, stats.body).toBe(200);
    const figures = stats.json<{
      users: number;
      rooms: number;
      connectionsOnThisNode: number;
      storage: { databaseBytes: number | null };
    }>();
    const users = await t.storage.db.selectFrom('users').select('id').execute();
    expect(figures.users).toBe(users.length);
    const rooms = await t.storage.db.selectFrom('rooms').select('id').execute();
    expect(figures.rooms).toBe(rooms.length);
    expect(figures.connectionsOnThisNode).toBe(0);
    expect(figures.storage.databaseBytes).toBeGreaterThan(0);
  });

  it('does the same from the command line', async () => {
    await signedIn(t.app, 'scripted');
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    const env = cliEnv(t);
    expect(await runCli(['admin', 'suspend', 'scripted'], env, io)).toBe(0);
    expect(out.at(-1)).toContain('scripted is suspended');
    expect(await runCli(['admin', 'users'], env, io)).toBe(0);
    expect(out.find((l) => l.startsWith('scripted\t'))).toContain('suspended');
    expect(await runCli(['admin', 'unsuspend', 'scripted'], env, io)).toBe(0);
    expect(out.at(-1)).toContain('can sign in again');
    expect(await runCli(['admin', 'stats'], env, io)).toBe(0);
    expect(out.some((l) => /^users \d+/.test(l))).toBe(true);
    expect(await runCli(['admin', 'suspend', 'no-such-person'], env, io)).toBe(1);
    expect(err.at(-1)).toContain('no user named');
  });
});
