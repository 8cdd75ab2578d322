#!/usr/bin/env node
/**
 * `securechat` — the server's command line, for an operator with a shell on the server.
 *
 *   securechat admin create              print a one-time link that registers an administrator
 *   securechat admin promote <username>  make a user an administrator
 *   securechat admin demote <username>   make an administrator a member (never the last one)
 *   securechat admin users               list accounts with their state
 *   securechat admin suspend|unsuspend <username>
 *                                         suspend an account (its sessions end) or restore it
 *   securechat admin stats               the server at a glance
 *   securechat admin reset-link <username>
 *                                         print a one-time password-reset link for a user
 *   securechat admin reset-2fa <username>
 *                                         remove a user's second factors (TOTP, recovery codes)
 *   securechat cert [--out DIR] [--host NAME ...]
 *                                         write a self-signed development certificate and key
 *   securechat secrets opaque            print a new OPAQUE server setup (OPAQUE_SERVER_SETUP)
 *   securechat backup <file> [--without-secrets]
 *                                         back up the data (and secrets) while the server runs
 *   securechat restore <file>            restore a backup into an empty DATA_DIR
 *   securechat keys status               the master key, the data keys and how many values each seals
 *   securechat keys rotate [--batch N]   rotate to a new master key and new data keys, online
 *   securechat keys generate             print a new master key (MASTER_KEY, MASTER_KEY_NEXT)
 *
 * Configuration comes from the environment and .env, exactly as for the server.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ChatError, Limits } from '@securechat/protocol';
import * as opaque from '@serenity-kit/opaque';
import { config as loadDotEnv } from 'dotenv';
import selfsigned from 'selfsigned';
import { ConfigError, loadConfig } from './config.js';
import { BackupError, createBackup, restoreBackup, type BackupResult } from './backup.js';
import { createAccounts, type Accounts } from './domain/accounts.js';
import { createLogger } from './logger.js';
import { loadSecrets } from './secrets.js';
import { migrateToLatest, openStorage } from './storage/db.js';
import { openVault } from './vault/index.js';
import type { Keyring } from './vault/keyring.js';
import { VaultKeyError } from './vault/master-key.js';
import { rotate, vaultStatus } from './vault/rotation.js';
import type { Storage } from './storage/db.js';

export const USAGE = `Usage: securechat <command>

Commands:
  admin create               Print a one-time link (valid 24 hours) that registers an administrator.
  admin promote <username>   Make a user an administrator.
  admin demote <username>    Make an administrator a member. The last administrator stays.
  admin users                List every account: role, state, devices, last seen.
  admin suspend <username>   Suspend an account: every session ends, sign-in is refused.
  admin unsuspend <username> Restore a suspended account.
  admin stats                Users, rooms, messages in the last minute and day, storage used.
  admin delete <username>    Delete an account: its sessions, devices, room memberships and keys
                             go; its messages stay in their conversations under its name, and
                             the name stays taken. Rooms it was alone in are deleted.
  admin rooms                List rooms, most recently active first: id, kind, channel name,
                             members, events, last activity, and when closed.
  admin close-room <room-id> Close a room (never #general): its members keep reading its history
                             and may leave, but nobody sends, edits, reacts, joins or is invited
                             until it is reopened. Members' open apps learn it when they next
                             reconnect.
  admin reopen-room <room-id>
                             Reopen a closed room: its members may write in it again.
  admin delete-room <room-id>
                             Delete a room, its history and files for everyone (never #general).
                             Members' open apps drop it when they next reconnect.
  admin reset-link <username>
                             Print a one-time link (valid 24 hours) that sets a new password for
                             the user: it signs them out everywhere and starts a new encryption
                             identity. A newer link replaces an unused older one.
  admin reset-2fa <username> Remove the user's second factors (authenticator app and recovery
                             codes): they sign in with their password alone (or, with
                             REQUIRE_2FA, enrol again at their next sign-in).
  cert [--out DIR] [--host NAME ...]
                             Write a self-signed development certificate (cert.pem) and key
                             (key.pem, mode 0600) to DIR (default ./data/tls) for TLS_CERT/TLS_KEY.
  secrets opaque             Print a new OPAQUE server setup for OPAQUE_SERVER_SETUP (several nodes).
  backup <file> [--without-secrets]
                             Write a backup of DATA_DIR to <file> (a new .tar.gz), while the server
                             runs: the SQLite database (with PostgreSQL: dump it with pg_dump, see
                             docs/operations.md), DATA_DIR/secrets and MASTER_KEY_FILE (the file
                             then holds the server's secrets: keep it as safe as they are), and
                             the stored files (not with S3).
  restore <file>             Restore a backup into DATA_DIR, which must be empty. Every file is
                             checked against the backup's checksums first.
  keys status                Show the master key, each data key and how many stored values it seals.
  keys rotate [--batch N]    Make a new master key and new data keys, and re-encrypt every protected
                             value in batches of N (default 500) while the servers run. Safe to run
                             again after an interruption: it resumes.
  keys generate              Print a new master key for MASTER_KEY or MASTER_KEY_NEXT.
  --help                     Show this help.

Configuration is read from the environment and .env, as for the server (docs/configuration.md).`;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

class UsageError extends Error {}

async function withAccounts<T>(
  env: Record<string, string | undefined>,
  work: (accounts: Accounts) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env);
  const secrets = await loadSecrets(config);
  const storage = openStorage({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    poolSize: 2,
    synchronous: config.sqliteSynchronous,
  });
  try {
    const vault = await openVault(config, storage.db);
    await migrateToLatest(storage, vault);
    const accounts = createAccounts({
      db: storage.db,
      now: Date.now,
      opaqueServerSetup: secrets.opaqueServerSetup,
      registration: config.registration,
      requireSecondFactor: config.requireSecondFactor,
      publicOrigin: config.publicOrigin,
      log: createLogger('silent'),
      vault,
      dialect: storage.dialect,
    });
    return await work(accounts);
  } finally {
    await storage.close();
  }
}

async function withVault<T>(
  env: Record<string, string | undefined>,
  work: (vault: Keyring, storage: Storage) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env);
  const storage = openStorage({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    poolSize: 2,
    synchronous: config.sqliteSynchronous,
  });
  try {
    const vault = await openVault(config, storage.db);
    await migrateToLatest(storage, vault);
    return await work(vault, storage);
  } finally {
    await storage.close();
  }
}

async function keysStatus(env: Record<string, string | undefined>, io: CliIo): Promise<void> {
  const status = await withVault(env, (vault, storage) => vaultStatus(vault, storage.db));
  io.out(
    status.master.next === null
      ? `master key ${status.master.current}`
      : `master key ${status.master.current}, rotating to ${status.master.next} (run "securechat keys rotate" to finish)`,
  );
  for (const key of status.keys) {
    io.out(
      `${key.purpose}\tkey ${key.id}\tgeneration ${key.generation}\twrapped by ${key.masterId}\t${key.current ? 'current' : 'old'}\t${key.values} values`,
    );
  }
  if (status.orphans > 0) io.out(`values naming no known key: ${status.orphans}`);
}

function batchOf(args: string[]): number {
  if (args.length === 0) return 500;
  const [flag, value] = args;
  if (flag === '--batch' && value && /^\d+$/.test(value) && args.length === 2) {
    const batch = Number(value);
    if (batch >= 1 && batch <= 10_000) return batch;
  }
  throw new UsageError('keys rotate: --batch takes a number from 1 to 10000');
}

function writeCertificate(args: string[], io: CliIo): void {
  let out = resolve('data/tls');
  const hosts: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const flag = args[i];
    const value = args[i + 1];
    if ((flag === '--out' || flag === '--host') && value && !value.startsWith('--')) {
      if (flag === '--out') out = resolve(value);
      else hosts.push(value);
      i += 1;
    } else {
      throw new UsageError(`cert: unexpected argument "${flag}"`);
    }
  }
  if (hosts.length === 0) hosts.push('localhost');
  // A --host may be a DNS name (SAN type 2) or an IP address (type 7).
  const ips = new Set(['127.0.0.1', '::1', ...hosts.filter((h) => isIP(h) !== 0)]);
  const altNames = [
    ...hosts.filter((h) => isIP(h) === 0).map((value) => ({ type: 2, value })),
    ...[...ips].map((ip) => ({ type: 7, ip })),
  ];
  const pems = selfsigned.generate([{ name: 'commonName', value: hosts[0] ?? 'localhost' }], {
    days: 90,
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const certFile = join(out, 'cert.pem');
  const keyFile = join(out, 'key.pem');
  writeFileSync(certFile, pems.cert, { mode: 0o644 });
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  io.out(`Wrote a self-signed certificate for ${hosts.join(', ')} (valid 90 days):`);
  io.out(`  TLS_CERT=${certFile}`);
  io.out(`  TLS_KEY=${keyFile}`);
  io.out('For development only: browsers will warn about it.');
}

/** MASTER_KEY_FILE when set: a key outside DATA_DIR/secrets goes into backups too. */
function masterKeyFile(env: Record<string, string | undefined>): string | null {
  const value = env.MASTER_KEY_FILE?.trim();
  return value === undefined || value === '' ? null : value;
}

