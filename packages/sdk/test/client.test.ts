/**
 * The sdk against the real server listening on a port (SQLite and PostgreSQL), in Node
 * with the in-memory cookie jar.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createTestApp,
  describeEachDialect,
  type TestApp,
} from '../../server/test/support/harness.js';
import { ChatError, createClient, type SecureChatClient } from '../src/index.js';
import { freePort } from '../../../test-support/net.js';

const PASSWORD = 'violet tractor sings under 7 moons';
const NEW = 'a completely different passphrase 9';

describeEachDialect('sdk accounts', (dialect) => {
  let t: TestApp;
  let origin: string;
  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    t = await createTestApp(dialect, {
      env: { PUBLIC_ORIGIN: origin, RATE_LIMIT_LOGIN_PER_MINUTE: '100' },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  it('registers, signs in, lists devices, changes the password and signs out', async () => {
    const client = createClient({ baseUrl: origin });
    expect(await client.session()).toBeNull();
    // Registering signs in, in the same answer.
    const registered = await client.register({ username: 'Olivia', password: PASSWORD });
    expect(registered.user).toMatchObject({ username: 'olivia', role: 'member' });
    expect(registered.device.current).toBe(true);
    expect(registered.exportKey.byteLength).toBe(64);
    expect((await client.session())?.user.username).toBe('olivia');
    expect(await client.devices()).toHaveLength(1);

    const other = createClient({ baseUrl: origin });
    const login = await other.login({ username: 'olivia', password: PASSWORD });
    expect(login.user.username).toBe('olivia');
    // The export key is the password's, whichever way the device got it.
    expect(login.exportKey).toEqual(registered.exportKey);
    const devices = await client.devices();
    expect(devices).toHaveLength(2);
    expect(devices.filter((d) => d.current).map((d) => d.id)).toEqual([registered.device.id]);

    const third = createClient({ baseUrl: origin });
    const thirdLogin = await third.login({ username: 'olivia', password: PASSWORD });
    await client.revokeDevice(thirdLogin.device.id);
    expect(await third.session()).toBeNull();
    expect((await client.devices()).map((d) => d.id)).not.toContain(thirdLogin.device.id);

    await expect(
      client.changePassword({ currentPassword: 'not my password at all', newPassword: NEW }),
    ).rejects.toMatchObject({ code: 'CHAT_ERR_LOGIN_FAILED' });
    await expect(
      client.changePassword({ currentPassword: PASSWORD, newPassword: 'olivia-password-1' }),
    ).rejects.toMatchObject({ code: 'CHAT_ERR_VALIDATION', field: 'newPassword' });
    await client.changePassword({
      currentPassword: PASSWORD,
      newPassword: NEW,
    });
    expect(await other.session()).toBeNull();
    await client.logout();
    expect(await client.session()).toBeNull();

    await expect(
      createClient({ baseUrl: origin }).login({ username: 'olivia', password: PASSWORD }),
    ).rejects.toMatchObject({
      code: 'CHAT_ERR_LOGIN_FAILED',
    });
    const again = await createClient({ baseUrl: origin }).login({
      username: 'olivia',
      password: NEW,
    });
    expect(again.exportKey).not.toEqual(registered.exportKey);
  });

  it('reports server errors as ChatError with the server code', async () => {
    const client = createClient({ baseUrl: origin });
    await client.register({ username: 'paul', password: PASSWORD });
    const taken = await client
      .register({ username: 'PAUL', password: PASSWORD })
      .catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(ChatError);
    expect(taken).toMatchObject({
      code: 'CHAT_ERR_USERNAME_TAKEN',
      message: 'That username is already taken.',
    });

    await expect(
      client.login({ username: 'paul', password: 'not my password at all' }),
    ).rejects.toMatchObject({
      code: 'CHAT_ERR_LOGIN_FAILED',
    });
    await expect(client.login({ username: 'nobody', password: PASSWORD })).rejects.toMatchObject({
      code: 'CHAT_ERR_LOGIN_FAILED',
    });
  });

  it('refuses a weak password and a bad username before sending anything', async () => {
    const sent: string[] = [];
    const client = createClient({
      baseUrl: origin,
      fetch: (input, init) => {
        sent.push(input instanceof Request ? input.url : input.toString());
        return fetch(input, init);
      },
    });
    await expect(
      client.register({ username: 'quinn', password: 'password123' }),
    ).rejects.toMatchObject({
      code: 'CHAT_ERR_VALIDATION',
      field: 'password',
    });
    await expect(
      client.register({ username: 'no spaces allowed', password: PASSWORD }),
    ).rejects.toMatchObject({
      code: 'CHAT_ERR_USERNAME_INVALID',
    });
    expect(sent).toEqual([]);
  });

  it('says the server is unavailable when it cannot be reached', async () => {
    const port = await freePort();
    const client = createClient({ baseUrl: `http://127.0.0.1:${port}` });
    await expect(client.serverInfo()).rejects.toMatchObject({ code: 'CHAT_ERR_UNAVAILABLE' });
  });
});

describeEachDialect('sdk administration on an invite-only server', (dialect) => {
  let t: TestApp;
  let origin: string;
  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    t = await createTestApp(dialect, {
      env: { PUBLIC_ORIGIN: origin, REGISTRATION: 'invite', RATE_LIMIT_LOGIN_PER_MINUTE: '100' },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  async function signedIn(username: string): Promise<SecureChatClient> {
    const client = createClient({ baseUrl: origin });
    await client.login({ username, password: PASSWORD });
    return client;
  }

  it('makes the first admin from the setup link, then invites a member', async () => {
    const anonymous = createClient({ baseUrl: origin });
    expect(await anonymous.serverInfo()).toMatchObject({ registration: 'invite' });
    await expect(
      anonymous.register({ username: 'rita', password: PASSWORD }),
    ).rejects.toMatchObject({ code: 'CHAT_ERR_REGISTRATION_CLOSED' });

    const link = await t.app.services.accounts.firstRunSetupLink();
    const setupToken = new URL(link ?? '').hash.replace('#token=', '');
    const admin = await anonymous.register({ username: 'rita', password: PASSWORD, setupToken });
    expect(admin.user.role).toBe('admin');

    const rita = await signedIn('rita');
    const created = await rita.admin.createInvite({ ttlSeconds: 3600 });
    expect(created.invite.usedAt).toBeNull();
    expect((await rita.admin.invites()).map((i) => i.id)).toContain(created.invite.id);

    const member = await createClient({ baseUrl: origin }).register({
      username: 'sam',
      password: PASSWORD,
      inviteToken: created.token,
    });
    expect(member.user.role).toBe('member');
    expect((await rita.admin.users()).map((u) => u.username).sort()).toEqual(['rita', 'sam']);

    const unused = await rita.admin.createInvite();
    await rita.admin.revokeInvite(unused.invite.id);
    await expect(
      createClient({ baseUrl: origin }).register({
        username: 'tess',
        password: PASSWORD,
        inviteToken: unused.token,
      }),
    ).rejects.toMatchObject({ code: 'CHAT_ERR_INVITE_INVALID' });

    const sam = await signedIn('sam');
    await expect(sam.admin.users()).rejects.toMatchObject({ code: 'CHAT_ERR_FORBIDDEN' });
    await expect(sam.admin.createInvite()).rejects.toMatchObject({ code: 'CHAT_ERR_FORBIDDEN' });
  });
});
