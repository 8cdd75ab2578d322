/**
 * Passkeys as a second factor through the real HTTP API, with a software authenticator made
 * here from node:crypto (P-256, "none" attestation), so the server's checks can be broken on
 * purpose: user verification, the signature counter, the origin, single-use challenges,
 * hostile bodies, and removal behind a fresh password confirmation. (Chromium's own
 * authenticator drives the same routes in e2e/two-factor.test.ts.)
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { Limits } from '@securechat/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ORIGIN, PASSWORD, TestClient, signedIn } from './support/client.js';
import { createTestApp, describeEachDialect, type TestApp } from './support/harness.js';

const RP_ID = new URL(ORIGIN).hostname;
const b64u = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** A CBOR byte string header (the few lengths this test needs). */
function bstr(bytes: Buffer): Buffer {
  const head =
    bytes.length < 24
      ? Buffer.from([0x40 + bytes.length])
      : bytes.length < 256
        ? Buffer.from([0x58, bytes.length])
        : Buffer.from([0x59, bytes.length >> 8, bytes.length & 0xff]);
  return Buffer.concat([head, bytes]);
}
const text = (s: string) => Buffer.concat([Buffer.from([0x60 + s.length]), Buffer.from(s)]);

/** A software authenticator holding one P-256 credential. */
class SoftKey {
  readonly id = randomBytes(16);
  private readonly privateKey: KeyObject;
  private readonly cose: Buffer;
  counter = 0;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x ?? '', 'base64url');
    const y = Buffer.from(jwk.y ?? '', 'base64url');
    // COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
    this.cose = Buffer.concat([
      Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]),
      bstr(x),
      Buffer.from([0x22]),
      bstr(y),
    ]);
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  register(options: Record<string, unknown>, flags = UP | UV, origin = ORIGIN) {
    const authData = Buffer.concat([
      sha256(RP_ID),
      Buffer.from([flags | AT]),
      u32(this.counter),
      Buffer.alloc(16),
      Buffer.from([0, this.id.length]),
      this.id,
      this.cose,
    ]);
    const attestation = Buffer.concat([
      Buffer.from([0xa3]),
      text('fmt'),
      text('none'),
      text('attStmt'),
      Buffer.from([0xa0]),
      text('authData'),
      bstr(authData),
    ]);
    return {
      id: b64u(this.id),
      rawId: b64u(this.id),
      response: {
        clientDataJSON: b64u(this.clientData('webauthn.create', String(options.challenge), origin)),
        attestationObject: b64u(attestation),
        transports: ['internal'],
      },
      type: 'public-key',
      clientExtensionResults: {},
    };
  }

  assert(
    options: Record<string, unknown>,
    { flags = UP | UV, origin = ORIGIN, counter = this.counter + 1 } = {},
  ) {
    this.counter = counter;
    const authData = Buffer.concat([sha256(RP_ID), Buffer.from([flags]), u32(counter)]);
    const clientData = this.clientData('webauthn.get', String(options.challenge), origin);
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(clientData)]),
      this.privateKey,
    );
    return {
      id: b64u(this.id),
      rawId: b64u(this.id),
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
      },
      type: 'public-key',
      clientExtensionResults: {},
    };
  }
}

let lastOctet = 0;
const address = () => `203.0.113.${(lastOctet += 1)}`;

function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json<{ code: string }>().code).toBe(code);
}

