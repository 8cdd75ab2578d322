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

export interface RunningServer {
  origin: string;
  port: number;
  /** Lines the server printed on stdout (JSON log lines). */
  stdout: string[];
  stop(): Promise<void>;
}

export function assertBuilt(): void {
  if (!existsSync(SERVER_MAIN) || !existsSync(WEB_INDEX)) {
    throw new Error('The app is not built: run `npm run build` before the browser tests.');
  }
}

export async function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  assertBuilt();
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'securechat-e2e-'));
  const origin = `http://localhost:${port}`;
  const child: ChildProcess = spawn(process.execPath, [SERVER_MAIN], {
    cwd: dataDir,
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
  const stdout: string[] = [];
  let stderr = '';
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    stdout.push(...lines);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`The server exited with ${child.exitCode}: ${stderr}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/health`);
      if (response.ok) break;
    } catch {
      // not yet listening
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The server did not become healthy within 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // The setup link is logged right after listening; give the log a moment to arrive.
  await new Promise((r) => setTimeout(r, 200));

  return {
    origin,
    port,
    stdout,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
