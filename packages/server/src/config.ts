/**
 * Configuration from the environment (and a `.env` file beside the process, if present),
 * validated once at start. A bad value stops the server with one line naming the variable
 * and what it accepts — see docs/configuration.md for every variable.
 */
import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { DEFAULT_FILE_TYPES, FILE_TYPE_PATTERN, Limits } from '@securechat/protocol';
import type { SendRates } from './events/limits.js';

export type RegistrationMode = 'open' | 'invite';
/** SQLite's `synchronous` settings the server offers (see Config.sqliteSynchronous). */
export const SQLITE_SYNCHRONOUS = ['full', 'normal'] as const;
export type SqliteSynchronous = (typeof SQLITE_SYNCHRONOUS)[number];
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** PostgreSQL connection string; null means the embedded SQLite file in dataDir. */
  databaseUrl: string | null;
  /** Redis connection string; null means in-process fan-out and limits. */
  redisUrl: string | null;
  /** Every Redis key and channel starts with this, so several deployments can share a Redis. */
  redisKeyPrefix: string;
  /** The origin browsers use to reach the app, e.g. https://chat.example.org. */
  publicOrigin: string;
  tls: { certFile: string; keyFile: string } | null;
  /** Addresses or CIDR ranges of reverse proxies whose X-Forwarded-* headers we believe. */
  trustProxy: string[];
  registration: RegistrationMode;
  /** REQUIRE_2FA: every account signs in with a second factor (those without one enrol). */
  requireSecondFactor: boolean;
  logLevel: LogLevel;
  files: FilesConfig;
  rateLimits: {
    apiPerMinute: number;
    loginPerMinute: number;
    registrationsPerHour: number;
    /** Realtime sends per second, per device and per user (token buckets, burst twice that). */
    sends: SendRates;
  };
  /**
   * SQLITE_SYNCHRONOUS: SQLite's `synchronous`. `full` (the default) syncs the log at every
   * commit, so an ack (sent after the commit) survives a power cut or kernel crash; `normal`
   * syncs at checkpoints only, which survives a killed process only (docs/operations.md).
   */
  sqliteSynchronous: SqliteSynchronous;
  timeouts: {
    /** The whole request (headers and body) must arrive within this; also the idle-socket limit. */
    requestMs: number;
    /** The request headers must arrive within this. */
    headersMs: number;
    /** An idle keep-alive connection is closed after this. */
    keepAliveMs: number;
  };
  /** Audit events older than this many days are deleted (AUDIT_RETENTION_DAYS). */
  auditRetentionDays: number;
  /** Who may read /metrics (METRICS_TOKEN, METRICS_LISTEN); neither means nobody. */
  metrics: MetricsConfig;
  /** Secrets given by the environment; missing ones are generated into dataDir. */
  secretsFromEnv: { cookieSecret?: string; opaqueServerSetup?: string };
  /**
   * The master key that wraps the data keys of encryption at rest (src/vault): 32 bytes from
   * MASTER_KEY when set, else read from (or, on a first start, written to) `file`.
   */
  masterKey: { file: string; fromEnv: Buffer | null; nextFromEnv: Buffer | null };
}

export interface MetricsConfig {
  /** A bearer token that unlocks /metrics on the main address. */
  token: string | null;
  /** A second, separate address serving only /metrics (port 0: any free port). */
  listen: { host: string; port: number } | null;
}

/** Attachments: their limits, and where their ciphertext is stored. */
export interface FilesConfig {
  /** Largest file (plaintext bytes; the upload is this once encrypted). */
  maxBytes: number;
  /** Declared types (lower-case extensions) a file may have. */
  allowedTypes: string[];
  /** Bytes of stored files one user may have. */
  quotaBytes: number;
  /** An S3-compatible object store; null means a folder in dataDir. */
  s3: S3Config | null;
}

export interface S3Config {
  endpoint: string | null;
  bucket: string;
  region: string;
  accessKeyId: string | null;
  secretAccessKey: string | null;
  forcePathStyle: boolean;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
    readonly got: string | undefined,
  ) {
    super(
      `Invalid configuration: ${variable} must be ${expected}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}.`,
    );
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `a whole number from ${min} to ${max}`, raw);
  }
  return Number(raw);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `one of ${allowed.join(', ')}`, raw);
  }
  return raw as T;
}

