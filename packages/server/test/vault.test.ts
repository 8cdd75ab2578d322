/**
 * Encryption at rest (docs/decisions/0022-encryption-at-rest.md): sealing, the raw bytes of
 * the SQLite file and WAL and a pg_dump after protected values were made through the API,
 * key rotation under load with two nodes, and a wrong or missing master key at start.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DirectoryEntry } from '@securechat/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test-support/net.js';
import { buildApp, type App } from '../src/app.js';
import { runCli } from '../src/cli.js';
import { migrateToLatest, openStorage, type Storage } from '../src/storage/db.js';
import { openVault } from '../src/vault/index.js';
import { createKeyring, KEYRING_REFRESH_MS, SealedValueError } from '../src/vault/keyring.js';
import { masterKeySource, nextFileOf } from '../src/vault/master-key.js';
import { rotate, vaultStatus } from '../src/vault/rotation.js';
import { signedIn, socketHeaders, TestClient } from './support/client.js';
import {
  createTestApp,
  createTestDatabase,
  describeEachDialect,
  testConfig,
  type TestApp,
} from './support/harness.js';
import { Peer } from './support/peer.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));

const random = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;

/** Channels whose name contains `query`, as `name|topic`. */
async function directory(peer: Peer, query: string): Promise<string[]> {
  const reply = await peer.request<'directory'>({
    t: 'directory',
    ...(query ? { query } : {}),
    limit: 100,
  });
  if (reply.t !== 'directory') throw new Error(reply.message);
  return reply.channels.map((c: DirectoryEntry) => `${c.name}|${c.topic ?? ''}`);
}

async function createChannel(peer: Peer, name: string, topic: string): Promise<string> {
  const created = await peer.request<'room'>({ t: 'create', kind: 'channel', name, topic });
  if (created.t !== 'room') throw new Error(created.message);
  return created.room.id;
}

describeEachDialect('the vault', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(() => t.close());

  it('seals a value that opens again, only as its own purpose, and never twice alike', async () => {
    const a = await t.vault.seal('username', 'alice');
    const b = await t.vault.seal('username', 'alice');
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(await t.vault.open('username', a)).toBe('alice');
    await expect(t.vault.open('room-name', a)).rejects.toThrow(SealedValueError);
    // The index is keyed and stable, and differs between kinds.
    expect(t.vault.index('username', 'alice')).toBe(t.vault.index('username', 'alice'));
    expect(t.vault.index('username', 'alice')).not.toBe(t.vault.index('room-name', 'alice'));
    expect(t.vault.index('username', 'alice')).not.toContain('alice');
  });

  it('detects tampering with the ciphertext, the nonce or the key id', async () => {
    const sealed = await t.vault.seal('room-topic', 'a topic worth protecting');
    const [v, keyId = '', nonce = '', body = ''] = sealed.split('.');
    const flip = (text: string, at: number) =>
      text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    for (const forged of [
      [v, keyId, nonce, flip(body, 3)].join('.'),
      [v, keyId, flip(nonce, 2), body].join('.'),
      [v, keyId, nonce, body.slice(0, -4)].join('.'),
      [v, flip(keyId, 0), nonce, body].join('.'),
      'plain text',
    ]) {
      await expect(t.vault.open('room-topic', forged)).rejects.toThrow(SealedValueError);
    }
  });

  it('opens a value sealed under a key another node made, by reloading the keys', async () => {
    // A second keyring on the same database and key file: a node that started later.
    const other = createKeyring(
      t.storage.db,
      masterKeySource(t.config.masterKey, { create: false }),
    );
    await other.prepare();
    const sealed = await other.seal('device-name', 'Firefox on Linux');
    expect(await t.vault.open('device-name', sealed)).toBe('Firefox on Linux');
    // A new data key (as a rotation makes) reaches this node on first sight.
    const { id, generation } = other.current('device-name');
    const newer = randomBytes(9).toString('base64url');
    const master = other.masters().current;
    await t.storage.db
      .insertInto('vault_keys')
      .values({
        id: newer,
        purpose: 'device-name',
        generation: generation + 1,
        master_id: master.id,
        wrapped: other.wrap(master, newer, 'device-name', generation + 1, randomBytes(32)),
        created_at: Date.now(),
        rotation: null,
      })
      .execute();
    await other.reload();
    expect(other.current('device-name').id).not.toBe(id);
    const underNew = await other.seal('device-name', 'Safari on macOS');
    expect(await t.vault.open('device-name', underNew)).toBe('Safari on macOS');
  });
});

