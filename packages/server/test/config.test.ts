import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { loadSecrets } from '../src/secrets.js';

function refused(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('runs on embedded defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      databaseUrl: null,
      redisUrl: null,
      publicOrigin: 'http://localhost:3000',
      tls: null,
      trustProxy: [],
      registration: 'open',
      uploads: { maxBytes: 5 * 1024 * 1024 },
      rateLimits: { loginPerMinute: 5 },
    });
    expect(config.uploads.allowedTypes).toEqual([
      'png',
      'jpg',
      'jpeg',
      'gif',
      'pdf',
      'txt',
      'doc',
      'docx',
      'zip',
    ]);
    expect(config.dataDir).toMatch(/\/data$/);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8443',
      HOST: '0.0.0.0',
      DATA_DIR: '/srv/chat',
      DATABASE_URL: 'postgres://chat:pw@db/chat',
      REDIS_URL: 'redis://cache:6379',
      PUBLIC_ORIGIN: 'https://chat.example.org/',
      TLS_CERT: '/etc/tls/c.pem',
      TLS_KEY: '/etc/tls/k.pem',
      TRUST_PROXY: '10.0.0.0/8, 192.168.1.1',
      REGISTRATION: 'invite',
      LOG_LEVEL: 'warn',
      UPLOAD_MAX_BYTES: '1048576',
      UPLOAD_ALLOWED_TYPES: 'png,.PDF',
      RATE_LIMIT_API_PER_MINUTE: '100',
      RATE_LIMIT_LOGIN_PER_MINUTE: '3',
      RATE_LIMIT_REGISTRATIONS_PER_HOUR: '2',
      REQUEST_TIMEOUT_MS: '5000',
      HEADERS_TIMEOUT_MS: '2000',
      KEEP_ALIVE_TIMEOUT_MS: '1000',
      COOKIE_SECRET: 'x'.repeat(40),
    });
    expect(config).toMatchObject({
      port: 8443,
      host: '0.0.0.0',
      dataDir: '/srv/chat',
      databaseUrl: 'postgres://chat:pw@db/chat',
      redisUrl: 'redis://cache:6379',
      publicOrigin: 'https://chat.example.org',
      tls: { certFile: '/etc/tls/c.pem', keyFile: '/etc/tls/k.pem' },
      trustProxy: ['10.0.0.0/8', '192.168.1.1'],
      registration: 'invite',
      logLevel: 'warn',
      uploads: { maxBytes: 1048576, allowedTypes: ['png', 'pdf'] },
      rateLimits: { apiPerMinute: 100, loginPerMinute: 3, registrationsPerHour: 2 },
      timeouts: { requestMs: 5000, headersMs: 2000, keepAliveMs: 1000 },
      secretsFromEnv: { cookieSecret: 'x'.repeat(40) },
    });
  });

  it('refuses bad values with a message naming the variable and what it accepts', () => {
    expect(refused({ PORT: 'abc' })).toBe(
      'Invalid configuration: PORT must be a whole number from 1 to 65535 (got "abc").',
    );
    expect(refused({ PORT: '70000' })).toContain('PORT must be');
    expect(refused({ HOST: 'example.org' })).toContain('HOST must be an IP address');
    expect(refused({ DATABASE_URL: 'mysql://db' })).toContain(
      'DATABASE_URL must be a URL starting with postgres:',
    );
    expect(refused({ DATABASE_URL: 'mysql://u:secret@db' })).not.toContain('secret');
    expect(refused({ REDIS_URL: 'http://cache' })).toContain('REDIS_URL must be');
    expect(refused({ PUBLIC_ORIGIN: 'https://chat.example.org/app' })).toContain(
      'PUBLIC_ORIGIN must be an origin',
    );
    expect(refused({ TLS_CERT: '/c.pem' })).toContain('TLS_KEY must be set together with TLS_CERT');
    expect(refused({ TRUST_PROXY: 'everyone' })).toContain(
      'TRUST_PROXY must be a comma-separated list',
    );
    expect(refused({ TRUST_PROXY: '10.0.0.0/99' })).toContain('TRUST_PROXY');
    expect(refused({ REGISTRATION: 'maybe' })).toContain(
      'REGISTRATION must be one of open, invite',
    );
    expect(refused({ LOG_LEVEL: 'loud' })).toContain('LOG_LEVEL must be one of');
    expect(refused({ UPLOAD_MAX_BYTES: '-1' })).toContain('UPLOAD_MAX_BYTES');
    expect(refused({ UPLOAD_ALLOWED_TYPES: 'png,../exe' })).toContain('UPLOAD_ALLOWED_TYPES');
    expect(refused({ RATE_LIMIT_LOGIN_PER_MINUTE: '0' })).toContain('RATE_LIMIT_LOGIN_PER_MINUTE');
    expect(refused({ HEADERS_TIMEOUT_MS: '10' })).toContain('HEADERS_TIMEOUT_MS');
    expect(refused({ COOKIE_SECRET: 'short' })).toBe(
      'Invalid configuration: COOKIE_SECRET must be at least 32 characters of random text (got "[hidden]").',
    );
    expect(refused({ OPAQUE_SERVER_SETUP: 'nope' })).not.toContain('nope');
  });
});

describe('secrets', () => {
  it('are generated into DATA_DIR/secrets with mode 0600 and reused on the next start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'securechat-secrets-'));
    try {
      const config = loadConfig({ DATA_DIR: dataDir });
      const first = await loadSecrets(config);
      expect(first.cookieSecret.length).toBeGreaterThanOrEqual(43);
      expect(first.opaqueServerSetup.length).toBeGreaterThan(100);
      for (const name of ['cookie-secret', 'opaque-server-setup']) {
        expect(statSync(join(dataDir, 'secrets', name)).mode & 0o777, name).toBe(0o600);
      }
      expect(statSync(join(dataDir, 'secrets')).mode & 0o777).toBe(0o700);
      expect(await loadSecrets(config)).toEqual(first);
      expect(readFileSync(join(dataDir, 'secrets', 'cookie-secret'), 'utf8').trim()).toBe(
        first.cookieSecret,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('come from the environment when given there', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'securechat-secrets-'));
    try {
      const setup = (await loadSecrets(loadConfig({ DATA_DIR: dataDir }))).opaqueServerSetup;
      const config = loadConfig({
        DATA_DIR: join(dataDir, 'other'),
        COOKIE_SECRET: 'c'.repeat(40),
        OPAQUE_SERVER_SETUP: setup,
      });
      expect(await loadSecrets(config)).toEqual({
        cookieSecret: 'c'.repeat(40),
        opaqueServerSetup: setup,
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
