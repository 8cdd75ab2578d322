/**
 * The keyring: envelope encryption of server-held values (docs/decisions/0022-encryption-at-rest.md).
 *
 * One AES-256-GCM data key per purpose (and an HMAC key for blind indexes), each stored in
 * `vault_keys` wrapped by the master key (master-key.ts). A sealed value is
 * `v1.<key id>.<nonce>.<ciphertext+tag>` (base64url): AES-256-GCM with a random 96-bit
 * nonce, the purpose and key id bound as associated data. A node that meets a key id it does
 * not know reloads the keys from the database (another node or a rotation made it), and every
 * node refreshes them now and then so it seals with the current key of each purpose.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { IndexPurpose, SealPurpose, Vault } from '../domain/vault.js';
import { isUniqueViolation } from '../storage/errors.js';
import type { Database } from '../storage/types.js';
import { VaultKeyError, type MasterKey, type MasterKeySource } from './master-key.js';

/** Every purpose that has a data key; `index` is the blind-index key. */
export const KEY_PURPOSES = [
  'username',
  'room-name',
  'room-topic',
  'device-name',
  'user-agent',
  'audit-address',
  'totp-secret',
  'link-meta',
  'notice',
  'index',
] as const satisfies readonly (SealPurpose | 'index')[];
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

/**
 * How often each node reads the keys again: after a rotation makes new data keys, every node
 * seals with them within this (`keys rotate` waits twice as long before re-encrypting).
 */
export const KEYRING_REFRESH_MS = 5_000;

const VERSION = 'v1';
const KEY_ID = /^[A-Za-z0-9_-]{12}$/;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Opened values kept in memory, so lists of usernames are not decrypted on every read. */
const OPEN_CACHE_MAX = 20_000;

/** A value that does not open: tampered with, truncated, of another purpose, or its key is gone. */
export class SealedValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedValueError';
  }
}

export interface DataKey {
  id: string;
  purpose: KeyPurpose;
  generation: number;
  masterId: string;
  /** The id of the master key whose rotation made this key; null for a first key. */
  rotation: string | null;
  key: Buffer;
}

type DB = Kysely<Database>;

const keyAad = (id: string, purpose: string, generation: number) =>
  Buffer.from(`securechat/vault/key/v1|${id}|${purpose}|${generation}`);
const valueAad = (purpose: string, keyId: string) =>
  Buffer.from(`securechat/vault/value/v1|${purpose}|${keyId}`);

