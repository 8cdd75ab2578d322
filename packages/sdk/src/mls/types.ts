/**
 * The end-to-end encryption engine as the conversations facade uses it, and what it gives
 * back: opened events, failures in words, a conversation's security state. The MLS engine
 * (./engine.ts) implements it; the facade's own tests use a plaintext stand-in.
 */
import type { RoomEvent, RoomSummary } from '@securechat/protocol';
import type { TrustState } from './trust.js';

/** Why an event's content can't be shown, in words the app turns into plain sentences. */
export type Failure =
  /** Sent before this device joined the conversation (history comes with the next issue). */
  | 'before-join'
  /** This device has not been let into the conversation yet (waiting for a member to add it). */
  | 'waiting'
  /** The keys to decrypt it are gone or it was damaged. */
  | 'undecryptable'
  /** The member whose key encrypted it is not who the server says sent it. */
  | 'wrong-sender'
  /** This device refused a change to the conversation's members; nothing after it decrypts. */
  | 'refused-change';

/** An event through the engine: its plaintext payload, or why there is none. */
export interface Opened {
  readonly event: RoomEvent;
  readonly payload: Uint8Array | null;
  readonly failure: Failure | null;
}

/** A warning to show in a conversation until the user acts on it. */
export type SecurityWarning =
  | { readonly type: 'key-changed'; readonly user: string }
  | { readonly type: 'refused-change'; readonly reason: string };

/** A conversation's state for its header. */
export interface RoomSecurity {
  readonly state: 'encrypted' | 'verified' | 'warning' | 'joining';
  readonly warnings: readonly SecurityWarning[];
}

/** What the facade gives the encryption engine. */
export interface CryptoHooks {
  /** Run `task` in the room's queue (after every earlier change of the room). */
  run: (room: string, task: () => Promise<void>) => Promise<void>;
  /** Feed events (released from waiting, or fetched) back through the room's processing. */
  deliver: (room: string, events: RoomEvent[]) => void;
  report: (error: unknown) => void;
  /** This device added devices to the room's group: they read from now on. */
  added: (room: string) => void;
}

/** The end-to-end encryption engine as the facade uses it (mls/engine.ts `MlsEngine`). */
export interface ConversationCrypto {
  open(
    room: string,
    events: readonly RoomEvent[],
  ): Promise<{
    opened: Opened[];
    secrets: ReadonlyMap<string, Uint8Array | null>;
    done: () => void;
  }>;
  /** The payload encrypted for the room's group, and the epoch it was encrypted in. */
  seal(
    room: string,
    cmid: string,
    plaintext: Uint8Array,
  ): Promise<{ payload: Uint8Array; epoch: number | null }>;
  security(room: string): RoomSecurity;
  waiting(room: string): number;
  epoch(room: string): number | null;
  /** Everyone the server lists has a device in the room's group. */
  complete(room: string): boolean;
  groupMembers(room: string): { user: string; device: string }[];
  sync(rooms: readonly RoomSummary[]): void;
  schedule(room: string): void;
  rotate(room: string): Promise<void>;
  forget(room: string): Promise<void>;
  start(): void;
  /** The connection is open (again). */
  online(): void;
  close(): void;
  onChange(listener: () => void): () => void;
  readonly trust: {
    state(user: string): TrustState;
    safetyNumber(user: string): Promise<string[] | null>;
    setVerified(user: string, verified: boolean): Promise<void>;
    acknowledge(user: string): Promise<void>;
  };
}
