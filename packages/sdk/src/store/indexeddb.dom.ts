/**
 * The browser's store: one IndexedDB database per signed-in user and device (see
 * `storeName`), so two accounts in one browser profile never read each other's rooms.
 * Object stores: `rooms` (RoomRecord by room), `timelines` (TimelineState by room) and
 * `pending` (PendingSend by cmid). A change is one readwrite transaction over all three.
 */
import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { TimelineState } from '../conversations/timeline.js';
import {
  storeName,
  type ConversationStore,
  type PendingSend,
  type RoomRecord,
  type StoreChange,
} from './store.js';

const VERSION = 1;

interface Schema extends DBSchema {
  rooms: { key: string; value: RoomRecord };
  timelines: { key: string; value: TimelineState };
  pending: { key: string; value: PendingSend };
}

class IndexedDbStore implements ConversationStore {
  constructor(
    private readonly db: IDBPDatabase<Schema>,
    private readonly name: string,
  ) {}

  rooms(): Promise<RoomRecord[]> {
    return this.db.getAll('rooms');
  }

  async timeline(room: string): Promise<TimelineState | null> {
    return (await this.db.get('timelines', room)) ?? null;
  }

  async commit(change: StoreChange): Promise<void> {
    const tx = this.db.transaction(['rooms', 'timelines', 'pending'], 'readwrite');
    const writes: Promise<unknown>[] = [];
    try {
      writes.push(tx.objectStore('rooms').put(change.room, change.room.room));
      if (change.timeline)
        writes.push(tx.objectStore('timelines').put(change.timeline, change.room.room));
      for (const cmid of change.settled ?? []) writes.push(tx.objectStore('pending').delete(cmid));
    } catch (error) {
      // A put can throw at once (a value that can't be stored): nothing of the change stays.
      tx.abort();
      await Promise.allSettled([...writes, tx.done]);
      throw error;
    }
    await Promise.all([...writes, tx.done]);
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
    return (await this.db.getAll('pending')).sort((a, b) => a.at - b.at);
  }

  async putPending(send: PendingSend): Promise<void> {
    await this.db.put('pending', send, send.cmid);
  }

  async removePending(cmid: string): Promise<void> {
    await this.db.delete('pending', cmid);
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

/** Open (or create) the IndexedDB store of `userId` on `deviceId`. */
export async function openIndexedDbStore(options: {
  userId: string;
  deviceId: string;
}): Promise<ConversationStore> {
  const name = storeName(options.userId, options.deviceId);
  const db = await openDB<Schema>(name, VERSION, {
    upgrade(database) {
      database.createObjectStore('rooms');
      database.createObjectStore('timelines');
      database.createObjectStore('pending');
    },
    // Another tab upgrades or deletes this store (the device was removed): let it.
    blocking() {
      db.close();
    },
  });
  return new IndexedDbStore(db, name);
}

/** Delete the store of `userId` on `deviceId` without opening it (removing this device). */
export async function deleteIndexedDbStore(options: {
  userId: string;
  deviceId: string;
}): Promise<void> {
  await deleteDB(storeName(options.userId, options.deviceId));
}
