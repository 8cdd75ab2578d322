import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Limits } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { loadSecrets } from '../src/secrets.js';

function refused(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

let dir: string;
let certFile: string;
let keyFile: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'securechat-config-'));
  certFile = join(dir, 'cert.pem');
  keyFile = join(dir, 'key.pem');
  writeFileSync(certFile, 'cert');
  writeFileSync(keyFile, 'key');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('runs on embedded defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      host: '127.0.0.1',
      port: 3000,
      dataDir: join(process.cwd(), 'data'),
      databaseUrl: null,
      redisUrl: null,
      redisKeyPrefix: 'securechat:',
      publicOrigin: 'http://localhost:3000',
      tls: null,
      trustProxy: [],
      registration: 'open',
      requireSecondFactor: false,
      logLevel: 'info',
      files: {
        maxBytes: 5 * 1024 * 1024,
        allowedTypes: ['png', 'jpg', 'jpeg', 'gif', 'pdf', 'txt', 'doc', 'docx', 'zip'],
        quotaBytes: 200 * 1024 * 1024,
        s3: null,
      },
      rateLimits: {
        apiPerMinute: 600,
        loginPerMinute: 5,
        registrationsPerHour: 10,
        sends: { perDevice: 20, perUser: 40 },
      },
      sqliteSynchronous: 'full',
      timeouts: { requestMs: 30_000, headersMs: 10_000, keepAliveMs: 5_000 },
      auditRetentionDays: 365,
      metrics: { token: null, listen: null },
      secretsFromEnv: {},
      masterKey: {
        file: join(process.cwd(), 'data', 'secrets', 'master.key'),
        fromEnv: null,
        nextFromEnv: null,
      },
    });
  });

  it('treats blank values as unset', () => {
    expect(loadConfig({ PORT: ' ', DATABASE_URL: '', LOG_LEVEL: '  ' })).toEqual(loadConfig({}));
  });

  describe('PORT', () => {
    it('takes a port number', () => expect(loadConfig({ PORT: '8080' }).port).toBe(8080));
    it.each(['abc', '0', '65536', '80.5', '-1', '1e3'])('refuses %j', (value) => {
      expect(refused({ PORT: value }).message).toBe(
        `Invalid configuration: PORT must be a whole number from 1 to 65535 (got ${JSON.stringify(value)}).`,
      );
    });
    it('sets the default public origin', () => {
      expect(loadConfig({ PORT: '8080' }).publicOrigin).toBe('http://localhost:8080');
    });
  });

  describe('HOST', () => {
    it.each(['0.0.0.0', '::', '::1', '10.1.2.3', 'localhost'])('takes %j', (value) => {
      expect(loadConfig({ HOST: value }).host).toBe(value);
    });
    it('refuses a host name', () => {
      expect(refused({ HOST: 'chat.example.org' }).variable).toBe('HOST');
    });
  });

  describe('DATA_DIR', () => {
    it('is made absolute', () => {
      expect(loadConfig({ DATA_DIR: '/srv/chat' }).dataDir).toBe('/srv/chat');
      expect(loadConfig({ DATA_DIR: 'rel/dir' }).dataDir).toBe(join(process.cwd(), 'rel/dir'));
    });
  });

  describe('DATABASE_URL and REDIS_URL', () => {
    it('take connection strings', () => {
      const config = loadConfig({
        DATABASE_URL: 'postgresql://chat:pw@db:5432/chat',
        REDIS_URL: 'rediss://cache:6380',
      });
      expect(config.databaseUrl).toBe('postgresql://chat:pw@db:5432/chat');
      expect(config.redisUrl).toBe('rediss://cache:6380');
    });
    it('refuse other schemes without echoing a password', () => {
      const error = refused({ DATABASE_URL: 'mysql://chat:hunter2@db/chat' });
      expect(error.message).toContain('DATABASE_URL must be a URL starting with postgres:');
      expect(error.message).not.toContain('hunter2');
      expect(refused({ DATABASE_URL: 'not a url' }).variable).toBe('DATABASE_URL');
      expect(refused({ REDIS_URL: 'http://cache' }).message).toContain(
        'REDIS_URL must be a URL starting with redis: or rediss:',
      );
    });
  });

  describe('REDIS_KEY_PREFIX', () => {
    it('takes a short prefix of safe characters', () => {
      expect(loadConfig({ REDIS_KEY_PREFIX: 'chat-eu.1:' }).redisKeyPrefix).toBe('chat-eu.1:');
      expect(loadConfig({ REDIS_KEY_PREFIX: ' tenant_a ' }).redisKeyPrefix).toBe('tenant_a');
    });
    it.each(['a b', 'chat*', 'x'.repeat(33), 'ché:', '{slot}'])('refuses %j', (value) => {
      expect(refused({ REDIS_KEY_PREFIX: value }).message).toBe(
        `Invalid configuration: REDIS_KEY_PREFIX must be 1 to 32 letters, digits or : _ . - (e.g. securechat:) (got ${JSON.stringify(value)}).`,
      );
    });
  });

  describe('PUBLIC_ORIGIN', () => {
    it('takes an origin and normalizes it', () => {
      expect(loadConfig({ PUBLIC_ORIGIN: 'https://Chat.Example.org/' }).publicOrigin).toBe(
        'https://chat.example.org',
      );
      expect(loadConfig({ PUBLIC_ORIGIN: 'https://chat.example.org:443' }).publicOrigin).toBe(
        'https://chat.example.org',
      );
    });
    it.each(['https://chat.example.org/app', 'ftp://chat', 'chat.example.org', 'https://u@x'])(
      'refuses %j',
      (value) => expect(refused({ PUBLIC_ORIGIN: value }).variable).toBe('PUBLIC_ORIGIN'),
    );
  });

  describe('TLS_CERT and TLS_KEY', () => {
    it('take two readable files together, and make the default origin https', () => {
      const config = loadConfig({ TLS_CERT: certFile, TLS_KEY: keyFile, PORT: '8443' });
      expect(config.tls).toEqual({ certFile, keyFile });
      expect(config.publicOrigin).toBe('https://localhost:8443');
    });
    it('refuse one without the other', () => {
      expect(refused({ TLS_CERT: certFile }).message).toBe(
        'Invalid configuration: TLS_KEY must be set together with TLS_CERT.',
      );
      expect(refused({ TLS_KEY: keyFile }).message).toBe(
        'Invalid configuration: TLS_CERT must be set together with TLS_KEY.',
      );
    });
    it('refuse a file that is not there', () => {
      const error = refused({ TLS_CERT: join(dir, 'missing.pem'), TLS_KEY: keyFile });
      expect(error.variable).toBe('TLS_CERT');
      expect(error.message).toContain('readable file');
    });
  });

  describe('TRUST_PROXY', () => {
    it('takes addresses and CIDR ranges', () => {
      expect(
        loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1,::1,fd00::/8' }).trustProxy,
      ).toEqual(['10.0.0.0/8', '192.168.1.1', '::1', 'fd00::/8']);
    });
    it.each(['everyone', 'true', '10.0.0.0/33', '::/129', '10.0.0.1/8/9', 'proxy.local'])(
      'refuses %j',
      (value) => {
        expect(refused({ TRUST_PROXY: value }).message).toContain(
          'TRUST_PROXY must be a comma-separated list of IP addresses or CIDR ranges',
        );
      },
    );
  });

  describe('REGISTRATION and LOG_LEVEL', () => {
    it('take their allowed values', () => {
      expect(loadConfig({ REGISTRATION: 'invite' }).registration).toBe('invite');
      expect(loadConfig({ LOG_LEVEL: 'silent' }).logLevel).toBe('silent');
    });
    it('refuse anything else, listing what is allowed', () => {
      expect(refused({ REGISTRATION: 'closed' }).message).toBe(
        'Invalid configuration: REGISTRATION must be one of open, invite (got "closed").',
      );
      expect(refused({ LOG_LEVEL: 'loud' }).message).toContain(
        'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
      );
    });
  });

  describe('RATE_LIMIT_SENDS_PER_SECOND_PER_* and SQLITE_SYNCHRONOUS', () => {
    it('default to the shipped send limits and a synchronous commit', () => {
      const config = loadConfig({});
      expect(config.rateLimits.sends).toEqual({
        perDevice: Limits.SENDS_PER_SECOND_PER_DEVICE,
        perUser: Limits.SENDS_PER_SECOND_PER_USER,
      });
      expect(config.sqliteSynchronous).toBe('full');
    });
    it("take an operator's higher send rates and NORMAL", () => {
      const config = loadConfig({
        RATE_LIMIT_SENDS_PER_SECOND_PER_DEVICE: '500',
        RATE_LIMIT_SENDS_PER_SECOND_PER_USER: '1000',
        SQLITE_SYNCHRONOUS: 'normal',
      });
      expect(config.rateLimits.sends).toEqual({ perDevice: 500, perUser: 1000 });
      expect(config.sqliteSynchronous).toBe('normal');
    });
    it('refuse zero, nonsense and rates past the ceiling', () => {
      expect(refused({ RATE_LIMIT_SENDS_PER_SECOND_PER_DEVICE: '0' }).message).toContain(
        'RATE_LIMIT_SENDS_PER_SECOND_PER_DEVICE',
      );
      expect(
        refused({ RATE_LIMIT_SENDS_PER_SECOND_PER_USER: String(Limits.SENDS_PER_SECOND_MAX + 1) })
          .message,
      ).toContain('RATE_LIMIT_SENDS_PER_SECOND_PER_USER');
      expect(refused({ SQLITE_SYNCHRONOUS: 'off' }).message).toContain(
        'SQLITE_SYNCHRONOUS must be one of full, normal',
      );
    });
  });

  describe('REQUIRE_2FA', () => {
    it('is true or false', () => {
      expect(loadConfig({ REQUIRE_2FA: 'true' }).requireSecondFactor).toBe(true);
      expect(loadConfig({ REQUIRE_2FA: 'false' }).requireSecondFactor).toBe(false);
      expect(refused({ REQUIRE_2FA: 'yes' }).message).toContain('REQUIRE_2FA');
    });
  });

  describe('FILE_MAX_BYTES, FILE_TYPES and FILE_QUOTA_BYTES', () => {
    it('take a size, a list of extensions and a quota', () => {
      const config = loadConfig({
        FILE_MAX_BYTES: '1048576',
        FILE_TYPES: 'png, .PDF,,png',
        FILE_QUOTA_BYTES: '2097152',
      });
      expect(config.files).toEqual({
        maxBytes: 1048576,
        allowedTypes: ['png', 'pdf'],
        quotaBytes: 2097152,
        s3: null,
      });
    });
    it('refuse nonsense', () => {
      expect(refused({ FILE_MAX_BYTES: '-1' }).variable).toBe('FILE_MAX_BYTES');
      expect(refused({ FILE_MAX_BYTES: '10' }).variable).toBe('FILE_MAX_BYTES');
      expect(refused({ FILE_TYPES: 'png,../exe' }).variable).toBe('FILE_TYPES');
      expect(refused({ FILE_TYPES: ' , ' }).variable).toBe('FILE_TYPES');
      expect(refused({ FILE_QUOTA_BYTES: 'lots' }).variable).toBe('FILE_QUOTA_BYTES');
    });
    it('refuse the old names rather than ignore them', () => {
      expect(refused({ UPLOAD_MAX_BYTES: '1048576' }).message).toContain(
        'UPLOAD_MAX_BYTES must be renamed: set FILE_MAX_BYTES instead',
      );
      expect(refused({ UPLOAD_ALLOWED_TYPES: 'png' }).variable).toBe('UPLOAD_ALLOWED_TYPES');
    });
  });

  describe('S3_*', () => {
    it('stores files in a bucket when S3_BUCKET is set', () => {
      const config = loadConfig({
        S3_BUCKET: 'chat-files',
        S3_ENDPOINT: 'http://127.0.0.1:9000',
        S3_ACCESS_KEY_ID: 'id',
        S3_SECRET_ACCESS_KEY: 'secret',
        S3_FORCE_PATH_STYLE: 'true',
      });
      expect(config.files.s3).toEqual({
        endpoint: 'http://127.0.0.1:9000',
        bucket: 'chat-files',
        region: 'us-east-1',
        accessKeyId: 'id',
        secretAccessKey: 'secret',
        forcePathStyle: true,
      });
    });
    it('refuses half a configuration', () => {
      expect(refused({ S3_ENDPOINT: 'http://127.0.0.1:9000' }).variable).toBe('S3_BUCKET');
      expect(refused({ S3_BUCKET: 'b-1', S3_ACCESS_KEY_ID: 'id' }).variable).toBe(
        'S3_SECRET_ACCESS_KEY',
      );
      expect(refused({ S3_BUCKET: 'Bad_Bucket' }).variable).toBe('S3_BUCKET');
      expect(refused({ S3_BUCKET: 'b-1', S3_FORCE_PATH_STYLE: 'yes' }).variable).toBe(
        'S3_FORCE_PATH_STYLE',
      );
    });
  });

  describe('rate limits', () => {
    it('are read', () => {
      expect(
        loadConfig({
          RATE_LIMIT_API_PER_MINUTE: '100',
          RATE_LIMIT_LOGIN_PER_MINUTE: '3',
          RATE_LIMIT_REGISTRATIONS_PER_HOUR: '2',
        }).rateLimits,
      ).toMatchObject({ apiPerMinute: 100, loginPerMinute: 3, registrationsPerHour: 2 });
    });
    it.each([
      ['RATE_LIMIT_API_PER_MINUTE', '5'],
      ['RATE_LIMIT_LOGIN_PER_MINUTE', '0'],
      ['RATE_LIMIT_REGISTRATIONS_PER_HOUR', 'many'],
    ])('refuse %s=%j', (name, value) => {
      expect(refused({ [name]: value }).variable).toBe(name);
    });
  });

  describe('timeouts', () => {
    it('are read', () => {
      expect(
        loadConfig({
          REQUEST_TIMEOUT_MS: '5000',
          HEADERS_TIMEOUT_MS: '2000',
          KEEP_ALIVE_TIMEOUT_MS: '1000',
        }).timeouts,
      ).toEqual({ requestMs: 5000, headersMs: 2000, keepAliveMs: 1000 });
    });
    it.each([
      ['REQUEST_TIMEOUT_MS', '999'],
      ['HEADERS_TIMEOUT_MS', '10'],
      ['KEEP_ALIVE_TIMEOUT_MS', '999999'],
    ])('refuse %s=%j', (name, value) => {
      expect(refused({ [name]: value }).variable).toBe(name);
    });
    it('refuse a headers deadline later than the request deadline', () => {
      expect(refused({ REQUEST_TIMEOUT_MS: '2000', HEADERS_TIMEOUT_MS: '3000' }).message).toBe(
        'Invalid configuration: HEADERS_TIMEOUT_MS must be at most REQUEST_TIMEOUT_MS (2000) (got "3000").',
      );
    });
  });

  describe('COOKIE_SECRET and OPAQUE_SERVER_SETUP', () => {
    it('are taken from the environment', () => {
      const setup = 'A'.repeat(128);
      expect(
        loadConfig({ COOKIE_SECRET: 'x'.repeat(40), OPAQUE_SERVER_SETUP: setup }).secretsFromEnv,
      ).toEqual({ cookieSecret: 'x'.repeat(40), opaqueServerSetup: setup });
    });
    it('are refused when weak or malformed, without echoing them', () => {
      expect(refused({ COOKIE_SECRET: 'short-secret' }).message).toBe(
        'Invalid configuration: COOKIE_SECRET must be at least 32 characters of random text (got "[hidden]").',
      );
      const error = refused({ OPAQUE_SERVER_SETUP: 'not-a-setup!' });
      expect(error.variable).toBe('OPAQUE_SERVER_SETUP');
      expect(error.message).not.toContain('not-a-setup');
    });
  });

  describe('MASTER_KEY, MASTER_KEY_NEXT and MASTER_KEY_FILE', () => {
    it('take 32 bytes in base64 or base64url, and a file path', () => {
      const key = Buffer.alloc(32, 0xfb);
      const config = loadConfig({
        MASTER_KEY: key.toString('base64'),
        MASTER_KEY_NEXT: key.toString('base64url'),
        MASTER_KEY_FILE: 'keys/master.key',
      });
      expect(config.masterKey).toEqual({
        file: join(process.cwd(), 'keys', 'master.key'),
        fromEnv: key,
        nextFromEnv: key,
      });
    });
    it('refuse anything but 32 bytes, without echoing it', () => {
      for (const bad of ['short', Buffer.alloc(31).toString('base64'), 'x'.repeat(44)]) {
        const error = refused({ MASTER_KEY: bad });
        expect(error.message).toBe(
          'Invalid configuration: MASTER_KEY must be 32 random bytes in base64 or base64url (got "[hidden]").',
        );
      }
      expect(refused({ MASTER_KEY_NEXT: 'nope' }).variable).toBe('MASTER_KEY_NEXT');
    });
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
      expect(readFileSync(join(dataDir, 'secrets', 'cookie-secret'), 'utf8').trim()).toBe(
        first.cookieSecret,
      );
      // The next start (a fresh load of the configuration) reads the same secrets back.
      expect(await loadSecrets(loadConfig({ DATA_DIR: dataDir }))).toEqual(first);
      // Another data directory gets its own.
      const other = await loadSecrets(loadConfig({ DATA_DIR: join(dataDir, 'other') }));
      expect(other.cookieSecret).not.toBe(first.cookieSecret);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('come from the environment when given there, and are then not written', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'securechat-secrets-'));
    try {
      const setup = (await loadSecrets(loadConfig({ DATA_DIR: dataDir }))).opaqueServerSetup;
      const elsewhere = join(dataDir, 'other');
      const config = loadConfig({
        DATA_DIR: elsewhere,
        COOKIE_SECRET: 'c'.repeat(40),
        OPAQUE_SERVER_SETUP: setup,
      });
      expect(await loadSecrets(config)).toEqual({
        cookieSecret: 'c'.repeat(40),
        opaqueServerSetup: setup,
      });
      expect(() => statSync(join(elsewhere, 'secrets'))).toThrow();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
