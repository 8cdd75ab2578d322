/**
 * The local store of one signed-in device: where each room's timeline (already reduced to
 * what people see), read position and delivery position live, and the sends not yet
 * acknowledged, and this device's keys and group states (`secrets`). The conversations facade
 * and the MLS engine are its only writers.
 *
 * Adapters: `memory.std.ts` (anywhere; tests, or a browser that refuses storage),
 * `indexeddb.dom.ts` (browsers), `file.node.ts` (Node: one JSON file per device).
 */
import type { ErrorCode } from '@securechat/protocol';
import type { Content } from '../conversations/content.js';
import type { TimelineState } from '../conversations/timeline.js';

/** What the device knows of one room besides its timeline. */
export interface RoomRecord {
  readonly room: string;
  /** The highest seq processed: the connection resumes after it. */
  readonly position: number;
  /** The highest seq this user has read. */
  readonly read: number;
  /** Messages from others after `read` (kept so the room list needs no timeline). */
  readonly unread: number;
  /** Name and topic set in content (private groups, direct rooms). */
  readonly profile: TimelineState['profile'];
}

/** A send of this device that the server has not acknowledged yet. */
export interface PendingSend {
  readonly cmid: string;
  readonly room: string;
  readonly content: Content;
  readonly at: number;
  /** Why it failed; null while it is still on its way (re-sent after a restart). */
  readonly error: { readonly code: ErrorCode; readonly message: string } | null;
}

/** One atomic change: everything a processed event changed, written together or not at all. */
export interface StoreChange {
  readonly room: RoomRecord;
  /** The room's new timeline; absent when only the record changed (e.g. a read marker). */
  readonly timeline?: TimelineState;
  /** Pending sends this change settles (their event arrived). */
  readonly settled?: readonly string[];
  /**
   * This device's keys and group states that changed with it (null deletes): a decrypt's new
   * group state is written in the same transaction as the plaintext it produced.
   */
  readonly secrets?: SecretChanges;
}

/** Secret values by key (`null` deletes the key). */
export type SecretChanges = ReadonlyMap<string, Uint8Array | null>;

export interface ConversationStore {
  /** Every room record (small: loaded at start). */
  rooms(): Promise<RoomRecord[]>;
  /** One room's timeline, or null when nothing of it was kept. */
  timeline(room: string): Promise<TimelineState | null>;
  /** Apply one change in a single transaction. */
  commit(change: StoreChange): Promise<void>;
  /** Forget a room (left, removed, deleted): its record and timeline. */
  forgetRoom(room: string): Promise<void>;
  pending(): Promise<PendingSend[]>;
  putPending(send: PendingSend): Promise<void>;
  removePending(cmid: string): Promise<void>;
  /** One secret (a key, a group state), or null. */
  secret(key: string): Promise<Uint8Array | null>;
  /** Every secret whose key starts with `prefix`. */
  secrets(prefix: string): Promise<Map<string, Uint8Array>>;
  /** Write secrets alone, in one transaction. */
  putSecrets(changes: SecretChanges): Promise<void>;
  /** Remove everything (this device is being removed from this browser or process). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/** The record of a room never seen. */
export const emptyRoomRecord = (room: string): RoomRecord => ({
  room,
  position: 0,
  read: 0,
  unread: 0,
  profile: { name: null, topic: null },
});

/** The store's name for one user on one device, so two accounts in one browser never mix. */
export function storeName(userId: string, deviceId: string): string {
  return `securechat-${userId}-${deviceId}`;
}
