/**
 * Backups of one server's data, made while it runs, and their restore into an empty folder.
 *
 * A backup is one gzip-compressed tar file:
 *
 *   manifest.json              what it holds (format, versions, checksums): see BackupManifest
 *   database/securechat.db     the SQLite database, copied with SQLite's online backup API
 *   secrets/…                  DATA_DIR/secrets (cookie secret, OPAQUE server setup, master key)
 *   external/master.key        MASTER_KEY_FILE, when it lives outside DATA_DIR/secrets
 *   files/…                    the files' ciphertext from DATA_DIR/files (not with S3)
 *
 * With PostgreSQL the database is not in it: the operator dumps it with pg_dump
 * (docs/operations.md, "Backups and restore"). Everything is first gathered into a staging
 * folder inside DATA_DIR — stored files by hard link, as they are written once and never
 * changed — so the checksums in the manifest are of exactly the bytes in the archive.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import * as tar from 'tar';
import type { Config } from './config.js';
import { openStorage } from './storage/db.js';
import { migrationNames } from './storage/migrations/index.js';

export const BACKUP_FORMAT = 'securechat-backup';
export const BACKUP_FORMAT_VERSION = 1;

const DATABASE_ENTRY = 'database/securechat.db';
const EXTERNAL_MASTER_KEY_ENTRY = 'external/master.key';
const MANIFEST_ENTRY = 'manifest.json';

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  formatVersion: number;
  /** The SecureChat version that made it (packages/server/package.json). */
  appVersion: string;
  createdAt: string;
  database: {
    dialect: 'sqlite' | 'postgres';
    /** The newest schema migration applied to the database that was backed up. */
    migration: string | null;
    /** False for PostgreSQL: its dump is made with pg_dump, beside this file. */
    included: boolean;
  };
  secrets: {
    included: boolean;
    /** Secrets given by the environment (COOKIE_SECRET, …): never in a backup, keep them apart. */
    fromEnvironment: string[];
    /** Whether MASTER_KEY_FILE (outside DATA_DIR/secrets) is in it, as external/master.key. */
    externalMasterKey: boolean;
  };
  files: { store: 'folder' | 's3'; included: boolean; count: number };
  /** Every other entry of the archive, with its size and SHA-256 (hex). */
  entries: { path: string; size: number; sha256: string }[];
}

export interface BackupOptions {
  config: Config;
  /** The archive to write; it must not exist yet. */
  file: string;
  withSecrets: boolean;
  /** MASTER_KEY_FILE when it is configured (null: none, or the default in DATA_DIR/secrets). */
  masterKeyFile: string | null;
  now?: () => Date;
}

/** Thrown for what the operator can fix: the message says what and how. */
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every regular file under `dir`, as paths relative to it with / separators, sorted. */
async function listFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      found.push(relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'));
    }
  }
  return found.sort();
}

