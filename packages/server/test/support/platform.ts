/**
 * Helpers for the platform tests (errors, headers, CSRF, TLS, timeouts, logs): an app built like
 * the harness's but with a captured log and, when a test needs one, extra routes; a CSRF token
 * the way a browser gets one; raw sockets for what inject() cannot show.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import type { Secrets } from '../../src/secrets.js';
import { createLogger } from '../../src/logger.js';
import type { Dialect } from '../../src/storage/dialect.js';
import { createTestApp, type TestDatabase } from './harness.js';

export const ORIGIN = 'http://localhost:3000';

/** Every log line the app wrote, parsed. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      this.lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });

  get text(): string {
    return this.lines.join('\n');
  }

  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface PlatformApp {
  app: App;
  config: Config;
  secrets: Secrets;
  logs: LogCapture;
  database: TestDatabase;
  close(): Promise<void>;
}

export interface PlatformAppOptions {
  env?: Record<string, string>;
  webRoot?: string;
  /** Routes a test adds before the app is ready (e.g. one that throws). */
  routes?: (app: FastifyInstance) => void;
}

/** A migrated database and an app on it that logs everything (trace) into `logs`. */
export async function createPlatformApp(
  dialect: Dialect,
  options: PlatformAppOptions = {},
): Promise<PlatformApp> {
  const logs = new LogCapture();
  const t = await createTestApp(dialect, {
    ...options,
    logger: createLogger('trace', logs.stream),
  });
  return {
    app: t.app,
    config: t.config,
    secrets: t.secrets,
    logs,
    database: t.database,
    close: () => t.close(),
  };
}

/** What a page of ours holds after GET /api/csrf: the token and the cookie that goes with it. */
export async function csrfFor(
  app: App,
  remoteAddress = '127.0.0.1',
): Promise<{ token: string; cookie: string }> {
  const response = await app.inject({ url: '/api/csrf', remoteAddress });
  if (response.statusCode !== 200) throw new Error(`GET /api/csrf: ${response.statusCode}`);
  const cookie = response.cookies.find((c) => c.name === '__Host-sc_csrf');
  if (!cookie) throw new Error('GET /api/csrf set no cookie');
  return {
    token: response.json<{ token: string }>().token,
    cookie: `${cookie.name}=${cookie.value}`,
  };
}

/** A throw-away web build: index.html, one hashed asset, a wasm file and a dotfile. */
export function fakeWebBuild(): string {
  const root = mkdtempSync(join(tmpdir(), 'securechat-web-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(
    join(root, 'index.html'),
    '<!doctype html><title>SecureChat</title><div id="root"></div>',
  );
  writeFileSync(join(root, 'assets', 'app-3f9a1c.js'), 'export {};');
  writeFileSync(join(root, 'assets', 'opaque-77aa01.wasm'), Buffer.from([0, 97, 115, 109]));
  writeFileSync(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(root, '.env'), 'SECRET=dotfile-must-not-leak');
  return root;
}

/** The port an app listens on. */
export function portOf(app: App): number {
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return address.port;
}

export interface RawExchange {
  /** Everything the server wrote before closing. */
  received: string;
  /** Milliseconds from connecting until the server closed the connection. */
  closedAfterMs: number;
}

/**
 * Open a raw TCP connection, let `drive` write to it (at its own pace), and resolve with what
 * came back once the server closes it. Fails after `limitMs` if the server never does.
 */
export function rawExchange(
  port: number,
  drive: (socket: Socket) => void,
  limitMs = 15_000,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let received = '';
    const socket = connect({ host: '127.0.0.1', port }, () => drive(socket));
    const limit = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${limitMs} ms`));
    }, limitMs);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(limit);
      resolve({ received, closedAfterMs: Date.now() - started });
    });
  });
}

/** The headers of a raw HTTP/1.1 answer, lower-cased. */
export function rawHeaders(received: string): { status: number; headers: Record<string, string> } {
  const [head = ''] = received.split('\r\n\r\n', 1);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers };
}
