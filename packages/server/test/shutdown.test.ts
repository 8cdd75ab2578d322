/**
 * The server process (main.ts) as an operator runs it: it starts, answers, shuts down cleanly on
 * SIGTERM and SIGINT, keeps its generated secrets across restarts, and refuses bad configuration
 * with one line that names the variable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../test-support/net.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));

interface Server {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const started: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'securechat-main-'));
  dirs.push(dir);
  return dir;
}

/** Run main.ts in an empty working directory (no stray .env) with only the given variables. */
function start(env: Record<string, string>, cwd = tempDir()): Server {
  const child = spawn(process.execPath, ['--import', TSX, MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function waitUntilReady(server: Server, port: number): Promise<void> {
  const deadline = Date.now() + 25_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (server.child.exitCode !== null) {
      throw new Error(`the server exited ${server.child.exitCode}: ${server.stderr()}`);
    }
    if (Date.now() > deadline) throw new Error('the server did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the server process', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'shuts down cleanly on %s and stops listening',
    async (signal) => {
      const port = await freePort();
      const server = start({ PORT: String(port), DATA_DIR: tempDir() });
      await waitUntilReady(server, port);
      expect(server.stdout()).toContain('SecureChat is ready at http://localhost:');
      server.child.kill(signal);
      expect(await server.exited).toBe(0);
      expect(server.stdout()).toContain('"msg":"shutting down"');
      expect(server.stdout()).toContain(`"signal":"${signal}"`);
      expect(server.stderr()).toBe('');
      await expect(fetch(`http://127.0.0.1:${port}/api/health`)).rejects.toThrow();
    },
  );

  it('generates its secrets into DATA_DIR/secrets (0600) on first start and reuses them', async () => {
    const dataDir = tempDir();
    const secretFile = join(dataDir, 'secrets', 'cookie-secret');
    const run = async () => {
      const port = await freePort();
      const server = start({ PORT: String(port), DATA_DIR: dataDir });
      await waitUntilReady(server, port);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      return readFileSync(secretFile, 'utf8');
    };
    const first = await run();
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'secrets', 'opaque-server-setup')).mode & 0o777).toBe(0o600);
    expect(await run()).toBe(first);
  });

  it('refuses PORT=abc with exactly one line naming PORT and what it accepts', async () => {
    const server = start({ PORT: 'abc', DATA_DIR: tempDir() });
    const code = await server.exited;
    expect(code).not.toBe(0);
    expect(code).toBe(78);
    expect(server.stderr()).toBe(
      'securechat: Invalid configuration: PORT must be a whole number from 1 to 65535 (got "abc").\n',
    );
    expect(server.stdout()).toBe('');
  });

  it('refuses a TLS certificate that is not there, in one line', async () => {
    const dir = tempDir();
    const server = start({
      DATA_DIR: dir,
      TLS_CERT: join(dir, 'missing-cert.pem'),
      TLS_KEY: join(dir, 'missing-key.pem'),
    });
    expect(await server.exited).toBe(78);
    const lines = server.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^securechat: Invalid configuration: TLS_CERT must be /);
  });

  it('reads a .env file in its working directory', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, '.env'), 'REGISTRATION=sometimes\n');
    const server = start({ DATA_DIR: tempDir() }, cwd);
    expect(await server.exited).toBe(78);
    expect(server.stderr()).toContain('REGISTRATION must be one of open, invite (got "sometimes")');
  });
});