function url(env: Env, name: string, protocols: readonly string[]): string | null {
  const raw = str(env, name);
  if (raw === undefined) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `a URL starting with ${protocols.join(' or ')}`, redact(raw));
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `a URL starting with ${protocols.join(' or ')}`, redact(raw));
  }
  return raw;
}

/** Never echo a password from a connection string back into a log line. */
function redact(raw: string): string {
  return raw.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

function keyPrefix(env: Env, name: string, fallback: string): string {
  const raw = str(env, name) ?? fallback;
  if (!/^[A-Za-z0-9:_.-]{1,32}$/.test(raw)) {
    throw new ConfigError(name, '1 to 32 letters, digits or : _ . - (e.g. securechat:)', raw);
  }
  return raw;
}

function origin(env: Env, name: string, fallback: string): string {
  const raw = str(env, name) ?? fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'an origin such as https://chat.example.org', raw);
  }
  if (
    (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ||
    parsed.pathname !== '/' ||
    parsed.search !== '' ||
    parsed.hash !== '' ||
    parsed.username !== ''
  ) {
    throw new ConfigError(name, 'an origin such as https://chat.example.org (no path)', raw);
  }
  return parsed.origin;
}

function cidrList(env: Env, name: string): string[] {
  const raw = str(env, name);
  if (raw === undefined) return [];
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    const [address, bits, extra] = item.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk =
      bits === undefined || (/^\d+$/.test(bits) && Number(bits) >= 0 && Number(bits) <= maxBits);
    if (family === 0 || !bitsOk || extra !== undefined) {
      throw new ConfigError(
        name,
        'a comma-separated list of IP addresses or CIDR ranges (e.g. 127.0.0.1,10.0.0.0/8)',
        raw,
      );
    }
  }
  return items;
}

/** The absolute path of a file this process can read, or a ConfigError naming the variable. */
function readableFile(name: string, path: string, what: string): string {
  const absolute = resolve(path);
  try {
    accessSync(absolute, constants.R_OK);
  } catch {
    throw new ConfigError(name, `the path of a readable file holding ${what}`, path);
  }
  return absolute;
}

