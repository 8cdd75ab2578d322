/**
 * The master key: 32 random bytes that wrap the data keys (keyring.ts). From MASTER_KEY when
 * set; otherwise from MASTER_KEY_FILE (default DATA_DIR/secrets/master.key), written with
 * mode 0600 on the first start of an empty database. During a rotation the new key waits
 * beside it in `<file>.next` until every data key is wrapped by it (rotation.ts).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config.js';

/** A refusal to start (or to go on) because of the keys: one clear line, never a stack. */
export class VaultKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultKeyError';
  }
}

export interface MasterKey {
  /** Names the key in the database (`vault_keys.master_id`) without revealing it. */
  id: string;
  key: Buffer;
}

export interface MasterKeys {
  current: MasterKey;
  /** The key a rotation in progress wraps with; null when none is under way. */
  next: MasterKey | null;
}

/** Where the master keys come from; `load` reads them again (a rotation may have moved them). */
export interface MasterKeySource {
  load(): MasterKeys;
  /** Where `keys rotate` keeps the new key, or null when MASTER_KEY comes from the environment. */
  readonly file: string | null;
}

export const masterKeyOf = (key: Buffer): MasterKey => ({
  id: createHmac('sha256', key)
    .update('securechat/vault/master-key-id')
    .digest('base64url')
    .slice(0, 12),
  key,
});

export const nextFileOf = (file: string): string => `${file}.next`;

function readKeyFile(file: string): Buffer {
  const text = readFileSync(file, 'utf8').trim();
  const key = Buffer.from(text, 'base64url');
  if (key.length !== 32 || key.toString('base64url') !== text.replace(/=+$/, '')) {
    throw new VaultKeyError(
      `The master key file ${file} does not hold a master key (32 bytes in base64url).`,
    );
  }
  return key;
}

/** Write a new random key to `file` (0600); false when another process wrote one first. */
export function writeNewKeyFile(file: string): boolean {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  chmodSync(file, 0o600);
  return true;
}

/** Make the rotated-to key the key: an atomic rename of `<file>.next` over `<file>`. */
export function promoteNextKeyFile(file: string): void {
  renameSync(nextFileOf(file), file);
}

/**
 * The master keys for this node. `create`: the database holds no data key yet, so a missing
 * key file is made; otherwise a missing file stops the server (the data keys need it).
 */
export function masterKeySource(
  config: Config['masterKey'],
  options: { create: boolean },
): MasterKeySource {
  const { fromEnv, nextFromEnv, file } = config;
  if (fromEnv !== null) {
    const current = masterKeyOf(fromEnv);
    const next = nextFromEnv === null ? null : masterKeyOf(nextFromEnv);
    return { file: null, load: () => ({ current, next: next?.id === current.id ? null : next }) };
  }
  if (!existsSync(file)) {
    if (!options.create) {
      throw new VaultKeyError(
        `The master key file ${file} is missing, but the database holds data keys wrapped by a master key: restore the file from its backup (or set MASTER_KEY).`,
      );
    }
    writeNewKeyFile(file);
  }
  const load = (): MasterKeys => {
    const next = existsSync(nextFileOf(file)) ? masterKeyOf(readKeyFile(nextFileOf(file))) : null;
    if (!existsSync(file) && next) return { current: next, next: null };
    return { current: masterKeyOf(readKeyFile(file)), next };
  };
  load();
  return { file, load };
}