function describeBackup(result: BackupResult, io: CliIo): void {
  const { manifest } = result;
  const parts = [
    manifest.database.included
      ? `the SQLite database (migration ${manifest.database.migration ?? 'none'})`
      : null,
    manifest.secrets.included ? 'the secrets' : null,
    manifest.files.included
      ? `${manifest.files.count} stored file${manifest.files.count === 1 ? '' : 's'}`
      : null,
  ].filter((p): p is string => p !== null);
  io.out(`  holds ${parts.length > 0 ? parts.join(', ') : 'nothing but its manifest'}`);
  for (const note of result.notes) io.out(`  ${note}`);
}

async function backupCommand(
  args: string[],
  env: Record<string, string | undefined>,
  io: CliIo,
): Promise<number> {
  const file = args.find((a) => !a.startsWith('--'));
  const flags = args.filter((a) => a.startsWith('--'));
  if (file === undefined || args.length - flags.length !== 1) {
    throw new UsageError('backup needs one file name');
  }
  if (flags.some((f) => f !== '--without-secrets')) {
    throw new UsageError(`backup: unexpected argument "${flags.join(' ')}"`);
  }
  const config = loadConfig(env);
  const result = await createBackup({
    config,
    file,
    withSecrets: !flags.includes('--without-secrets'),
    masterKeyFile: masterKeyFile(env),
  });
  io.out(`Backed up to ${resolve(file)} (${result.manifest.createdAt}):`);
  describeBackup(result, io);
  if (!result.manifest.database.included) {
    io.out('  Keep with it the database dump made just BEFORE it (docs/operations.md):');
    io.out(`    pg_dump --format=custom --file=${resolve(file)}.pgdump "$DATABASE_URL"`);
    io.out('  If you made none, make it now and then this backup again, in that order.');
  }
  return 0;
}