function timeouts(env: Env): Config['timeouts'] {
  const requestMs = int(env, 'REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000);
  const headersMs = int(env, 'HEADERS_TIMEOUT_MS', 10_000, 1000, 120_000);
  const keepAliveMs = int(env, 'KEEP_ALIVE_TIMEOUT_MS', 5_000, 1000, 120_000);
  // Node refuses a headers deadline later than the whole request's.
  if (headersMs > requestMs) {
    throw new ConfigError(
      'HEADERS_TIMEOUT_MS',
      `at most REQUEST_TIMEOUT_MS (${requestMs})`,
      String(headersMs),
    );
  }
  return { requestMs, headersMs, keepAliveMs };
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(name, 'true or false', raw);
  return raw === 'true';
}

/** Variables that were renamed: refused by name, so a setting is never silently dropped. */
const RENAMED = { UPLOAD_MAX_BYTES: 'FILE_MAX_BYTES', UPLOAD_ALLOWED_TYPES: 'FILE_TYPES' };

function fileTypes(env: Env): string[] {
  const raw = str(env, 'FILE_TYPES');
  const types = (raw ?? DEFAULT_FILE_TYPES.join(','))
    .split(',')
    .map((t) => t.trim().toLowerCase().replace(/^\./, ''))
    .filter(Boolean);
  if (types.length === 0 || types.some((t) => !new RegExp(FILE_TYPE_PATTERN).test(t))) {
    throw new ConfigError(
      'FILE_TYPES',
      'a comma-separated list of file extensions (e.g. png,jpg,pdf)',
      raw,
    );
  }
  return [...new Set(types)];
}

/** S3 when S3_BUCKET is set; its credentials both or neither (then the SDK's usual chain). */
function s3(env: Env): S3Config | null {
  const bucket = str(env, 'S3_BUCKET');
  const others = [
    'S3_ENDPOINT',
    'S3_REGION',
    'S3_ACCESS_KEY_ID',
    'S3_SECRET_ACCESS_KEY',
    'S3_FORCE_PATH_STYLE',
  ];
  if (bucket === undefined) {
    const stray = others.find((name) => str(env, name) !== undefined);
    if (stray) throw new ConfigError('S3_BUCKET', `set when ${stray} is`, undefined);
    return null;
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new ConfigError('S3_BUCKET', 'an S3 bucket name (3 to 63 of a-z 0-9 . -)', bucket);
  const accessKeyId = str(env, 'S3_ACCESS_KEY_ID') ?? null;
  const secretAccessKey = str(env, 'S3_SECRET_ACCESS_KEY') ?? null;
  if ((accessKeyId === null) !== (secretAccessKey === null)) {
    throw new ConfigError(
      accessKeyId === null ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY',
      'set together with ' + (accessKeyId === null ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID'),
      undefined,
    );
  }
  return {
    endpoint: url(env, 'S3_ENDPOINT', ['http:', 'https:']),
    bucket,
    region: str(env, 'S3_REGION') ?? 'us-east-1',
    accessKeyId,
    secretAccessKey,
    forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', false),
  };
}

function metrics(env: Env): MetricsConfig {
  const token = str(env, 'METRICS_TOKEN') ?? null;
  // A bearer token's characters (RFC 6750), long enough not to be guessed.
  if (token !== null && !/^[A-Za-z0-9._~+/-]{32,512}=*$/.test(token)) {
    throw new ConfigError(
      'METRICS_TOKEN',
      'at least 32 characters of A-Z a-z 0-9 . _ ~ + / - (e.g. `openssl rand -hex 32`)',
      '[hidden]',
    );
  }
  const raw = str(env, 'METRICS_LISTEN');
  if (raw === undefined) return { token, listen: null };
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$/.exec(raw);
  const host = match?.[1] ?? match?.[2] ?? '';
  const port = Number(match?.[3]);
  if (!match || (host !== 'localhost' && isIP(host) === 0) || port > 65535) {
    throw new ConfigError(
      'METRICS_LISTEN',
      'an address and port such as 127.0.0.1:9464 or [::1]:9464',
      raw,
    );
  }
  return { token, listen: { host, port } };
}

export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'PORT', 3000, 1, 65535);
  const host = str(env, 'HOST') ?? '127.0.0.1';
  if (host !== 'localhost' && isIP(host) === 0) {
    throw new ConfigError('HOST', 'an IP address to listen on (e.g. 127.0.0.1 or 0.0.0.0)', host);
  }
  const certFile = str(env, 'TLS_CERT');
  const keyFile = str(env, 'TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      certFile === undefined ? 'TLS_CERT' : 'TLS_KEY',
      'set together with ' + (certFile === undefined ? 'TLS_KEY' : 'TLS_CERT'),
      undefined,
    );
  }
  const tls =
    certFile && keyFile
      ? {
          certFile: readableFile('TLS_CERT', certFile, 'a PEM certificate (chain)'),
          keyFile: readableFile('TLS_KEY', keyFile, 'a PEM private key'),
        }
      : null;
  const defaultOrigin = `${tls ? 'https' : 'http'}://localhost:${port}`;
  for (const [old, name] of Object.entries(RENAMED))
    if (str(env, old) !== undefined)
      throw new ConfigError(old, `renamed: set ${name} instead`, undefined);
  const cookieSecret = str(env, 'COOKIE_SECRET');
  if (cookieSecret !== undefined && cookieSecret.length < 32) {
    throw new ConfigError('COOKIE_SECRET', 'at least 32 characters of random text', '[hidden]');
  }
  const opaqueServerSetup = str(env, 'OPAQUE_SERVER_SETUP');
  if (opaqueServerSetup !== undefined && !/^[A-Za-z0-9_-]{100,}$/.test(opaqueServerSetup)) {
    throw new ConfigError(
      'OPAQUE_SERVER_SETUP',
      'the base64url server setup made by `securechat secrets opaque`',
      '[hidden]',
    );
  }
  const dataDir = resolve(str(env, 'DATA_DIR') ?? './data');
  return {
    host,
    port,
    dataDir,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: keyPrefix(env, 'REDIS_KEY_PREFIX', 'securechat:'),
    publicOrigin: origin(env, 'PUBLIC_ORIGIN', defaultOrigin),
    tls,
    trustProxy: cidrList(env, 'TRUST_PROXY'),
    registration: oneOf(env, 'REGISTRATION', ['open', 'invite'] as const, 'open'),
    requireSecondFactor: bool(env, 'REQUIRE_2FA', false),
    logLevel: oneOf(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      'info',
    ),
    files: {
      maxBytes: int(env, 'FILE_MAX_BYTES', Limits.FILE_MAX_BYTES, 1024, 1024 * 1024 * 1024),
      allowedTypes: fileTypes(env),
      quotaBytes: int(
        env,
        'FILE_QUOTA_BYTES',
        Limits.FILE_BYTES_PER_USER_MAX,
        1024,
        Number.MAX_SAFE_INTEGER,
      ),
      s3: s3(env),
    },
    rateLimits: {
      apiPerMinute: int(
        env,
        'RATE_LIMIT_API_PER_MINUTE',
        Limits.API_REQUESTS_PER_MINUTE,
        10,
        1_000_000,
      ),
      loginPerMinute: int(
        env,
        'RATE_LIMIT_LOGIN_PER_MINUTE',
        Limits.LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS_PER_MINUTE,
        1,
        1000,
      ),
      registrationsPerHour: int(
        env,
        'RATE_LIMIT_REGISTRATIONS_PER_HOUR',
        Limits.REGISTRATIONS_PER_HOUR,
        1,
        100_000,
      ),
      sends: {
        perDevice: int(
          env,
          'RATE_LIMIT_SENDS_PER_SECOND_PER_DEVICE',
          Limits.SENDS_PER_SECOND_PER_DEVICE,
          1,
          Limits.SENDS_PER_SECOND_MAX,
        ),
        perUser: int(
          env,
          'RATE_LIMIT_SENDS_PER_SECOND_PER_USER',
          Limits.SENDS_PER_SECOND_PER_USER,
          1,
          Limits.SENDS_PER_SECOND_MAX,
        ),
      },
    },
    sqliteSynchronous: oneOf(env, 'SQLITE_SYNCHRONOUS', SQLITE_SYNCHRONOUS, 'full'),
    timeouts: timeouts(env),
    auditRetentionDays: int(
      env,
      'AUDIT_RETENTION_DAYS',
      Limits.AUDIT_RETENTION_DEFAULT_DAYS,
      Limits.AUDIT_RETENTION_MIN_DAYS,
      Limits.AUDIT_RETENTION_MAX_DAYS,
    ),
    metrics: metrics(env),
    secretsFromEnv: {
      ...(cookieSecret === undefined ? {} : { cookieSecret }),
      ...(opaqueServerSetup === undefined ? {} : { opaqueServerSetup }),
    },
    masterKey: {
      file: resolve(str(env, 'MASTER_KEY_FILE') ?? resolve(dataDir, 'secrets', 'master.key')),
      fromEnv: masterKeyFromEnv(env, 'MASTER_KEY'),
      nextFromEnv: masterKeyFromEnv(env, 'MASTER_KEY_NEXT'),
    },
  };
}

/** MASTER_KEY(_NEXT): 32 bytes in base64 or base64url (`securechat keys generate` prints one). */
function masterKeyFromEnv(env: Env, name: 'MASTER_KEY' | 'MASTER_KEY_NEXT'): Buffer | null {
  const raw = str(env, name);
  if (raw === undefined) return null;
  const bytes = /^[A-Za-z0-9+/_-]{43}=?$/.test(raw) ? Buffer.from(raw, 'base64') : null;
  if (bytes?.length !== 32) {
    throw new ConfigError(name, '32 random bytes in base64 or base64url', '[hidden]');
  }
  return bytes;
}
