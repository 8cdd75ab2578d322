/** A store in memory: for tests, and for a browser that refuses persistent storage. */
import { fromBase64url, toBase64url } from '../base64url.js';
import type { TimelineState } from '../conversations/timeline.js';
import type {
  ConversationStore,
  PendingSend,
  RoomRecord,
  SecretChanges,
  StoreChange,
} from './store.js';

/** The whole content of a store, as the memory and file adapters keep it. */
export interface StoreData {
  rooms: Record<string, RoomRecord>;
  timelines: Record<string, TimelineState>;
  pending: Record<string, PendingSend>;
  /** Base64url of each secret (the file adapter writes JSON). */
  secrets: Record<string, string>;
}

export const emptyStoreData = (): StoreData => ({
  rooms: {},
  timelines: {},
  pending: {},
  secrets: {},
});

function withSecrets(
  secrets: Record<string, string>,
  changes: SecretChanges | undefined,
): Record<string, string> {
  if (!changes || changes.size === 0) return secrets;
  const next = { ...secrets };
  for (const [key, value] of changes) {
    if (value === null) delete next[key];
    else next[key] = toBase64url(value);
  }
  return next;
}

/** `data` after `change`, as a new object (the input is not changed). */
function applyChange(data: StoreData, change: StoreChange): StoreData {
  const pending = { ...data.pending };
  for (const cmid of change.settled ?? []) delete pending[cmid];
  return {
    rooms: { ...data.rooms, [change.room.room]: change.room },
    timelines: change.timeline
      ? { ...data.timelines, [change.room.room]: change.timeline }
      : data.timelines,
    pending,
    secrets: withSecrets(data.secrets, change.secrets),
  };
}

/**
 * A store over a `StoreData` value; `persist` is called after every change with the new
 * value (the file adapter writes it out; memory does nothing).
 */
export class DataStore implements ConversationStore {
  private persisting: Promise<void> = Promise.resolve();

  constructor(
    private data: StoreData,
    private readonly persist: (data: StoreData) => Promise<void> = async () => undefined,
  ) {}

  rooms(): Promise<RoomRecord[]> {
    return Promise.resolve(Object.values(this.data.rooms));
  }

  timeline(room: string): Promise<TimelineState | null> {
    return Promise.resolve(this.data.timelines[room] ?? null);
  }

  commit(change: StoreChange): Promise<void> {
    return this.write(applyChange(this.data, change));
  }

  forgetRoom(room: string): Promise<void> {
    const rooms = { ...this.data.rooms };
    const timelines = { ...this.data.timelines };
    delete rooms[room];
    delete timelines[room];
    return this.write({ ...this.data, rooms, timelines });
  }

  pending(): Promise<PendingSend[]> {
    return Promise.resolve(Object.values(this.data.pending).sort((a, b) => a.at - b.at));
  }

  putPending(send: PendingSend): Promise<void> {
    return this.write({ ...this.data, pending: { ...this.data.pending, [send.cmid]: send } });
  }

  removePending(cmid: string): Promise<void> {
    if (!(cmid in this.data.pending)) return Promise.resolve();
    const pending = { ...this.data.pending };
    delete pending[cmid];
    return this.write({ ...this.data, pending });
  }

  secret(key: string): Promise<Uint8Array | null> {
    const value = this.data.secrets[key];
    return Promise.resolve(value === undefined ? null : fromBase64url(value));
  }

  secrets(prefix: string): Promise<Map<string, Uint8Array>> {
    const found = new Map<string, Uint8Array>();
    for (const [key, value] of Object.entries(this.data.secrets))
      if (key.startsWith(prefix)) found.set(key, fromBase64url(value));
    return Promise.resolve(found);
  }

  putSecrets(changes: SecretChanges): Promise<void> {
    return this.write({ ...this.data, secrets: withSecrets(this.data.secrets, changes) });
  }

  clear(): Promise<void> {
    return this.write(emptyStoreData());
  }

  /** Resolves once every change is persisted. */
  async close(): Promise<void> {
    await this.persisting;
  }

  /**
   * Changes apply in call order: each is computed from the one before (never from a value a
   * slower write still holds), then persisted; writes are persisted in the same order.
   */
  private async write(data: StoreData): Promise<void> {
    const previous = this.data;
    this.data = data;
    const persisting = this.persist(data);
    this.persisting = persisting.catch(() => undefined);
    try {
      await persisting;
    } catch (error) {
      if (this.data === data) this.data = previous;
      throw error;
    }
  }
}

/** A store that lives as long as the process (or tab). */
export function openMemoryStore(): ConversationStore {
  return new DataStore(emptyStoreData());
}