async function restoreCommand(
  args: string[],
  env: Record<string, string | undefined>,
  io: CliIo,
): Promise<number> {
  const [file, ...extra] = args;
  if (file === undefined || extra.length > 0 || file.startsWith('--')) {
    throw new UsageError('restore needs one file name');
  }
  const config = loadConfig(env);
  const result = await restoreBackup({ config, file, masterKeyFile: masterKeyFile(env) });
  io.out(
    `Restored ${resolve(file)} (made ${result.manifest.createdAt} by SecureChat ${result.manifest.appVersion}) into ${config.dataDir}:`,
  );
  describeBackup(result, io);
  io.out('  Every file matched its checksum. Start the server with the same configuration.');
  return 0;
}

/** Run one command; returns the process exit code. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  io: CliIo,
): Promise<number> {
  const [command, sub, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === 'help' || command === '-h') {
      io.out(USAGE);
      return command === undefined ? 64 : 0;
    }
    if (command === 'admin' && sub === 'create' && rest.length === 0) {
      const link = await withAccounts(env, (a) => a.createAdminSetupLink());
      io.out('Open this one-time link within 24 hours to register an administrator account:');
      io.out(link);
      return 0;
    }
    if (command === 'admin' && (sub === 'promote' || sub === 'demote') && rest.length === 1) {
      const username = rest[0] ?? '';
      const user = await withAccounts(env, (a) =>
        a.setRole(username, sub === 'promote' ? 'admin' : 'member'),
      );
      io.out(`${user.username} is now ${user.role === 'admin' ? 'an administrator' : 'a member'}.`);
      return 0;
    }
    if (command === 'admin' && sub === 'users' && rest.length === 0) {
      const users = await withAccounts(env, (a) => a.adminUsers(null));
      for (const user of users) {
        const state = user.deletedAt
          ? `deleted ${user.deletedAt}`
          : user.suspendedAt
            ? `suspended ${user.suspendedAt}`
            : 'active';
        io.out(
          `${user.username}\t${user.role}\t${state}\tdevices ${user.devices}\tlast seen ${user.lastSeenAt ?? 'never'}`,
        );
      }
      return 0;
    }
    if (command === 'admin' && (sub === 'suspend' || sub === 'unsuspend') && rest.length === 1) {
      const username = rest[0] ?? '';
      const user = await withAccounts(env, async (a) =>
        a.setSuspended(null, (await a.accountNamed(username)).id, sub === 'suspend', null),
      );
      io.out(
        user.suspendedAt
          ? `${user.username} is suspended: their sessions ended and they can't sign in.`
          : `${user.username} can sign in again.`,
      );
      return 0;
    }
    if (command === 'admin' && sub === 'stats' && rest.length === 0) {
      const stats = await withAccounts(env, (a) => a.serverStats(null, 0));
      io.out(`users ${stats.users} (suspended ${stats.suspendedUsers})`);
      io.out(`rooms ${stats.rooms}`);
      io.out(
        `messages: last minute ${stats.messagesLastMinute}, last day ${stats.messagesLastDay}`,
      );
      io.out(
        `storage: database ${stats.storage.databaseBytes ?? 'unknown'} bytes, files ${stats.storage.filesBytes} bytes, blobs ${stats.storage.blobsBytes} bytes`,
      );
      return 0;
    }
    if (command === 'admin' && sub === 'delete' && rest.length === 1) {
      const username = rest[0] ?? '';
      const deleted = await withAccounts(env, async (a) =>
        a.deleteAccount(null, (await a.accountNamed(username)).id, null),
      );
      io.out(
        `Deleted ${deleted.username}: ${deleted.devices} devices removed, out of ${deleted.rooms} rooms. Their messages stay; the name stays taken.`,
      );
      return 0;
    }
    if (command === 'admin' && sub === 'rooms' && rest.length === 0) {
      const { rooms, total } = await withAccounts(env, (a) =>
        a.adminRooms(null, { limit: String(Limits.ADMIN_ROOMS_PAGE_MAX) }),
      );
      for (const room of rooms) {
        const name = room.name === null ? '(encrypted name)' : `#${room.name}`;
        io.out(
          `${room.id}\t${room.kind}\t${name}\tmembers ${room.members}\tevents ${room.events}\tlast activity ${room.lastActivityAt ?? 'never'}${room.closedAt === null ? '' : `\tclosed ${room.closedAt}`}`,
        );
      }
      if (total > rooms.length) io.out(`… and ${total - rooms.length} more.`);
      return 0;
    }
    if (command === 'admin' && sub === 'close-room' && rest.length === 1) {
      const roomId = rest[0] ?? '';
      await withAccounts(env, (a) => a.closeRoom(null, roomId, null));
      io.out(
        `Closed room ${roomId}: its members can read its history and leave, but nobody can write in it.`,
      );
      return 0;
    }
    if (command === 'admin' && sub === 'reopen-room' && rest.length === 1) {
      const roomId = rest[0] ?? '';
      await withAccounts(env, (a) => a.reopenRoom(null, roomId, null));
      io.out(`Reopened room ${roomId}: its members can write in it again.`);
      return 0;
    }
    if (command === 'admin' && sub === 'delete-room' && rest.length === 1) {
      const roomId = rest[0] ?? '';
      const deleted = await withAccounts(env, (a) => a.deleteRoom(null, roomId, null));
      io.out(
        `Deleted room ${roomId}: ${deleted.events} events, and ${deleted.members} members no longer have it.`,
      );
      return 0;
    }
    if (command === 'admin' && sub === 'reset-link' && rest.length === 1) {
      const username = rest[0] ?? '';
      const link = await withAccounts(env, (a) => a.createResetLinkFor(username));
      io.out(`Give this one-time link to ${link.username} (valid until ${link.expiresAt}):`);
      io.out(link.url);
      io.out(
        'Using it signs them out everywhere, removes their devices and starts a new encryption identity: messages from before the reset cannot be read on their devices afterwards.',
      );
      return 0;
    }
    if (command === 'admin' && sub === 'reset-2fa' && rest.length === 1) {
      const username = rest[0] ?? '';
      await withAccounts(env, async (a) => a.resetTwoFactorOf((await a.accountNamed(username)).id));
      io.out(`Removed the second factors of ${username}: they sign in with their password alone.`);
      return 0;
    }
    if (command === 'keys' && sub === 'status' && rest.length === 0) {
      await keysStatus(env, io);
      return 0;
    }
    if (command === 'keys' && sub === 'rotate') {
      const batch = batchOf(rest);
      await withVault(env, (vault, storage) =>
        rotate(vault, storage.db, { batch, log: (line) => io.out(line) }),
      );
      return 0;
    }
    if (command === 'keys' && sub === 'generate' && rest.length === 0) {
      io.out(randomBytes(32).toString('base64url'));
      return 0;
    }
    if (command === 'cert') {
      writeCertificate(
        [sub, ...rest].filter((a): a is string => a !== undefined),
        io,
      );
      return 0;
    }
    if (command === 'secrets' && sub === 'opaque' && rest.length === 0) {
      await opaque.ready;
      io.out(opaque.server.createSetup());
      return 0;
    }
    if (command === 'backup') {
      return await backupCommand(
        [sub, ...rest].filter((a): a is string => a !== undefined),
        env,
        io,
      );
    }
    if (command === 'restore') {
      return await restoreCommand(
        [sub, ...rest].filter((a): a is string => a !== undefined),
        env,
        io,
      );
    }
    throw new UsageError(`unknown command "${argv.join(' ')}"`);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`securechat: ${error.message}. Run "securechat --help" for the commands.`);
      return 64; // EX_USAGE
    }
    if (error instanceof ConfigError || error instanceof VaultKeyError) {
      io.err(`securechat: ${error.message}`);
      return 78; // EX_CONFIG
    }
    if (error instanceof Error && error.cause instanceof VaultKeyError) {
      io.err(`securechat: ${error.cause.message}`);
      return 78;
    }
    if (error instanceof ChatError || error instanceof BackupError) {
      io.err(`securechat: ${error.message}`);
      return 1;
    }
    io.err(`securechat: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** True when this file is the program Node was started with, also through npm's bin symlink. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  loadDotEnv({ quiet: true });
  const code = await runCli(process.argv.slice(2), process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
  process.exitCode = code;
}
