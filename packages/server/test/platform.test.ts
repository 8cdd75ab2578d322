/**
 * The server as a network peer: TLS policy, timeouts for slow clients, trusted proxies,
 * graceful shutdown, and what goes into the logs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { createLogger } from '../src/logger.js';
import { createTestApp, type TestApp } from './support/harness.js';
import { TestClient } from './support/client.js';
import { freePort } from '../../../test-support/net.js';

describe('built-in TLS', () => {
  let t: TestApp;
  let port: number;
  let certDir: string;
  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'securechat-tls-'));
    await runCli(['cert', '--out', certDir], {}, { out: () => undefined, err: () => undefined });
    port = await freePort();
    t = await createTestApp('sqlite', {
      env: {
        TLS_CERT: join(certDir, 'cert.pem'),
        TLS_KEY: join(certDir, 'key.pem'),
        PUBLIC_ORIGIN: `https://localhost:${port}`,
      },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await t.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  function handshake(
    options: ConnectionOptions,
  ): Promise<{ protocol: string | null; cipher: string }> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect(
        { host: '127.0.0.1', port, rejectUnauthorized: false, ...options },
        () => {
          const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
          socket.end();
          resolve(result);
        },
      );
      socket.once('error', reject);
    });
  }

  it('speaks TLS 1.3 and TLS 1.2 with forward-secret AEAD suites', async () => {
    expect((await handshake({ minVersion: 'TLSv1.3' })).protocol).toBe('TLSv1.3');
    const tls12 = await handshake({ maxVersion: 'TLSv1.2' });
    expect(tls12.protocol).toBe('TLSv1.2');
    expect(tls12.cipher).toMatch(/^ECDHE-.*(GCM|CHACHA20)/);
  });

  it('refuses TLS 1.1 and CBC suites', async () => {
    await expect(
      handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }),
    ).rejects.toThrow();
    await expect(
      handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA:AES128-SHA' }),
    ).rejects.toThrow();
  });

  it('sends HSTS over TLS', async () => {
    const response = await t.app.inject({ url: '/api/server' });
    expect(response.headers['strict-transport-security']).toBe(
      'max-age=63072000; includeSubDomains',
    );
    expect(String(response.headers['content-security-policy'])).toContain(
      'upgrade-insecure-requests',
    );
  });
});

describe('slow and stuck clients', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    t = await createTestApp('sqlite', {
      env: {
        HEADERS_TIMEOUT_MS: '1000',
        REQUEST_TIMEOUT_MS: '1500',
        KEEP_ALIVE_TIMEOUT_MS: '1000',
      },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  /** Open a raw socket, send `first`, then nothing; resolve with ms until the server closes it. */
  function stall(first: string): Promise<number> {
    return new Promise((resolve) => {
      const started = Date.now();
      const socket = netConnect({ host: '127.0.0.1', port }, () => socket.write(first));
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(Date.now() - started));
    });
  }

  it('cuts off a client that never finishes its headers', async () => {
    const elapsed = await stall('GET /api/server HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    expect(elapsed).toBeLessThan(5000);
  });

  it('cuts off a client that never finishes its body', async () => {
    const elapsed = await stall(
      'POST /api/auth/login/start HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"user',
    );
    expect(elapsed).toBeLessThan(6000);
  });

  it('closes idle keep-alive connections', async () => {
    const elapsed = await stall('GET /api/server HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(elapsed).toBeLessThan(5000);
  });

  it('refuses bodies over the size limit with 413', async () => {
    const client = new TestClient(t.app);
    const response = await client.send('POST', '/api/auth/login/start', {
      username: 'x',
      startLoginRequest: 'a'.repeat(70 * 1024),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ code: 'CHAT_ERR_PAYLOAD_TOO_LARGE' });
  });
});

describe('client addresses and the per-address limit', () => {
  it('ignores X-Forwarded-For unless the peer is a trusted proxy', async () => {
    const direct = await createTestApp('sqlite', { env: { RATE_LIMIT_API_PER_MINUTE: '10' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i += 1) {
        const response = await direct.app.inject({
          url: '/api/server',
          remoteAddress: '203.0.113.7',
          headers: { 'x-forwarded-for': `198.51.100.${i}` },
        });
        statuses.push(response.statusCode);
      }
      // Inventing addresses does not buy more requests.
      expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
      expect(statuses.slice(10)).toEqual([429, 429]);
    } finally {
      await direct.close();
    }

    const proxied = await createTestApp('sqlite', {
      env: { RATE_LIMIT_API_PER_MINUTE: '10', TRUST_PROXY: '127.0.0.1' },
    });
    try {
      for (let i = 0; i < 12; i += 1) {
        const response = await proxied.app.inject({
          url: '/api/server',
          remoteAddress: '127.0.0.1',
          headers: { 'x-forwarded-for': `198.51.100.${i}` },
        });
        expect(response.statusCode).toBe(200);
      }
    } finally {
      await proxied.close();
    }
  });
});

describe('logs', () => {
  it('carry request ids and never cookies, tokens, passwords or OPAQUE messages', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('trace', sink);
    const t = await createTestApp('sqlite');
    await t.app.close();
    const { buildApp } = await import('../src/app.js');
    const { openStorage, migrateToLatest } = await import('../src/storage/db.js');
    const storage = openStorage({ dataDir: t.config.dataDir, databaseUrl: null });
    await migrateToLatest(storage);
    const app = await buildApp({ config: t.config, secrets: t.secrets, storage, logger });
    try {
      const client = new TestClient(app);
      await client.register('loggeduser', 'my very secret passphrase 77');
      await client.login('loggeduser', 'my very secret passphrase 77');
      await client.get('/api/auth/session');
      const session = client.cookie('__Host-sc_session') ?? 'missing';
      const csrf = client.cookie('__Host-sc_csrf') ?? 'missing';
      const all = lines.join('');
      expect(all).toContain('"reqId"');
      expect(all).toContain('/api/auth/login/finish');
      for (const secret of [
        session,
        csrf,
        'my very secret passphrase 77',
        t.secrets.cookieSecret,
        t.secrets.opaqueServerSetup,
      ]) {
        expect(all).not.toContain(secret);
      }
      expect(all).not.toMatch(/registrationRecord|startLoginRequest|finishLoginRequest/);
    } finally {
      await app.close();
      await t.database.drop();
    }
  });
});

describe('process lifecycle', () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

  it('shuts down cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'securechat-main-'));
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error('server did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('shutting down');
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