describeEachDialect('a stolen database', (dialect) => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await createTestApp(dialect, { env: { RATE_LIMIT_LOGIN_PER_MINUTE: '100' } });
    const port = await freePort();
    url = `ws://127.0.0.1:${port}/api/ws`;
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  /** Every byte the database keeps: the SQLite file and its WAL, or a pg_dump. */
  function rawBytes(): Buffer {
    if (dialect === 'sqlite') {
      const file = join(t.config.dataDir, 'securechat.db');
      return Buffer.concat(
        [file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)),
      );
    }
    return execFileSync('pg_dump', ['--no-owner', t.config.databaseUrl ?? ''], {
      maxBuffer: 256 * 1024 * 1024,
    });
  }

  it('holds no username, channel name or topic made through the API, in any byte', async () => {
    const username = random('thief');
    const name = random('vaulted-');
    const topic = random('Topic that stays secret ');
    const device = 'Chrome on Linux';
    const client = await signedIn(t.app, username);
    const peer = await Peer.open(url, socketHeaders(client));
    const room = await createChannel(peer, name, topic);
    // A rename and a new topic (the settings notice carries both).
    const renamed = random('renamed-');
    const retopic = random('Second secret topic ');
    const changed = await peer.request({
      t: 'settings',
      room: room as never,
      name: renamed,
      topic: retopic,
    });
    expect(changed.t).not.toBe('error');

    // Everything still reads through the API.
    expect(await directory(peer, renamed)).toEqual([`${renamed}|${retopic}`]);
    peer.socket.close();
    const session = await client.get('/api/auth/session');
    expect(session.json()).toMatchObject({ user: { username }, device: { name: device } });

    const secrets = [username, name, topic, renamed, retopic, device];
    const check = () => {
      const bytes = rawBytes();
      // What is not protected is there to find (the search works): the room's id.
      expect(bytes.includes(Buffer.from(room))).toBe(true);
      for (const secret of secrets) expect(bytes.includes(Buffer.from(secret))).toBe(false);
      // The address of the sign-in is sealed too (127.0.0.1 would be everywhere in SQLite's
      // free text otherwise: checked on the audit row instead).
    };
    check();
    if (dialect === 'sqlite') {
      // Checkpointed into the main file, and again.
      await sql`pragma wal_checkpoint(truncate)`.execute(t.storage.db);
      check();
    }
    const audit = await t.storage.db.selectFrom('audit_log').select('ip').execute();
    expect(audit.length).toBeGreaterThan(0);
    for (const row of audit) expect(row.ip ?? 'v1.').toMatch(/^v1\./);
  });
});