function encrypt(key: Buffer, plaintext: Buffer, aad: Buffer): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${nonce.toString('base64url')}.${body.toString('base64url')}`;
}

/** Null when the tag does not verify. */
function decrypt(key: Buffer, nonceText: string, bodyText: string, aad: Buffer): Buffer | null {
  const nonce = Buffer.from(nonceText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    return null;
  }
}

/** The key id a sealed value names, or null when it is not a sealed value. */
export function keyIdOf(sealed: string): string | null {
  const [version, keyId] = sealed.split('.', 2);
  return version === VERSION && keyId !== undefined && KEY_ID.test(keyId) ? keyId : null;
}

export interface Keyring extends Vault {
  /** Load the keys, check the master key opens them, and make any purpose's missing first key. */
  prepare(db?: DB): Promise<void>;
  /** Read the keys again (and the master key files, which a rotation changes). */
  reload(): Promise<void>;
  /** Refresh the keys every `intervalMs` until the returned function is called. */
  refreshEvery(intervalMs: number, onError: (error: unknown) => void): () => void;
  /** The keys as loaded (for status and rotation). */
  keys(): DataKey[];
  current(purpose: KeyPurpose): DataKey;
  masters(): { current: MasterKey; next: MasterKey | null };
  /** Wrap a data key's bytes under a master key (rotation). */
  wrap(master: MasterKey, id: string, purpose: string, generation: number, key: Buffer): string;
  readonly source: MasterKeySource;
}

export function createKeyring(db: DB, source: MasterKeySource): Keyring {
  let masters = source.load();
  let byId = new Map<string, DataKey>();
  let current = new Map<KeyPurpose, DataKey>();
  let loading: Promise<void> | null = null;
  const opened = new Map<string, string>();

  const masterById = (id: string): MasterKey | undefined =>
    [masters.current, masters.next].find((m) => m?.id === id) ?? undefined;

  function wrap(master: MasterKey, id: string, purpose: string, generation: number, key: Buffer) {
    return encrypt(master.key, key, keyAad(id, purpose, generation));
  }

  async function load(from: DB): Promise<void> {
    // The master key files too: a rotation adds the next key beside the key, then replaces it.
    masters = source.load();
    const rows = await from.selectFrom('vault_keys').selectAll().execute();
    const nextById = new Map<string, DataKey>();
    const nextCurrent = new Map<KeyPurpose, DataKey>();
    for (const row of rows) {
      const master = masterById(row.master_id);
      const [nonce = '', body = ''] = row.wrapped.split('.');
      const key = master
        ? decrypt(master.key, nonce, body, keyAad(row.id, row.purpose, row.generation))
        : null;
      if (!key) {
        throw new VaultKeyError(
          source.file === null
            ? 'MASTER_KEY is not the master key that wrapped the data keys in the database: set the right key (the server cannot read its protected data without it).'
            : `The master key in ${source.file} is not the one that wrapped the data keys in the database: restore the right key file (the server cannot read its protected data without it).`,
        );
      }
      const dataKey: DataKey = {
        id: row.id,
        purpose: row.purpose as KeyPurpose,
        generation: row.generation,
        masterId: row.master_id,
        rotation: row.rotation,
        key,
      };
      nextById.set(row.id, dataKey);
      const had = nextCurrent.get(dataKey.purpose);
      if (!had || had.generation < dataKey.generation) nextCurrent.set(dataKey.purpose, dataKey);
    }
    byId = nextById;
    current = nextCurrent;
  }

  /** One load at a time; callers that arrive meanwhile share it. */
  function reload(from: DB = db): Promise<void> {
    loading ??= load(from).finally(() => {
      loading = null;
    });
    return loading;
  }

  function currentKey(purpose: KeyPurpose): DataKey {
    const key = current.get(purpose);
    if (!key) throw new Error(`The vault has no ${purpose} key: prepare() was not called.`);
    return key;
  }

  async function keyFor(purpose: SealPurpose, keyId: string): Promise<DataKey> {
    let key = byId.get(keyId);
    if (!key) {
      await reload();
      key = byId.get(keyId);
    }
    if (!key)
      throw new SealedValueError(`No data key ${keyId} (it was deleted, or never existed).`);
    if (key.purpose !== purpose) {
      throw new SealedValueError(`A ${key.purpose} value does not open as ${purpose}.`);
    }
    return key;
  }

  return {
    source,
    async prepare(from = db) {
      await load(from);
      const master = masters.next ?? masters.current;
      for (const purpose of KEY_PURPOSES) {
        if (current.has(purpose)) continue;
        const id = randomBytes(9).toString('base64url');
        const key = randomBytes(32);
        try {
          await from
            .insertInto('vault_keys')
            .values({
              id,
              purpose,
              generation: 1,
              master_id: master.id,
              wrapped: wrap(master, id, purpose, 1, key),
              created_at: Date.now(),
              rotation: null,
            })
            .execute();
        } catch (error) {
          // Another node made it first: its key is the one (read below).
          if (!isUniqueViolation(error)) throw error;
        }
      }
      await load(from);
    },
    reload: () => reload(),
    refreshEvery(intervalMs, onError) {
      const timer = setInterval(() => {
        reload().catch(onError);
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
    keys: () => [...byId.values()],
    current: currentKey,
    masters: () => masters,
    wrap,

    seal(purpose, plaintext) {
      const key = currentKey(purpose);
      const body = encrypt(key.key, Buffer.from(plaintext, 'utf8'), valueAad(purpose, key.id));
      return Promise.resolve(`${VERSION}.${key.id}.${body}`);
    },

    async open(purpose, sealed) {
      const cached = opened.get(`${purpose}|${sealed}`);
      if (cached !== undefined) return cached;
      const parts = sealed.split('.');
      const keyId = keyIdOf(sealed);
      if (parts.length !== 4 || keyId === null) {
        throw new SealedValueError('Not a sealed value.');
      }
      const key = await keyFor(purpose, keyId);
      const plain = decrypt(key.key, parts[2] ?? '', parts[3] ?? '', valueAad(purpose, keyId));
      if (!plain)
        throw new SealedValueError(`A sealed ${purpose} value does not open (tampered?).`);
      const text = plain.toString('utf8');
      if (opened.size >= OPEN_CACHE_MAX) opened.clear();
      opened.set(`${purpose}|${sealed}`, text);
      return text;
    },

    index(purpose: IndexPurpose, value: string) {
      return createHmac('sha256', currentKey('index').key)
        .update(`${purpose}\u0000${value}`)
        .digest('base64url');
    },
  };
}

/**
 * How many data keys the database holds (0 before migration 0012 made the table). A database
 * that can't be reached throws: a new master key is never made on a guess.
 */
export async function storedKeyCount(db: DB): Promise<number> {
  const tables = await db.introspection.getTables();
  if (!tables.some((table) => table.name === 'vault_keys')) return 0;
  const row = await db
    .selectFrom('vault_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
