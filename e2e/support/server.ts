/**
 * Runs the real, built server as a child process for a browser test: a fresh data folder, a
 * free port, http://localhost as its public origin (a secure context for Chromium, so the
 * `__Host-` Secure cookies work without TLS). Its stdout is kept so a test can read the log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test-support/net.js';

export { freePort };

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVER_MAIN = join(ROOT, 'packages/server/dist/main.js');
const WEB_INDEX = join(ROOT, 'packages/web/dist/index.html');

const HEALTH_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

export interface RunningServer {
  /** http://localhost:<port>, the PUBLIC_ORIGIN the browser uses. */
  origin: string;
  port: number;
  /** Its DATA_DIR (database, uploads), removed by `stop()`. */
  dataDir: string;
  /** Lines the server printed on stdout (JSON log lines) since it last started. */
  stdout: string[];
  /** What it printed on stderr so far. */
  stderr(): string;
  /** The first log line whose `msg` contains `text`, waiting for it up to `timeoutMs`. */
  waitForLog(text: string, timeoutMs?: number): Promise<LogLine>;
  /** Stop it (SIGTERM) and start it again on the same port and data folder; clears `stdout`. */
  restart(): Promise<void>;
  /** Stop it (SIGTERM, then SIGKILL after 10 s) and remove its data folder. */
  stop(): Promise<void>;
  /** Kill it with SIGKILL, as a crash would: no shutdown at all. `stop()` still cleans up. */
  crash(): Promise<void>;
}

export interface LogLine {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

/** Servers still running, killed if the test process goes away without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function assertBuilt(): void {
  const missing = [SERVER_MAIN, WEB_INDEX].filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(
      `The app is not built (missing ${missing.join(', ')}): run \`npm run build\` before the browser tests.`,
    );
  }
}

function parseLog(line: string): LogLine | null {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as LogLine) : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  assertBuilt();
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'securechat-e2e-'));
  const origin = `http://localhost:${port}`;
  const stdout: string[] = [];
  let stderr = '';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const kill = async () => {
    const current = child;
    if (current && current.exitCode === null && current.signalCode === null) {
      current.kill('SIGTERM');
      const timer = setTimeout(() => current.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
  };
  const crash = async () => {
    const current = child;
    if (current && current.exitCode === null && current.signalCode === null) {
      current.kill('SIGKILL');
      await exited;
    }
  };
  const stop = async () => {
    await kill();
    rmSync(dataDir, { recursive: true, force: true });
  };

  const launch = async () => {
    const current = spawn(process.execPath, [SERVER_MAIN], {
      cwd: dataDir, // so no .env of the developer's is read
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_ORIGIN: origin,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = current;
    running.add(current);
    exited = new Promise<void>((resolve) =>
      current.once('exit', () => {
        running.delete(current);
        resolve();
      }),
    );
    let partial = '';
    current.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      stdout.push(...lines);
    });
    current.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });

    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    for (;;) {
      if (current.exitCode !== null || current.signalCode !== null) {
        await stop();
        throw new Error(
          `The server exited (${current.exitCode ?? current.signalCode}) before it was healthy:\n${stderr}`,
        );
      }
      try {
        const response = await fetch(`http://127.0.0.1:${port}/api/health`);
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(
          `The server did not answer GET /api/health with 200 within ${HEALTH_TIMEOUT_MS / 1000} s:\n${stderr}`,
        );
      }
      await sleep(100);
    }
  };

  await launch();
  return {
    origin,
    port,
    dataDir,
    stdout,
    stderr: () => stderr,
    async waitForLog(text, timeoutMs = 5_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        for (const line of stdout) {
          const entry = parseLog(line);
          if (entry && typeof entry.msg === 'string' && entry.msg.includes(text)) return entry;
        }
        if (Date.now() > until) {
          throw new Error(
            `The server logged no line containing ${JSON.stringify(text)} within ${timeoutMs} ms. Its log:\n${stdout.join('\n')}\n${stderr}`,
          );
        }
        await sleep(50);
      }
    },
    async restart() {
      await kill();
      stdout.length = 0;
      await launch();
    },
    stop,
    crash,
  };
}

/** Run the server until it exits by itself (e.g. refusing its configuration). */
export function runServerToExit(
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'securechat-e2e-config-'));
    const child = spawn(process.execPath, [SERVER_MAIN], {
      cwd: dataDir,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`The server kept running with ${JSON.stringify(env)}:\n${stdout}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      running.delete(child);
      rmSync(dataDir, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}
