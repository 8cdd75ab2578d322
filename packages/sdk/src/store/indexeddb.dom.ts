/**
 * The browser's store: one IndexedDB database per signed-in user and device (see
 * `storeName`), so two accounts in one browser profile never read each other's rooms.
 * Object stores: `rooms` (RoomRecord by room), `timelines` (TimelineState by room), `pending`
 * (PendingSend by cmid), `secrets` (this device's keys and group states) and `meta` (the
 * store's own key). A change is one readwrite transaction over all of them.
 *
 * Encrypted at rest: every value is sealed with AES-256-GCM under a WebCrypto key made
 * non-extractable in this database, so tools that read the database files, and code that
 * can't use this origin's key object, get ciphertext; the key itself can't be exported even by
 * the page. The key object lives in the same browser profile, so a full copy of the profile
 * run in a browser can use it (docs/threat-model.md: the device's disk encryption is what
 * protects against that). Keys of the object stores (room ids, cmids) stay readable; they are
 * what the server knows too.
 */
import { decode, encode } from '@msgpack/msgpack';
import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { TimelineState } from '../conversations/timeline.js';
import {
  storeName,
  type ConversationStore,
  type PendingSend,
  type RoomRecord,
  type SecretChanges,
  type StoreChange,
} from './store.js';

const VERSION = 2;

/** A value as stored: AES-GCM ciphertext of its MessagePack encoding. */
interface Sealed {
  readonly iv: Uint8Array;
  readonly data: ArrayBuffer;
}

interface Schema extends DBSchema {
  rooms: { key: string; value: Sealed };
  timelines: { key: string; value: Sealed };
  pending: { key: string; value: Sealed };
  secrets: { key: string; value: Sealed };
  meta: { key: string; value: CryptoKey };
}

const ALL = ['rooms', 'timelines', 'pending', 'secrets'] as const;

class IndexedDbStore implements ConversationStore {
  constructor(
    private readonly db: IDBPDatabase<Schema>,
    private readonly name: string,
    private readonly key: CryptoKey,
  ) {}

  private async seal(value: unknown): Promise<Sealed> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv },
      this.key,
      encode(value, { ignoreUndefined: true }),
    );
    return { iv, data };
  }

  private async open<T>(sealed: Sealed): Promise<T> {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: sealed.iv as BufferSource },
      this.key,
      sealed.data,
    );
    return decode(new Uint8Array(plain)) as T;
  }

  async rooms(): Promise<RoomRecord[]> {
    return Promise.all((await this.db.getAll('rooms')).map((v) => this.open<RoomRecord>(v)));
  }

  async timeline(room: string): Promise<TimelineState | null> {
    const sealed = await this.db.get('timelines', room);
    return sealed ? this.open<TimelineState>(sealed) : null;
  }

  async commit(change: StoreChange): Promise<void> {
    // Seal first: a transaction closes when it waits on anything but its own requests.
    const room = await this.seal(change.room);
    const timeline = change.timeline ? await this.seal(change.timeline) : null;
    const secrets = await this.sealSecrets(change.secrets);
    const tx = this.db.transaction(ALL, 'readwrite');
    const writes: Promise<unknown>[] = [];
    try {
      writes.push(tx.objectStore('rooms').put(room, change.room.room));
      if (timeline) writes.push(tx.objectStore('timelines').put(timeline, change.room.room));
      for (const cmid of change.settled ?? []) writes.push(tx.objectStore('pending').delete(cmid));
      for (const [key, value] of secrets)
        writes.push(
          value === null
            ? tx.objectStore('secrets').delete(key)
            : tx.objectStore('secrets').put(value, key),
        );
    } catch (error) {
      // A put can throw at once (a value that can't be stored): nothing of the change stays.
      tx.abort();
      await Promise.allSettled([...writes, tx.done]);
      throw error;
    }
    await Promise.all([...writes, tx.done]);
  }

  private async sealSecrets(changes: SecretChanges | undefined) {
    const sealed = new Map<string, Sealed | null>();
    for (const [key, value] of changes ?? [])
      sealed.set(key, value === null ? null : await this.seal(value));
    return sealed;
  }

  async forgetRoom(room: string): Promise<void> {
    const tx = this.db.transaction(['rooms', 'timelines'], 'readwrite');
    await Promise.all([
      tx.objectStore('rooms').delete(room),
      tx.objectStore('timelines').delete(room),
      tx.done,
    ]);
  }

  async pending(): Promise<PendingSend[]> {
    const all = await Promise.all(
      (await this.db.getAll('pending')).map((v) => this.open<PendingSend>(v)),
    );
    return all.sort((a, b) => a.at - b.at);
  }

  async putPending(send: PendingSend): Promise<void> {
    await this.db.put('pending', await this.seal(send), send.cmid);
  }

  async removePending(cmid: string): Promise<void> {
    await this.db.delete('pending', cmid);
  }

  async secret(key: string): Promise<Uint8Array | null> {
    const sealed = await this.db.get('secrets', key);
    return sealed ? this.open<Uint8Array>(sealed) : null;
  }

  async secrets(prefix: string): Promise<Map<string, Uint8Array>> {
    const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
    const tx = this.db.transaction('secrets');
    const keys = await tx.store.getAllKeys(range);
    const values = await tx.store.getAll(range);
    const found = new Map<string, Uint8Array>();
    for (let i = 0; i < keys.length; i++) {
      const sealed = values[i];
      const key = keys[i];
      if (sealed && key !== undefined) found.set(key, await this.open<Uint8Array>(sealed));
    }
    return found;
  }

  async putSecrets(changes: SecretChanges): Promise<void> {
    const sealed = await this.sealSecrets(changes);
    const tx = this.db.transaction('secrets', 'readwrite');
    await Promise.all([
      ...[...sealed].map(([key, value]) =>
        value === null ? tx.store.delete(key) : tx.store.put(value, key),
      ),
      tx.done,
    ]);
  }

  async clear(): Promise<void> {
    this.db.close();
    await deleteDB(this.name);
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}

/** The store's key: made once, non-extractable, kept in the database it protects. */
async function storeKey(db: IDBPDatabase<Schema>): Promise<CryptoKey> {
  const existing = await db.get('meta', 'key');
  if (existing) return existing;
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
  const tx = db.transaction('meta', 'readwrite');
  // Two tabs opening at once: the first key written wins, and both use it.
  const raced = await tx.store.get('key');
  if (raced) {
    await tx.done;
    return raced;
  }
  await tx.store.put(key, 'key');
  await tx.done;
  return key;
}

/** Open (or create) the IndexedDB store of `userId` on `deviceId`. */
export async function openIndexedDbStore(options: {
  userId: string;
  deviceId: string;
}): Promise<ConversationStore> {
  const name = storeName(options.userId, options.deviceId);
  const db = await openDB<Schema>(name, VERSION, {
    upgrade(database) {
      // Version 1 kept values in the clear: they are dropped, and come back from the server.
      for (const store of ['rooms', 'timelines', 'pending', 'secrets', 'meta'] as const) {
        if (database.objectStoreNames.contains(store)) database.deleteObjectStore(store);
        database.createObjectStore(store);
      }
    },
    // Another tab upgrades or deletes this store (the device was removed): let it.
    blocking() {
      db.close();
    },
  });
  return new IndexedDbStore(db, name, await storeKey(db));
}

/** Delete the store of `userId` on `deviceId` without opening it (removing this device). */
export async function deleteIndexedDbStore(options: {
  userId: string;
  deviceId: string;
}): Promise<void> {
  await deleteDB(storeName(options.userId, options.deviceId));
}
