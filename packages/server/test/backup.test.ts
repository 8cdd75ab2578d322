/**
 * `securechat backup` and `securechat restore`: a backup made while a populated server runs
 * (and keeps taking messages) restores into an empty folder, and a server started on it signs
 * the old users in with their old passwords and serves their history and files. Restore
 * refuses a folder that is not empty and an archive that is damaged or tampered with. On
 * PostgreSQL, the documented procedure (pg_dump, then securechat backup; pg_restore into a
 * fresh database, then securechat restore) does the same.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { filePath } from '@securechat/protocol';
import pg from 'pg';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../test-support/net.js';
import { roomId, seq } from '../../../test-support/ids.js';
import { buildApp, type App } from '../src/app.js';
import type { BackupManifest } from '../src/backup.js';
import { runCli } from '../src/cli.js';
import { loadConfig } from '../src/config.js';
import { GENERAL_ROOM_ID } from '../src/domain/delivery.js';
import { loadSecrets } from '../src/secrets.js';
import { migrateToLatest, openStorage } from '../src/storage/db.js';
import type { Dialect } from '../src/storage/dialect.js';
import { migrationNames } from '../src/storage/migrations/index.js';
import { openVault } from '../src/vault/index.js';
import { ORIGIN, signedIn, socketHeaders, TestClient } from './support/client.js';
import { createTestApp, type TestApp } from './support/harness.js';
import { Peer } from './support/peer.js';
import { csrfFor } from './support/platform.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const run = promisify(execFile);
const LATEST_MIGRATION = migrationNames('sqlite').at(-1);
const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

const dirs: string[] = [];
function tempDir(prefix = 'securechat-backup-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

/** Every message of a room, oldest first, paging back through history. */
async function messages(peer: Peer, room: string): Promise<{ seq: number; text: string }[]> {
  const found: { seq: number; text: string }[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await peer.request<'page'>({
      t: 'history',
      room: roomId(room),
      limit: 200,
      ...(before === undefined ? {} : { before: seq(before) }),
    });
    if (page.t !== 'page') throw new Error(page.message);
    for (const event of page.events) {
      if (event.kind === 'message') found.push({ seq: event.seq, text: decode(event.payload) });
    }
    const oldest = page.events[0]?.seq;
    if (oldest === undefined || oldest <= 1 || page.events.length < 200) break;
    before = oldest;
  }
  return found.sort((a, b) => a.seq - b.seq);
}

