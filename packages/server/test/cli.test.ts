import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/app.js';
import { loadSecrets } from '../src/secrets.js';
import { migrateToLatest, openStorage } from '../src/storage/db.js';
import { openVault } from '../src/vault/index.js';
import { createTestDatabase, describeEachDialect, type TestDatabase } from './support/harness.js';
import { TestClient } from './support/client.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

describeEachDialect('securechat CLI', (dialect) => {
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    env = {
      DATA_DIR: database.dataDir,
      LOG_LEVEL: 'silent',
      ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    };
  });
  afterAll(() => database.drop());

  it('admin create prints a one-time link that registers an administrator', async () => {
    const { io, out } = capture();
    expect(await runCli(['admin', 'create'], env, io)).toBe(0);
    const link = out.find((l) => l.includes('/setup#token='));
    const token = new URL(link ?? 'http://x').hash.replace('#token=', '');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The server started on the same data uses the link.
    const config = loadConfig(env);
    const storage = openStorage({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
    const vault = await openVault(config, storage.db);
    await migrateToLatest(storage, vault);
    const app = await buildApp({ config, secrets: await loadSecrets(config), storage, vault });
    try {
      const first = await new TestClient(app).register('chief', undefined, {
        setupToken: token,
      });
      expect(first.json(), first.body).toMatchObject({ user: { role: 'admin' } });
      const again = await new TestClient(app).register('chief2', undefined, {
        setupToken: token,
      });
      expect(again.statusCode).toBe(403);
      await new TestClient(app).register('member1');
    } finally {
      await app.close();
    }
  });

  it('promotes and demotes, refusing to demote the last administrator', async () => {
    let c = capture();
    expect(await runCli(['admin', 'demote', 'chief'], env, c.io)).toBe(1);
    expect(c.err.join('\n')).toContain('last administrator');
    c = capture();
    expect(await runCli(['admin', 'promote', 'member1'], env, c.io)).toBe(0);
    expect(c.out.join('\n')).toContain('member1 is now an administrator');
    c = capture();
    expect(await runCli(['admin', 'demote', 'chief'], env, c.io)).toBe(0);
    c = capture();
    expect(await runCli(['admin', 'promote', 'ghost'], env, c.io)).toBe(1);
    expect(c.err.join('\n')).toContain('There is no user named "ghost"');
  });
});

it('cert writes a certificate for the hosts and a private key only the owner can read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'securechat-cert-'));
  try {
    const { io } = capture();
    expect(
      await runCli(['cert', '--out', dir, '--host', 'chat.test', '--host', '10.1.2.3'], {}, io),
    ).toBe(0);
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    expect(cert.subjectAltName).toContain('DNS:chat.test');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain('IP Address:10.1.2.3');
    expect(cert.subjectAltName).not.toContain('DNS:10.1.2.3');
    expect(
      cert.checkPrivateKey(
        await import('node:crypto').then((c) =>
          c.createPrivateKey(readFileSync(join(dir, 'key.pem'))),
        ),
      ),
    ).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('secrets opaque prints a server setup the configuration accepts', async () => {
  const { io, out } = capture();
  expect(await runCli(['secrets', 'opaque'], {}, io)).toBe(0);
  const setup = out[0] ?? '';
  expect(loadConfig({ OPAQUE_SERVER_SETUP: setup }).secretsFromEnv.opaqueServerSetup).toBe(setup);
});

it('explains bad usage and bad configuration in one line with a non-zero exit', async () => {
  let c = capture();
  expect(await runCli(['frobnicate'], {}, c.io)).toBe(64);
  expect(c.err).toHaveLength(1);
  expect(c.err[0]).toContain('securechat --help');
  c = capture();
  expect(await runCli(['admin', 'create'], { DATABASE_URL: 'mysql://x' }, c.io)).toBe(78);
  expect(c.err[0]).toContain('DATABASE_URL must be');
  c = capture();
  expect(await runCli(['admin', 'promote'], {}, c.io)).toBe(64);
  expect(c.err).toHaveLength(1);
  c = capture();
  expect(await runCli(['cert', '--out'], {}, c.io)).toBe(64);
  c = capture();
  expect(await runCli(['--help'], {}, c.io)).toBe(0);
  expect(c.out.join('\n')).toContain('admin promote <username>');
  expect(existsSync('data/tls')).toBe(false);
});

it('runs as a program, also through the symlink npm installs for the bin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'securechat-bin-'));
  const cli = resolve(import.meta.dirname, '../src/cli.ts');
  const link = join(dir, 'securechat.ts');
  symlinkSync(cli, link);
  const run = promisify(execFile);
  try {
    for (const script of [cli, link]) {
      const help = await run(process.execPath, ['--import', 'tsx', script, '--help'], {
        env: { ...process.env, DATA_DIR: dir },
      });
      expect(help.stdout, script).toContain('admin promote <username>');
    }
    const bad = await run(process.execPath, ['--import', 'tsx', cli, 'admin', 'frobnicate'], {
      env: { ...process.env, DATA_DIR: dir },
    }).catch((error: unknown) => error as { code: number; stderr: string; stdout: string });
    expect(bad).toMatchObject({ code: 64, stdout: '' });
    expect((bad as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
