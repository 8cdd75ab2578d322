/**
 * Built-in TLS on a real listening server with a self-signed certificate: TLS 1.3 and TLS 1.2
 * with forward-secret AEAD suites only; HSTS over TLS and never over plain http.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type ConnectionOptions } from 'node:tls';
import selfsigned from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlatformApp, portOf, type PlatformApp } from './support/platform.js';

interface Handshake {
  protocol: string | null;
  cipher: string;
}

function handshake(port: number, options: ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ...options },
      () => {
        const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
        socket.end();
        resolve(result);
      },
    );
    socket.once('error', reject);
  });
}

/** The error code of a refused handshake. */
async function refusal(port: number, options: ConnectionOptions): Promise<string> {
  try {
    const accepted = await handshake(port, options);
    return `accepted ${accepted.protocol} ${accepted.cipher}`;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

function headersOf(url: string): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const done = (response: IncomingMessage) => {
      response.resume();
      resolve(response.headers);
    };
    const request = url.startsWith('https:')
      ? httpsGet(url, { rejectUnauthorized: false }, done)
      : httpGet(url, done);
    request.once('error', reject);
  });
}

const OLD_CLIENTS: ConnectionOptions[] = [
  { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' },
  { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA' },
  { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-SHA384' },
  { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' },
];

describe('built-in TLS', () => {
  let t: PlatformApp;
  let port: number;
  let certDir: string;
  const pems = selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    days: 1,
    keySize: 2048,
    algorithm: 'sha256',
  });
  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'securechat-tls-'));
    writeFileSync(join(certDir, 'cert.pem'), pems.cert);
    writeFileSync(join(certDir, 'key.pem'), pems.private, { mode: 0o600 });
    t = await createPlatformApp('sqlite', {
      env: {
        TLS_CERT: join(certDir, 'cert.pem'),
        TLS_KEY: join(certDir, 'key.pem'),
        PUBLIC_ORIGIN: 'https://localhost:8443',
      },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = portOf(t.app);
  });
  afterAll(async () => {
    await t.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  it('speaks TLS 1.3', async () => {
    const result = await handshake(port, { minVersion: 'TLSv1.3' });
    expect(result.protocol).toBe('TLSv1.3');
    expect(result.cipher).toMatch(/^TLS_(AES_\d+_GCM|CHACHA20_POLY1305)_SHA\d+$/);
  });

  it('speaks TLS 1.2 with an ECDHE-GCM suite', async () => {
    const result = await handshake(port, {
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
    });
    expect(result).toEqual({ protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
    // Left to choose, it picks a forward-secret AEAD suite.
    const chosen = await handshake(port, { maxVersion: 'TLSv1.2' });
    expect(chosen.cipher).toMatch(/^ECDHE-RSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/);
  });

  it('is tested with old clients that a permissive server would accept', async () => {
    const permissive = createServer(
      { cert: pems.cert, key: pems.private, minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0' },
      (socket) => socket.end(),
    );
    await new Promise<void>((resolve) => permissive.listen(0, '127.0.0.1', resolve));
    try {
      const address = permissive.address();
      const other = typeof address === 'object' && address ? address.port : 0;
      for (const options of OLD_CLIENTS) {
        const accepted = await handshake(other, options);
        expect(accepted.protocol, String(options.ciphers)).toMatch(/^TLSv1\.[12]$/);
      }
    } finally {
      permissive.close();
    }
  });

  it('refuses TLS 1.1: the server answers with a protocol-version alert', async () => {
    const code = await refusal(port, OLD_CLIENTS[0] ?? {});
    // An alert *received* means the server refused; a local error would mean the client never asked.
    expect(code).toMatch(/ALERT_PROTOCOL_VERSION/);
  });

  it('refuses CBC and non-forward-secret suites: the server answers with a handshake alert', async () => {
    for (const options of OLD_CLIENTS.slice(1)) {
      const code = await refusal(port, options);
      expect(code, String(options.ciphers)).toMatch(/ALERT_HANDSHAKE_FAILURE/);
    }
  });

  it('sends HSTS and upgrade-insecure-requests over TLS', async () => {
    const headers = await headersOf(`https://127.0.0.1:${port}/api/server`);
    expect(headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
    expect(headers['content-security-policy']).toMatch(/;upgrade-insecure-requests$/);
    expect(headers['content-security-policy']).toContain(
      "connect-src 'self' wss://localhost:8443;",
    );
  });
});

describe('plain http', () => {
  let t: PlatformApp;
  beforeAll(async () => {
    t = await createPlatformApp('sqlite');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  it('sends no HSTS and no upgrade-insecure-requests', async () => {
    const headers = await headersOf(`http://127.0.0.1:${portOf(t.app)}/api/server`);
    expect(headers.server).toBe('SecureChat');
    expect(headers['strict-transport-security']).toBeUndefined();
    expect(headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });
});