/** A server on a restored DATA_DIR (and database), listening on a free port. */
async function serverOn(env: Record<string, string>): Promise<{ app: App; url: string }> {
  const config = loadConfig({ LOG_LEVEL: 'silent', PUBLIC_ORIGIN: ORIGIN, ...env });
  const storage = openStorage({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  const vault = await openVault(config, storage.db);
  await migrateToLatest(storage, vault);
  const app = await buildApp({ config, secrets: await loadSecrets(config), storage, vault });
  const port = await freePort();
  await app.listen({ port, host: '127.0.0.1' });
  return { app, url: `ws://127.0.0.1:${port}/api/ws` };
}

/** The populated server: alice and bob, a private group, messages in it and in #general, a file. */
interface Populated {
  t: TestApp;
  url: string;
  alice: TestClient;
  bob: TestClient;
  group: string;
  file: { id: string; bytes: Buffer };
  a: Peer;
}

async function populate(dialect: Dialect): Promise<Populated> {
  const t = await createTestApp(dialect, { env: { RATE_LIMIT_LOGIN_PER_MINUTE: '100' } });
  const port = await freePort();
  await t.app.listen({ port, host: '127.0.0.1' });
  const url = `ws://127.0.0.1:${port}/api/ws`;
  const alice = await signedIn(t.app, 'alice');
  const bob = await signedIn(t.app, 'bob');
  const a = await Peer.open(url, socketHeaders(alice));
  const created = await a.request<'room'>({ t: 'create', kind: 'group' });
  if (created.t !== 'room') throw new Error(created.message);
  const group = created.room.id;
  expect(await a.request({ t: 'invite', room: roomId(group), username: 'bob' })).toMatchObject({
    t: 'room',
  });
  for (let i = 1; i <= 3; i += 1) {
    const ack = await a.request<'ack'>({
      t: 'send',
      room: roomId(group),
      cmid: `group-${i}`,
      kind: 'message',
      payload: text(`group message ${i}`),
    });
    expect(ack.t).toBe('ack');
  }
  const bytes = randomBytes(5000);
  const csrf = await csrfFor(t.app);
  const put = await t.app.inject({
    method: 'PUT',
    url: `${filePath(group)}?type=pdf`,
    headers: {
      cookie: `__Host-sc_session=${alice.cookie('__Host-sc_session')}; ${csrf.cookie}`,
      origin: ORIGIN,
      'x-csrf-token': csrf.token,
      'content-type': 'application/octet-stream',
    },
    payload: bytes,
  });
  expect(put.statusCode, put.body).toBe(201);
  const id = put.json<{ id: string }>().id;
  const withFile = await a.request<'ack'>({
    t: 'send',
    room: roomId(group),
    cmid: 'with-file',
    kind: 'message',
    payload: text('here is the file'),
    file: id,
  });
  expect(withFile.t).toBe('ack');
  return { t, url, alice, bob, group, file: { id, bytes }, a };
}

/** Sends to #general until stopped; `acked`: the texts acknowledged so far, in order. */
function keepSending(peer: Peer): { acked: string[]; stop(): Promise<string[]> } {
  const acked: string[] = [];
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped; i += 1) {
      const body = `general ${i}`;
      const ack = await peer.request<'ack'>({
        t: 'send',
        room: GENERAL_ROOM_ID,
        cmid: `general-${i}`,
        kind: 'message',
        payload: text(body),
      });
      if (ack.t !== 'ack') throw new Error(ack.message);
      acked.push(body);
      // Under the per-device send limit (20 a second).
      await new Promise((r) => setTimeout(r, 60));
    }
  })();
  return {
    acked,
    async stop() {
      stopped = true;
      await loop;
      return acked;
    },
  };
}

/** Signs alice in on a restored server with her old password and reads what she had. */
async function checkRestored(
  server: { app: App; url: string },
  before: Populated,
): Promise<{ general: string[]; group: string[] }> {
  const alice = new TestClient(server.app);
  const login = await alice.login('alice');
  expect(login.stage).toBe('finish');
  if (login.stage === 'finish') expect(login.response.statusCode, login.response.body).toBe(200);
  const peer = await Peer.open(server.url, socketHeaders(alice));
  try {
    const group = (await messages(peer, before.group)).map((m) => m.text);
    expect(group).toEqual([
      'group message 1',
      'group message 2',
      'group message 3',
      'here is the file',
    ]);
    const download = await alice.get(filePath(before.group, before.file.id));
    expect(download.statusCode).toBe(200);
    expect(Buffer.compare(download.rawPayload, before.file.bytes)).toBe(0);
    const general = await messages(peer, GENERAL_ROOM_ID);
    return { general: general.map((m) => m.text), group };
  } finally {
    peer.close();
  }
}