/** The server package's version: the same ../package.json from src/ (tests) and dist/. */
async function appVersion(): Promise<string> {
  const text = await readFile(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** The newest applied migration of a SQLite file, read from its own copy. */
function sqliteMigration(file: SQLite.Database): string | null {
  const row = file
    .prepare("select name from sqlite_master where type = 'table' and name = 'kysely_migration'")
    .get();
  if (!row) return null;
  const newest = file
    .prepare('select name from kysely_migration order by name desc limit 1')
    .get() as { name: string } | undefined;
  return newest?.name ?? null;
}

/**
 * Copy the live SQLite database to `target` with the online backup API, all pages in one
 * step: one read transaction, so the copy is one consistent moment even while the server
 * writes (WAL: it does not block the server's writer). Then check the copy's integrity.
 */
async function copySqlite(
  dataDir: string,
  target: string,
): Promise<{ migration: string | null; fileIds: Set<string> }> {
  const source = join(dataDir, 'securechat.db');
  if (!(await exists(source))) {
    throw new BackupError(
      `there is no SQLite database at ${source}: check DATA_DIR (with PostgreSQL, set DATABASE_URL)`,
    );
  }
  const live = new SQLite(source, { fileMustExist: true });
  try {
    live.pragma('busy_timeout = 5000');
    await live.backup(target, { progress: () => 0x7fffffff });
  } finally {
    live.close();
  }
  const copy = new SQLite(target, { fileMustExist: true });
  try {
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok')
      throw new BackupError(`the database copy failed its check: ${String(check)}`);
    // One self-contained file: no -wal beside it in the archive.
    copy.pragma('journal_mode = DELETE');
    const migration = sqliteMigration(copy);
    const hasFiles = copy
      .prepare("select name from sqlite_master where type = 'table' and name = 'files'")
      .get();
    const ids = hasFiles ? (copy.prepare('select id from files').pluck().all() as string[]) : [];
    return { migration, fileIds: new Set(ids) };
  } finally {
    copy.close();
  }
}

async function postgresMigration(databaseUrl: string): Promise<string | null> {
  const storage = openStorage({ dataDir: '', databaseUrl, poolSize: 1 });
  try {
    const result = await sql<{ name: string }>`
      select name from kysely_migration order by name desc limit 1`
      .execute(storage.db)
      .catch(() => ({ rows: [] as { name: string }[] }));
    return result.rows[0]?.name ?? null;
  } finally {
    await storage.close();
  }
}

/** Hard-link `from` to `to` (same file system: no copy), else copy it. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true, mode: 0o700 });
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

export interface BackupResult {
  manifest: BackupManifest;
  /** What the operator must still do or know (PostgreSQL dump, secrets kept apart, …). */
  notes: string[];
}

/** Write a backup of the data `config` names to `options.file`. */
export async function createBackup(options: BackupOptions): Promise<BackupResult> {
  const { config } = options;
  const file = resolve(options.file);
  if (await exists(file)) throw new BackupError(`${file} already exists: choose a new file name`);
  if (!(await exists(dirname(file)))) throw new BackupError(`${dirname(file)} does not exist`);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const staging = join(config.dataDir, `.backup-${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { mode: 0o700 });
  const notes: string[] = [];
  try {
    // The database first, then the files its rows name: the other order would miss files
    // uploaded in between.
    let migration: string | null;
    // SQLite: the stored files the copy has a row for (null: every file, for PostgreSQL).
    let fileIds: Set<string> | null = null;
    if (config.databaseUrl === null) {
      await mkdir(join(staging, 'database'), { mode: 0o700 });
      ({ migration, fileIds } = await copySqlite(config.dataDir, join(staging, DATABASE_ENTRY)));
    } else {
      migration = await postgresMigration(config.databaseUrl);
      notes.push(
        'The PostgreSQL database is not in this file: its pg_dump, made just before this backup, goes with it (docs/operations.md, "Backups and restore").',
      );
    }

    const fromEnvironment = [
      ...(config.secretsFromEnv.cookieSecret === undefined ? [] : ['COOKIE_SECRET']),
      ...(config.secretsFromEnv.opaqueServerSetup === undefined ? [] : ['OPAQUE_SERVER_SETUP']),
    ];
    let externalMasterKey = false;
    if (options.withSecrets) {
      const secrets = join(config.dataDir, 'secrets');
      if (await exists(secrets)) {
        for (const name of await listFiles(secrets)) {
          await mkdir(dirname(join(staging, 'secrets', name)), { recursive: true, mode: 0o700 });
          await copyFile(join(secrets, name), join(staging, 'secrets', name));
        }
      }
      const keyFile = options.masterKeyFile === null ? null : resolve(options.masterKeyFile);
      if (keyFile !== null && dirname(keyFile) !== secrets) {
        await linkOrCopy(keyFile, join(staging, EXTERNAL_MASTER_KEY_ENTRY));
        externalMasterKey = true;
      }
      notes.push(
        'This file holds the server’s secrets: anyone who has it can impersonate the server. Store it as securely as the secrets themselves.',
      );
    } else {
      notes.push(
        'Secrets were left out (--without-secrets): without DATA_DIR/secrets from elsewhere, nobody can sign in to a restored server.',
      );
    }
    if (fromEnvironment.length > 0) {
      notes.push(
        `${fromEnvironment.join(' and ')} come from the environment and are not in this file: keep them with it.`,
      );
    }

    let fileCount = 0;
    if (config.files.s3 === null) {
      const folder = join(config.dataDir, 'files');
      if (await exists(folder)) {
        for (const name of await listFiles(folder)) {
          if (name.endsWith('.partial')) continue; // an upload still being written
          // Uploaded after the database copy: no row of the copy names it, nothing would.
          if (fileIds !== null && !fileIds.has(name)) continue;
          await linkOrCopy(join(folder, name), join(staging, 'files', name));
          fileCount += 1;
        }
      }
    } else {
      notes.push(
        `Files are in the S3 bucket ${config.files.s3.bucket} and not in this file: back the bucket up with its own tools (versioning or replication).`,
      );
    }

    const entries: BackupManifest['entries'] = [];
    for (const path of await listFiles(staging)) {
      const full = join(staging, path);
      entries.push({ path, size: (await stat(full)).size, sha256: await sha256(full) });
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      formatVersion: BACKUP_FORMAT_VERSION,
      appVersion: await appVersion(),
      createdAt: (options.now?.() ?? new Date()).toISOString(),
      database: {
        dialect: config.databaseUrl === null ? 'sqlite' : 'postgres',
        migration,
        included: config.databaseUrl === null,
      },
      secrets: { included: options.withSecrets, fromEnvironment, externalMasterKey },
      files: {
        store: config.files.s3 ? 's3' : 'folder',
        included: !config.files.s3,
        count: fileCount,
      },
      entries,
    };
    await writeFile(join(staging, MANIFEST_ENTRY), JSON.stringify(manifest, null, 2) + '\n', {
      mode: 0o600,
    });

    const partial = `${file}.${randomBytes(6).toString('hex')}.partial`;
    try {
      await tar.create({ gzip: true, cwd: staging, file: partial, portable: true, mode: 0o600 }, [
        MANIFEST_ENTRY,
        ...entries.map((e) => e.path),
      ]);
      await chmod(partial, 0o600);
      await rename(partial, file);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return { manifest, notes };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export interface RestoreOptions {
  config: Config;
  /** The archive made by createBackup. */
  file: string;
  /** MASTER_KEY_FILE when configured: where an external master key of the backup goes. */
  masterKeyFile: string | null;
}

/** Whether `value` is a manifest this version reads; throws a BackupError naming what is wrong. */
function parseManifest(text: string): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BackupError('the backup’s manifest.json is not JSON: the file is damaged');
  }
  const m = value as Partial<BackupManifest> | null;
  if (m === null || typeof m !== 'object' || m.format !== BACKUP_FORMAT) {
    throw new BackupError('this is not a SecureChat backup (no SecureChat manifest)');
  }
  if (m.formatVersion !== BACKUP_FORMAT_VERSION) {
    throw new BackupError(
      `this backup has format version ${String(m.formatVersion)}; this SecureChat reads version ${BACKUP_FORMAT_VERSION}`,
    );
  }
  const entryOk = (e: unknown) => {
    const entry = e as { path?: unknown; size?: unknown; sha256?: unknown } | null;
    return (
      entry !== null &&
      typeof entry.path === 'string' &&
      typeof entry.size === 'number' &&
      typeof entry.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(entry.sha256)
    );
  };
  if (
    !Array.isArray(m.entries) ||
    !m.entries.every(entryOk) ||
    typeof m.database !== 'object' ||
    typeof m.secrets !== 'object' ||
    typeof m.files !== 'object'
  ) {
    throw new BackupError('the backup’s manifest is incomplete: the file is damaged');
  }
  return m as BackupManifest;
}

/** Check every extracted file against the manifest: the same set of paths, sizes and SHA-256. */
async function verify(staging: string, manifest: BackupManifest): Promise<void> {
  const found = new Set((await listFiles(staging)).filter((p) => p !== MANIFEST_ENTRY));
  for (const entry of manifest.entries) {
    if (!found.delete(entry.path)) {
      throw new BackupError(`the backup is missing ${entry.path}, which its manifest lists`);
    }
    const full = join(staging, entry.path);
    if ((await stat(full)).size !== entry.size || (await sha256(full)) !== entry.sha256) {
      throw new BackupError(`${entry.path} does not match its checksum: the backup is damaged`);
    }
  }
  const stray = [...found][0];
  if (stray !== undefined)
    throw new BackupError(`the backup holds ${stray}, which its manifest does not list`);
}

async function moveInto(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true, mode: 0o700 });
  await rename(from, to);
}

/**
 * Restore a backup into config.dataDir, which must be empty (or not exist): nothing is ever
 * overwritten. The archive is unpacked into a staging folder there and every file checked
 * against the manifest before anything is moved into place; on any failure the folder is left
 * as empty as it was.
 */
export async function restoreBackup(options: RestoreOptions): Promise<BackupResult> {
  const { config } = options;
  const file = resolve(options.file);
  if (!(await exists(file))) throw new BackupError(`${file} does not exist`);
  const dataDir = config.dataDir;
  if (await exists(dataDir)) {
    const present = await readdir(dataDir);
    if (present.length > 0) {
      const shown = present.slice(0, 5).join(', ') + (present.length > 5 ? ', …' : '');
      throw new BackupError(
        `DATA_DIR ${dataDir} is not empty (${shown}): restore only into an empty folder, so nothing is overwritten`,
      );
    }
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  const staging = join(dataDir, `.restore-${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { mode: 0o700 });
  const notes: string[] = [];
  try {
    try {
      await tar.extract({
        file,
        cwd: staging,
        strict: true,
        // Regular files and folders only: no links, devices or absolute paths (tar refuses
        // paths with .. by default).
        filter: (_path, entry) =>
          'type' in entry ? entry.type === 'File' || entry.type === 'Directory' : false,
      });
    } catch (error) {
      throw new BackupError(
        `${basename(file)} is not a readable backup (${error instanceof Error ? error.message : String(error)}): the file is damaged or not a SecureChat backup`,
      );
    }
    if (!(await exists(join(staging, MANIFEST_ENTRY)))) {
      throw new BackupError('this is not a SecureChat backup (no manifest.json)');
    }
    const manifest = parseManifest(await readFile(join(staging, MANIFEST_ENTRY), 'utf8'));
    await verify(staging, manifest);

    const known = migrationNames(manifest.database.dialect);
    if (manifest.database.migration !== null && !known.includes(manifest.database.migration)) {
      throw new BackupError(
        `the backup’s database has migration ${manifest.database.migration}, newer than this SecureChat (${manifest.appVersion} made it): restore it with that version or newer`,
      );
    }
    if (manifest.database.dialect === 'sqlite' && config.databaseUrl !== null) {
      throw new BackupError(
        'this backup holds a SQLite database, but DATABASE_URL is set: unset it to restore into DATA_DIR',
      );
    }

    // Everything that could refuse is checked before the first file moves into place.
    const paths = manifest.entries.map((e) => e.path);
    const keyTarget =
      options.masterKeyFile === null
        ? join(dataDir, 'secrets', 'master.key')
        : resolve(options.masterKeyFile);
    let keyInPlace = false;
    if (paths.includes(EXTERNAL_MASTER_KEY_ENTRY) && (await exists(keyTarget))) {
      if ((await sha256(keyTarget)) !== (await sha256(join(staging, EXTERNAL_MASTER_KEY_ENTRY)))) {
        throw new BackupError(`MASTER_KEY_FILE ${keyTarget} exists and holds another key`);
      }
      keyInPlace = true;
    }

    for (const path of paths) {
      if (path === DATABASE_ENTRY) {
        await moveInto(join(staging, path), join(dataDir, 'securechat.db'));
        await chmod(join(dataDir, 'securechat.db'), 0o600);
      } else if (path === EXTERNAL_MASTER_KEY_ENTRY) {
        if (!keyInPlace) {
          await mkdir(dirname(keyTarget), { recursive: true, mode: 0o700 });
          await copyFile(join(staging, path), keyTarget);
          await chmod(keyTarget, 0o600);
        }
        notes.push(`The master key is at ${keyTarget}.`);
      } else if (path.startsWith('secrets/') || path.startsWith('files/')) {
        await moveInto(join(staging, path), join(dataDir, path));
        await chmod(join(dataDir, path), 0o600);
      }
    }
    for (const folder of ['secrets', 'files']) {
      if (await exists(join(dataDir, folder))) await chmod(join(dataDir, folder), 0o700);
    }
    if (!manifest.database.included) {
      notes.push(
        'This backup has no database (PostgreSQL): restore its pg_dump with pg_restore into an empty database before starting the server (docs/operations.md).',
      );
    }
    if (!manifest.secrets.included) {
      notes.push(
        'This backup has no secrets (made with --without-secrets): put DATA_DIR/secrets back from your own copy before starting the server, or nobody can sign in.',
      );
    }
    if (manifest.secrets.fromEnvironment.length > 0) {
      notes.push(
        `${manifest.secrets.fromEnvironment.join(' and ')} came from the environment when it was made: set the same values again.`,
      );
    }
    if (!manifest.files.included) {
      notes.push(
        'Files were in an S3 bucket and are not in this backup: point S3_* at that bucket.',
      );
    }
    return { manifest, notes };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