describeEachDialect('passkeys', (dialect) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(() => t.close());

  async function addPasskey(client: TestClient, key: SoftKey, name: string, flags?: number) {
    const start = await client.send('POST', '/api/account/passkeys/add/start');
    expect(start.statusCode, start.body).toBe(200);
    const { options } = start.json<{ options: Record<string, unknown> }>();
    return client.send('POST', '/api/account/passkeys/add/finish', {
      name,
      credential: key.register(options, flags),
    });
  }

  /** Password, then the passkey options of the second step. */
  async function passkeyStep(username: string) {
    const client = new TestClient(t.app, undefined, address());
    const outcome = await client.login(username);
    if (outcome.stage !== 'finish') throw new Error('no sign-in');
    expect(outcome.response.statusCode).toBe(202);
    const { secondFactor } = outcome.response.json<{
      secondFactor: { ticket: string; methods: string[] };
    }>();
    expect(secondFactor.methods).toEqual(['passkey']);
    const start = await client.send('POST', '/api/auth/login/passkey/start', {
      ticket: secondFactor.ticket,
    });
    expect(start.statusCode, start.body).toBe(200);
    const { options } = start.json<{ options: Record<string, unknown> }>();
    return { client, ticket: secondFactor.ticket, options };
  }

  it('registers with user verification for this origin only, and signs in with a growing counter', async () => {
    const owner = await signedIn(t.app, 'keyholder', address());
    const key = new SoftKey();

    // The options bind the RP id to PUBLIC_ORIGIN's host and require user verification.
    const start = await owner.send('POST', '/api/account/passkeys/add/start');
    const { options } = start.json<{ options: Record<string, unknown> }>();
    expect(options).toMatchObject({
      rp: { id: RP_ID },
      authenticatorSelection: { userVerification: 'required' },
      attestation: 'none',
    });
    // Without user verification, or from another origin, nothing is registered.
    expectError(
      await owner.send('POST', '/api/account/passkeys/add/finish', {
        name: 'No PIN',
        credential: key.register(options, UP),
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_FAILED',
    );
    expectError(await addPasskey(owner, key, 'No PIN', UP), 401, 'CHAT_ERR_SECOND_FACTOR_FAILED');
    const phishing = await owner.send('POST', '/api/account/passkeys/add/start');
    expectError(
      await owner.send('POST', '/api/account/passkeys/add/finish', {
        name: 'Phished',
        credential: key.register(
          phishing.json<{ options: Record<string, unknown> }>().options,
          UP | UV,
          'https://chat.example.evil',
        ),
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_FAILED',
    );
    expect((await owner.get('/api/account/passkeys')).json()).toEqual({ passkeys: [] });

    const added = await addPasskey(owner, key, 'Laptop');
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json()).toMatchObject({ id: b64u(key.id), name: 'Laptop', lastUsedAt: null });
    // The same credential again is refused.
    expectError(await addPasskey(owner, key, 'Twice'), 409, 'CHAT_ERR_CONFLICT');
    expect((await owner.get('/api/account/two-factor')).json()).toMatchObject({
      totp: false,
      passkeys: 1,
    });

    // Sign-in: no session until the assertion; then one.
    const first = await passkeyStep('keyholder');
    expect(first.options).toMatchObject({ rpId: RP_ID, userVerification: 'required' });
    expect(first.options.allowCredentials).toEqual([expect.objectContaining({ id: b64u(key.id) })]);
    expectError(await first.client.get('/api/auth/session'), 401, 'CHAT_ERR_UNAUTHENTICATED');
    const assertion = key.assert(first.options);
    const ok = await first.client.send('POST', '/api/auth/login/passkey/finish', {
      ticket: first.ticket,
      credential: assertion,
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await first.client.get('/api/auth/session')).statusCode).toBe(200);

    // A replayed assertion (its challenge is spent) and a counter that did not grow (a clone)
    // are refused; each is audited.
    const second = await passkeyStep('keyholder');
    expectError(
      await second.client.send('POST', '/api/auth/login/passkey/finish', {
        ticket: second.ticket,
        credential: assertion,
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_FAILED',
    );
    const third = await passkeyStep('keyholder');
    expectError(
      await third.client.send('POST', '/api/auth/login/passkey/finish', {
        ticket: third.ticket,
        credential: key.assert(third.options, { counter: key.counter }),
      }),
      401,
      'CHAT_ERR_SECOND_FACTOR_FAILED',
    );
    // Without user verification, or signed for another origin: refused.
    for (const broken of [{ flags: UP }, { origin: 'https://chat.example.evil' }]) {
      const step = await passkeyStep('keyholder');
      expectError(
        await step.client.send('POST', '/api/auth/login/passkey/finish', {
          ticket: step.ticket,
          credential: key.assert(step.options, broken),
        }),
        401,
        'CHAT_ERR_SECOND_FACTOR_FAILED',
      );
      expect(step.client.cookie('__Host-sc_session')).toBeUndefined();
    }
    const fourth = await passkeyStep('keyholder');
    const again = await fourth.client.send('POST', '/api/auth/login/passkey/finish', {
      ticket: fourth.ticket,
      credential: key.assert(fourth.options),
    });
    expect(again.statusCode, again.body).toBe(200);
    const stored = await t.storage.db
      .selectFrom('passkeys')
      .select(['counter', 'last_used_at'])
      .executeTakeFirstOrThrow();
    expect(Number(stored.counter)).toBe(key.counter);
    expect(stored.last_used_at).not.toBeNull();

    const events = await t.storage.db
      .selectFrom('audit_log')
      .select(['event', 'detail'])
      .where('event', 'in', ['passkey.add', 'account.second_factor_failed'])
      .execute();
    expect(events.filter((e) => e.event === 'passkey.add')).toHaveLength(1);
    expect(
      events.filter(
        (e) => e.event === 'account.second_factor_failed' && e.detail.includes('passkey'),
      ),
    ).toHaveLength(4);
  });

  it('refuses hostile bodies and caps the passkeys per account', async () => {
    const owner = await signedIn(t.app, 'collector', address());
    const key = new SoftKey();
    const start = await owner.send('POST', '/api/account/passkeys/add/start');
    const { options } = start.json<{ options: Record<string, unknown> }>();
    const good = key.register(options);
    for (const credential of [
      { ...good, response: { ...good.response, attestationObject: 'A'.repeat(20_000) } },
      { ...good, response: { ...good.response, clientDataJSON: 'not base64url!' } },
      { ...good, id: 'short' },
      { ...good, type: 'password' },
      { ...good, extra: 1 },
    ]) {
      const response = await owner.send('POST', '/api/account/passkeys/add/finish', {
        name: 'x',
        credential,
      });
      expect(response.statusCode).toBe(400);
    }
    expect(
      (
        await owner.send('POST', '/api/account/passkeys/add/finish', {
          name: 'n'.repeat(Limits.PASSKEY_NAME_MAX_LENGTH + 1),
          credential: good,
        })
      ).statusCode,
    ).toBe(400);

    for (let i = 0; i < Limits.PASSKEYS_PER_USER_MAX; i += 1) {
      expect((await addPasskey(owner, new SoftKey(), `Key ${i}`)).statusCode).toBe(201);
    }
    expectError(
      await owner.send('POST', '/api/account/passkeys/add/start'),
      409,
      'CHAT_ERR_CONFLICT',
    );
  });

  it('renames freely and removes only after the password is confirmed again', async () => {
    const owner = await signedIn(t.app, 'tidy', address());
    const key = new SoftKey();
    const id = (await addPasskey(owner, key, 'Old name')).json<{ id: string }>().id;
    const renamed = await owner.send('PUT', `/api/account/passkeys/${id}`, { name: 'Blue key' });
    expect(renamed.json()).toMatchObject({ name: 'Blue key' });

    // Someone else's passkey looks like none.
    const other = await signedIn(t.app, 'nosy', address());
    expectError(
      await other.send('DELETE', `/api/account/passkeys/${id}`),
      401,
      'CHAT_ERR_REAUTH_REQUIRED',
    );
    expect((await other.reauthenticate(PASSWORD)).statusCode).toBe(204);
    expectError(
      await other.send('DELETE', `/api/account/passkeys/${id}`),
      404,
      'CHAT_ERR_NOT_FOUND',
    );

    expectError(
      await owner.send('DELETE', `/api/account/passkeys/${id}`),
      401,
      'CHAT_ERR_REAUTH_REQUIRED',
    );
    expect((await owner.reauthenticate(PASSWORD)).statusCode).toBe(204);
    expect((await owner.send('DELETE', `/api/account/passkeys/${id}`)).statusCode).toBe(204);
    expect((await owner.get('/api/account/passkeys')).json()).toEqual({ passkeys: [] });
    const back = new TestClient(t.app, undefined, address());
    const outcome = await back.login('tidy');
    expect(outcome.stage === 'finish' && outcome.response.statusCode).toBe(200);
  });
});

describeEachDialect('passkeys with REQUIRE_2FA', (dialect) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(dialect, { env: { REQUIRE_2FA: 'true' } });
  });
  afterAll(() => t.close());

  it('lets a passkey replace the authenticator app, but never removes the last factor', async () => {
    const client = new TestClient(t.app, undefined, address());
    const registered = await client.register('belted');
    const { ticket } = registered.json<{ secondFactor: { ticket: string } }>().secondFactor;
    const started = await client.send('POST', '/api/auth/login/enrol/start', { ticket });
    const { secret } = started.json<{ secret: string }>();
    const code = () => TOTP.generate({ secret: Secret.fromBase32(secret) });
    const enrolled = await client.send('POST', '/api/auth/login/enrol/finish', {
      ticket,
      code: code(),
    });
    expect(enrolled.statusCode, enrolled.body).toBe(200);

    const key = new SoftKey();
    const start = await client.send('POST', '/api/account/passkeys/add/start');
    const { options } = start.json<{ options: Record<string, unknown> }>();
    const added = await client.send('POST', '/api/account/passkeys/add/finish', {
      name: 'Only key',
      credential: key.register(options),
    });
    expect(added.statusCode, added.body).toBe(201);
    const id = added.json<{ id: string }>().id;

    // With a passkey left, the app may go (the code of the next step: this one is spent).
    const off = await client.send('POST', '/api/account/two-factor/totp/disable', {
      code: TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + 30_000 }),
    });
    expect(off.statusCode, off.body).toBe(204);
    // The passkey is now the last factor: removing it is refused, even after the password.
    expect((await client.reauthenticate(PASSWORD)).statusCode).toBe(204);
    expectError(
      await client.send('DELETE', `/api/account/passkeys/${id}`),
      403,
      'CHAT_ERR_FORBIDDEN',
    );
    // A sign-in asks for the passkey.
    const later = new TestClient(t.app, undefined, address());
    const outcome = await later.login('belted');
    expect(outcome.stage === 'finish' && outcome.response.json()).toMatchObject({
      secondFactor: { step: 'verify', methods: ['passkey'] },
    });
  });
});