describe('backup and restore [sqlite]', () => {
  let before: Populated;
  let archive: string;
  let acked: string[];
  let ackedBeforeBackup: number;

  beforeAll(async () => {
    before = await populate('sqlite');
    archive = join(tempDir(), 'securechat.tar.gz');
    // The operator's command, in its own process, while the server keeps taking messages.
    const sender = keepSending(before.a);
    await new Promise((r) => setTimeout(r, 200));
    ackedBeforeBackup = sender.acked.length;
    const backup = spawn(process.execPath, ['--import', TSX, CLI, 'backup', archive], {
      cwd: tempDir(),
      env: { PATH: process.env.PATH ?? '', DATA_DIR: before.t.config.dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    backup.stdout.on('data', (c: Buffer) => (out += c.toString()));
    backup.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => backup.once('exit', resolve));
    acked = await sender.stop();
    expect(err).toBe('');
    expect(code, out).toBe(0);
    expect(out).toContain('Backed up to');
    expect(out).toContain('holds the server’s secrets');
  }, 60_000);
  afterAll(async () => {
    before.a.close();
    await before.t.close();
  });

  it('writes one file, readable only by its owner, with a manifest of checksums', async () => {
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    const listed: string[] = [];
    await tar.list({ file: archive, onReadEntry: (e) => listed.push(e.path) });
    expect(listed[0]).toBe('manifest.json');
    const unpacked = tempDir();
    await tar.extract({ file: archive, cwd: unpacked });
    const manifest = JSON.parse(
      readFileSync(join(unpacked, 'manifest.json'), 'utf8'),
    ) as BackupManifest;
    expect(manifest).toMatchObject({
      format: 'securechat-backup',
      formatVersion: 1,
      appVersion: '0.1.0',
      database: { dialect: 'sqlite', included: true, migration: LATEST_MIGRATION },
      secrets: { included: true, fromEnvironment: [], externalMasterKey: false },
      files: { store: 'folder', included: true, count: 1 },
    });
    expect(Date.parse(manifest.createdAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(manifest.entries.map((e) => e.path).sort()).toEqual(
      [
        'database/securechat.db',
        `files/${before.file.id}`,
        'secrets/cookie-secret',
        'secrets/master.key',
        'secrets/opaque-server-setup',
      ].sort(),
    );
    expect(listed.filter((p) => !p.endsWith('/')).sort()).toEqual(
      ['manifest.json', ...manifest.entries.map((e) => e.path)].sort(),
    );
  });

  it('restores into an empty folder: the old password signs in, history and files are there', async () => {
    const dataDir = join(tempDir(), 'restored'); // not there yet: restore makes it
    const { io, out, err } = capture();
    expect(await runCli(['restore', archive], { DATA_DIR: dataDir }, io)).toBe(0);
    expect(err).toEqual([]);
    expect(out.join('\n')).toContain('Every file matched its checksum');
    expect(readdirSync(dataDir).sort()).toEqual(['files', 'secrets', 'securechat.db']);
    expect(statSync(join(dataDir, 'secrets', 'opaque-server-setup')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'secrets')).mode & 0o777).toBe(0o700);

    const server = await serverOn({ DATA_DIR: dataDir });
    try {
      const { general } = await checkRestored(server, before);
      // A consistent moment: the messages acknowledged before the copy, in order, nothing
      // torn: a prefix of what was acknowledged overall.
      expect(general).toEqual(acked.slice(0, general.length));
      // Messages acknowledged after the command started (while it loaded) are in it: the
      // server was taking writes while the backup ran.
      expect(general.length).toBeGreaterThan(ackedBeforeBackup);
    } finally {
      await server.app.close();
    }
  });

  it('refuses a folder that is not empty, and changes nothing in it', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'notes.txt'), 'mine');
    const { io, err } = capture();
    expect(await runCli(['restore', archive], { DATA_DIR: dataDir }, io)).toBe(1);
    expect(err.join('\n')).toMatch(
      /DATA_DIR .* is not empty \(notes\.txt\): restore only into an empty folder/,
    );
    expect(readdirSync(dataDir)).toEqual(['notes.txt']);
  });

  it('refuses a damaged archive and one whose contents do not match the manifest', async () => {
    const damaged = join(tempDir(), 'damaged.tar.gz');
    const bytes = readFileSync(archive);
    const middle = Math.floor(bytes.length / 2);
    bytes.writeUInt8((bytes.readUInt8(middle) ^ 0xff) & 0xff, middle);
    writeFileSync(damaged, bytes);

    // Unpack, change the stored file, pack again with the original manifest.
    const unpacked = tempDir();
    await tar.extract({ file: archive, cwd: unpacked });
    const stored = join(unpacked, 'files', before.file.id);
    const changed = readFileSync(stored);
    changed.writeUInt8(changed.readUInt8(0) ^ 0x01, 0);
    writeFileSync(stored, changed);
    const tampered = join(tempDir(), 'tampered.tar.gz');
    await tar.create({ gzip: true, cwd: unpacked, file: tampered }, readdirSync(unpacked));

    // An extra entry the manifest does not list.
    writeFileSync(stored, readFileSync(join(before.t.config.dataDir, 'files', before.file.id)));
    writeFileSync(join(unpacked, 'secrets', 'planted'), 'x');
    const padded = join(tempDir(), 'padded.tar.gz');
    await tar.create({ gzip: true, cwd: unpacked, file: padded }, readdirSync(unpacked));

    // A schema this version does not know (a backup made by a newer SecureChat).
    rmSync(join(unpacked, 'secrets', 'planted'));
    const manifest = JSON.parse(
      readFileSync(join(unpacked, 'manifest.json'), 'utf8'),
    ) as BackupManifest;
    manifest.database.migration = '9999_from_the_future';
    writeFileSync(join(unpacked, 'manifest.json'), JSON.stringify(manifest));
    const newer = join(tempDir(), 'newer.tar.gz');
    await tar.create({ gzip: true, cwd: unpacked, file: newer }, readdirSync(unpacked));

    const junk = join(tempDir(), 'junk.tar.gz');
    writeFileSync(junk, randomBytes(4096));

    for (const [file, message] of [
      [damaged, /is not a readable backup .*the file is damaged/],
      [tampered, new RegExp(`files/${before.file.id} does not match its checksum`)],
      [padded, /holds secrets\/planted, which its manifest does not list/],
      [junk, /is not a readable backup/],
      [newer, /migration 9999_from_the_future, newer than this SecureChat/],
    ] as const) {
      const dataDir = join(tempDir(), 'target');
      mkdirSync(dataDir);
      const { io, err } = capture();
      expect(await runCli(['restore', file], { DATA_DIR: dataDir }, io)).toBe(1);
      expect(err.join('\n')).toMatch(message);
      expect(readdirSync(dataDir)).toEqual([]); // nothing left behind
    }
  });

  it('leaves the secrets out with --without-secrets, and refuses to overwrite a file', async () => {
    const file = join(tempDir(), 'no-secrets.tar.gz');
    const env = { DATA_DIR: before.t.config.dataDir };
    const { io, out } = capture();
    expect(await runCli(['backup', file, '--without-secrets'], env, io)).toBe(0);
    expect(out.join('\n')).toContain('Secrets were left out');
    const listed: string[] = [];
    await tar.list({ file, onReadEntry: (e) => listed.push(e.path) });
    expect(listed.some((p) => p.startsWith('secrets'))).toBe(false);
    expect(listed).toContain('database/securechat.db');

    const again = capture();
    expect(await runCli(['backup', file], env, again.io)).toBe(1);
    expect(again.err.join('\n')).toContain('already exists');
    const wrong = capture();
    expect(await runCli(['backup', file, '--with-everything'], env, wrong.io)).toBe(64);
  });

  it('leaves out stored files no row of the database copy names, and partial uploads', async () => {
    const folder = join(before.t.config.dataDir, 'files');
    writeFileSync(join(folder, 'uploaded-after-the-copy'), 'x');
    writeFileSync(join(folder, `${before.file.id}.abc123.partial`), 'x');
    try {
      const file = join(tempDir(), 'files.tar.gz');
      const { io, out } = capture();
      expect(await runCli(['backup', file], { DATA_DIR: before.t.config.dataDir }, io)).toBe(0);
      expect(out.join('\n')).toContain('holds the SQLite database (migration');
      expect(out.join('\n')).toContain(', the secrets, 1 stored file');
      const listed: string[] = [];
      await tar.list({ file, onReadEntry: (e) => listed.push(e.path) });
      expect(listed.filter((p) => p.startsWith('files/') && !p.endsWith('/'))).toEqual([
        `files/${before.file.id}`,
      ]);
    } finally {
      rmSync(join(folder, 'uploaded-after-the-copy'));
      rmSync(join(folder, `${before.file.id}.abc123.partial`));
    }
  });

  it('includes a MASTER_KEY_FILE kept outside DATA_DIR and puts it back there', async () => {
    const keyDir = tempDir();
    const keyFile = join(keyDir, 'master.key');
    writeFileSync(keyFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
    const file = join(tempDir(), 'with-key.tar.gz');
    const env = { DATA_DIR: before.t.config.dataDir, MASTER_KEY_FILE: keyFile };
    expect(await runCli(['backup', file], env, capture().io)).toBe(0);
    const key = readFileSync(keyFile);
    rmSync(keyFile);
    const dataDir = tempDir();
    const { io, out } = capture();
    expect(
      await runCli(['restore', file], { DATA_DIR: dataDir, MASTER_KEY_FILE: keyFile }, io),
    ).toBe(0);
    expect(out.join('\n')).toContain(`The master key is at ${keyFile}`);
    expect(readFileSync(keyFile).equals(key)).toBe(true);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  });
});

const postgres = inject('services').postgres;

describe.skipIf(postgres === null)('backup and restore [postgres]: the pg_dump procedure', () => {
  let before: Populated;
  const databases: string[] = [];
  const admin = async (query: string) => {
    const client = new pg.Client({ connectionString: postgres ?? '' });
    await client.connect();
    try {
      await client.query(query);
    } finally {
      await client.end();
    }
  };
  beforeAll(async () => {
    before = await populate('postgres');
  }, 60_000);
  afterAll(async () => {
    before.a.close();
    await before.t.close();
    for (const name of databases) await admin(`drop database if exists ${name} with (force)`);
  });

  it('pg_dump, then securechat backup; pg_restore into a fresh database, then restore', async () => {
    const sourceUrl = before.t.database.databaseUrl ?? '';
    const dir = tempDir();
    const archive = join(dir, 'securechat.tar.gz');
    const dump = `${archive}.pgdump`;
    const env = { DATA_DIR: before.t.config.dataDir, DATABASE_URL: sourceUrl };

    // docs/operations.md, "Backups and restore", PostgreSQL: the dump first, then the rest.
    await run('pg_dump', ['--format=custom', `--file=${dump}`, sourceUrl]);
    const backup = capture();
    expect(await runCli(['backup', archive], env, backup.io)).toBe(0);
    const printed = backup.out.join('\n');
    expect(printed).toContain('pg_dump --format=custom');
    expect(printed).not.toContain(sourceUrl); // never echo the connection string
    const listed: string[] = [];
    await tar.list({ file: archive, onReadEntry: (e) => listed.push(e.path) });
    expect(listed).not.toContain('database/securechat.db');
    expect(listed).toContain('secrets/opaque-server-setup');
    expect(listed).toContain(`files/${before.file.id}`);

    // A fresh database and an empty folder.
    const name = `securechat_restore_${randomBytes(6).toString('hex')}`;
    databases.push(name);
    await admin(`create database ${name}`);
    const target = new URL(postgres ?? '');
    target.pathname = `/${name}`;
    await run('pg_restore', [
      '--no-owner',
      '--exit-on-error',
      `--dbname=${target.toString()}`,
      dump,
    ]);
    const dataDir = join(dir, 'restored');
    const restore = capture();
    const restoreEnv = { DATA_DIR: dataDir, DATABASE_URL: target.toString() };
    expect(await runCli(['restore', archive], restoreEnv, restore.io), restore.err.join('\n')).toBe(
      0,
    );
    expect(restore.out.join('\n')).toContain('restore its pg_dump with pg_restore');

    const server = await serverOn(restoreEnv);
    try {
      await checkRestored(server, before);
    } finally {
      await server.app.close();
    }
  });

  it('a SQLite backup is refused where DATABASE_URL is set', async () => {
    const sqlite = await createTestApp('sqlite');
    try {
      const file = join(tempDir(), 'sqlite.tar.gz');
      expect(
        await runCli(['backup', file], { DATA_DIR: sqlite.config.dataDir }, capture().io),
      ).toBe(0);
      const { io, err } = capture();
      const env = { DATA_DIR: join(tempDir(), 'x'), DATABASE_URL: postgres ?? '' };
      expect(await runCli(['restore', file], env, io)).toBe(1);
      expect(err.join('\n')).toContain('holds a SQLite database, but DATABASE_URL is set');
      expect(existsSync(join(env.DATA_DIR, 'securechat.db'))).toBe(false);
    } finally {
      await sqlite.close();
    }
  });
});