describe('the master key at start', () => {
  async function started(env: Record<string, string>) {
    const child = spawn(process.execPath, ['--import', TSX, MAIN], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    return { code, stderr, stdout };
  }

  it('is made 0600 on first start; a wrong or missing one stops the server with one line', async () => {
    const database = await createTestDatabase('sqlite');
    try {
      const config = testConfig(database);
      const storage = openStorage({ dataDir: config.dataDir, databaseUrl: null });
      await migrateToLatest(storage, await openVault(config, storage.db));
      await storage.close();
      const file = join(config.dataDir, 'secrets', 'master.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const env = {
        DATA_DIR: config.dataDir,
        PORT: String(await freePort()),
        PUBLIC_ORIGIN: 'http://localhost:3000',
      };

      writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`);
      const wrong = await started(env);
      expect(wrong.code).toBe(78);
      expect(wrong.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^securechat: The master key in .*master\.key is not the one that wrapped the data keys/,
        ),
      ]);
      expect(wrong.stderr).not.toMatch(/\bat \S+:\d+/); // no stack trace

      rmSync(file);
      const missing = await started(env);
      expect(missing.code).toBe(78);
      expect(missing.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^securechat: The master key file .*master\.key is missing, but the database holds data keys/,
        ),
      ]);
      expect(existsSync(file)).toBe(false); // not replaced by a new key

      const viaEnv = await started({ ...env, MASTER_KEY: randomBytes(32).toString('base64') });
      expect(viaEnv.code).toBe(78);
      expect(viaEnv.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^securechat: MASTER_KEY is not the master key that wrapped/),
      ]);
    } finally {
      await database.drop();
    }
  }, 120_000);
});

describeEachDialect('keys rotate', (dialect) => {
  let one: TestApp;
  let twoStorage: Storage;
  let two: App;
  let url: string;
  let oldKeyText = '';
  beforeAll(async () => {
    one = await createTestApp(dialect, {
      env: { RATE_LIMIT_LOGIN_PER_MINUTE: '1000', RATE_LIMIT_REGISTRATIONS_PER_HOUR: '10000' },
    });
    // A second node on the same database and key file, with a keyring of its own.
    twoStorage = openStorage({ dataDir: one.config.dataDir, databaseUrl: one.config.databaseUrl });
    const twoVault = await openVault(one.config, twoStorage.db);
    await migrateToLatest(twoStorage, twoVault);
    two = await buildApp({
      config: one.config,
      secrets: one.secrets,
      storage: twoStorage,
      vault: twoVault,
    });
    await two.ready();
    const port = await freePort();
    url = `ws://127.0.0.1:${port}/api/ws`;
    await two.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await two.close();
    await one.close();
  });

  it('re-encrypts everything under load on two nodes; the old key opens nothing after', async () => {
    const keyFile = one.config.masterKey.file;
    const oldKey = readFileSync(keyFile, 'utf8');
    const oldMaster = one.vault.masters().current.id;
    const made: { username: string; channel: string; topic: string }[] = [];
    const makeOne = async (node: App, i: number) => {
      const username = random(`load${i}x`);
      const client = await signedIn(node, username);
      const peer = await Peer.open(url, socketHeaders(client));
      const channel = random(`ch${i}-`);
      const topic = random('topic ');
      await createChannel(peer, channel, topic);
      peer.socket.close();
      made.push({ username, channel, topic });
    };
    for (let i = 0; i < 6; i += 1) await makeOne(i % 2 === 0 ? one.app : two, i);

    // Clients keep registering and creating channels, on both nodes, while it rotates.
    let stop = false;
    const load = (async () => {
      // Paced and capped, so that the whole rotation sees writes and one directory page
      // (DIRECTORY_PAGE_MAX) lists every channel afterwards.
      for (let i = 100; !stop; i += 1) {
        if (made.length < 80) await makeOne(i % 2 === 0 ? one.app : two, i);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    const lines: string[] = [];
    await rotate(one.vault, one.storage.db, {
      batch: 3,
      graceMs: 2 * KEYRING_REFRESH_MS,
      log: (line) => lines.push(line),
    });
    stop = true;
    await load;
    expect(lines.at(-1)).toMatch(/^Rotation complete/);

    // The key file holds the new key; the old one wraps nothing and seals nothing.
    expect(readFileSync(keyFile, 'utf8')).not.toBe(oldKey);
    expect(existsSync(nextFileOf(keyFile))).toBe(false);
    const status = await vaultStatus(one.vault, one.storage.db);
    expect(status.master.current).not.toBe(oldMaster);
    expect(status.master.next).toBeNull();
    expect(status.orphans).toBe(0);
    for (const key of status.keys) {
      expect(key.masterId).toBe(status.master.current);
      if (!key.current) expect(key.values).toBe(0);
    }
    expect(status.keys.filter((k) => !k.current)).toEqual([]);
    const rows = await one.storage.db.selectFrom('vault_keys').select('master_id').execute();
    expect(rows.every((r) => r.master_id === status.master.current)).toBe(true);

    // Every value made before and during the rotation still reads, on both nodes; the blind
    // index still finds every name.
    expect(made.length).toBeGreaterThan(6);
    const viewer = await signedIn(two, random('viewer'));
    const peer = await Peer.open(url, socketHeaders(viewer));
    const listed = await directory(peer, '');
    peer.socket.close();
    const viewerId = (await viewer.get('/api/auth/session')).json<{ user: { id: string } }>().user
      .id;
    for (const node of [one.app, two]) {
      const onNode = (await node.services.rooms.directory(viewerId, undefined, 100)).map(
        (c) => `${c.name}|${c.topic ?? ''}`,
      );
      expect(onNode).toEqual(listed);
      for (const { username, channel, topic } of made) {
        expect(onNode).toContain(`${channel}|${topic}`);
        const again = await new TestClient(node).login(username);
        expect(again.stage, username).toBe('finish');
      }
    }

    // A restarted node loads the new key file; a copy of the old key opens nothing.
    const restarted = createKeyring(
      one.storage.db,
      masterKeySource(one.config.masterKey, { create: false }),
    );
    await restarted.prepare();
    const newKey = readFileSync(keyFile, 'utf8');
    writeFileSync(keyFile, oldKey);
    const stale = createKeyring(
      one.storage.db,
      masterKeySource(one.config.masterKey, { create: false }),
    );
    await expect(stale.prepare()).rejects.toThrow(/is not the one that wrapped/);
    writeFileSync(keyFile, newKey);
    oldKeyText = oldKey;
  }, 180_000);

  it('shows the keys and their values in `securechat keys status`', async () => {
    const out: string[] = [];
    const env = {
      DATA_DIR: one.config.dataDir,
      LOG_LEVEL: 'silent',
      ...(one.config.databaseUrl ? { DATABASE_URL: one.config.databaseUrl } : {}),
    };
    const io = { out: (line: string) => out.push(line), err: (line: string) => out.push(line) };
    expect(await runCli(['keys', 'status'], env, io)).toBe(0);
    expect(out[0]).toMatch(/^master key [A-Za-z0-9_-]{12}$/);
    expect(out).toContainEqual(
      expect.stringMatching(/^username\tkey \S+\tgeneration 2\t.*\tcurrent\t\d+ values$/),
    );
    expect(out).toContainEqual(
      expect.stringMatching(/^index\tkey \S+\tgeneration 1\t.*\tcurrent\t0 values$/),
    );
    expect(out.some((line) => line.includes('\told\t'))).toBe(false);
    // A copy of the old key file opens nothing: one line, and the status of a config error.
    out.length = 0;
    writeFileSync(one.config.masterKey.file, oldKeyText);
    expect(await runCli(['keys', 'status'], env, io)).toBe(78);
    expect(out).toEqual([
      expect.stringMatching(/^securechat: The master key in .* is not the one/),
    ]);
  });
});

describe('keys rotate with MASTER_KEY from the environment', () => {
  it('needs MASTER_KEY_NEXT on every node, then leaves everything under it', async () => {
    const database = await createTestDatabase('sqlite');
    const out: string[] = [];
    const io = { out: (line: string) => out.push(line), err: (line: string) => out.push(line) };
    const first = randomBytes(32).toString('base64');
    const second = randomBytes(32).toString('base64url');
    const env = (vars: Record<string, string>) => ({
      DATA_DIR: database.dataDir,
      LOG_LEVEL: 'silent',
      ...vars,
    });
    try {
      expect(await runCli(['keys', 'status'], env({ MASTER_KEY: first }), io)).toBe(0);
      expect(existsSync(join(database.dataDir, 'secrets', 'master.key'))).toBe(false);
      expect(await runCli(['keys', 'rotate', '--batch', 'many'], env({}), io)).toBe(64);

      out.length = 0;
      expect(await runCli(['keys', 'rotate'], env({ MASTER_KEY: first }), io)).toBe(78);
      expect(out).toEqual([
        expect.stringMatching(
          /^securechat: MASTER_KEY comes from the environment: set the new key as MASTER_KEY_NEXT/,
        ),
      ]);

      out.length = 0;
      const both = env({ MASTER_KEY: first, MASTER_KEY_NEXT: second });
      expect(await runCli(['keys', 'rotate', '--batch', '2'], both, io)).toBe(0);
      expect(out.at(-1)).toMatch(
        /^Rotation complete: .* set MASTER_KEY to the value of MASTER_KEY_NEXT/,
      );

      out.length = 0;
      expect(await runCli(['keys', 'status'], env({ MASTER_KEY: second }), io)).toBe(0);
      const masterId = /^master key (\S+)$/.exec(out[0] ?? '')?.[1];
      expect(masterId).toBeDefined();
      expect(
        out.slice(1).every((line) => line.includes(`\twrapped by ${masterId}\tcurrent\t`)),
      ).toBe(true);
      out.length = 0;
      expect(await runCli(['keys', 'status'], env({ MASTER_KEY: first }), io)).toBe(78);
      expect(out).toEqual([expect.stringMatching(/^securechat: MASTER_KEY is not the master key/)]);
    } finally {
      await database.drop();
    }
  }, 60_000);
});
