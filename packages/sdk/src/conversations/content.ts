/**
 * What people say in a room, defined once. Every piece of conversation content the app sends
 * or shows is one of these; the codec (./codec.ts) is the only place that turns them into the
 * payload bytes the server stores, and back. End-to-end encryption wraps exactly that codec.
 */
import type { RichDocument } from './rich.js';

/** A message. */
export interface TextContent {
  readonly type: 'text';
  /** The plain text, always: what search, notifications and older clients use. */
  readonly text: string;
  /** How to show it, when it has formatting (./rich.ts). */
  readonly rich?: RichDocument;
}

/** A message that answers an earlier one (`replyTo` is that message's seq). */
export interface ReplyContent {
  readonly type: 'reply';
  readonly text: string;
  readonly rich?: RichDocument;
  readonly replyTo: number;
}

/** A new text for one of the sender's own messages (`target`). */
export interface EditContent {
  readonly type: 'edit';
  readonly target: number;
  readonly text: string;
  readonly rich?: RichDocument;
}

/**
 * A reaction set (`on: true`) or taken back (`on: false`) by its sender. The newest one per
 * sender, message and emoji counts, so reactions toggle per user.
 */
export interface ReactionContent {
  readonly type: 'reaction';
  readonly target: number;
  readonly emoji: string;
  readonly on: boolean;
}

/**
 * The sender asks for one of their messages to be deleted. Today deletes go through the
 * server's two-step code (its tombstones read as this content); with MLS the request itself
 * travels encrypted.
 */
export interface DeleteContent {
  readonly type: 'delete';
  readonly target: number;
}

/**
 * The name and topic of a private group or direct room. They travel here, in the content slot
 * (encrypted once MLS lands), not in the server's room settings. `undefined` leaves a field as
 * it was; a `null` topic clears it.
 */
export interface RoomProfileContent {
  readonly type: 'room-profile';
  readonly name?: string;
  readonly topic?: string | null;
}

/**
 * A file, sealed with its own key (files/seal.ts) and uploaded as ciphertext under `blob`.
 * Its key and plaintext hash travel only here, inside the encrypted message; `type` is the
 * extension the sender declared (the receiver trusts only the bytes: files/types.ts).
 * `text` is an optional caption.
 */
export interface FileContent {
  readonly type: 'file';
  readonly blob: string;
  readonly name: string;
  readonly fileType: string;
  /** Plaintext bytes. */
  readonly size: number;
  /** The file's AES-256-GCM key, base64url. */
  readonly key: string;
  /** SHA-256 of the plaintext, base64url. */
  readonly hash: string;
  readonly text: string;
}

/** A small image sealed like a file and uploaded into the room it is shared in. */
export interface AvatarRef {
  readonly blob: string;
  readonly fileType: string;
  readonly size: number;
  readonly key: string;
  readonly hash: string;
}

/**
 * The sender's display name and avatar (null: none). Sent into each room they are in when
 * they change it, and again before their next message once someone new has joined, so every
 * member who reads them knows who they are. Not shown as a message.
 */
export interface UserProfileContent {
  readonly type: 'user-profile';
  readonly name: string | null;
  readonly avatar: AvatarRef | null;
}

export type Content =
  | TextContent
  | UserProfileContent
  | ReplyContent
  | EditContent
  | ReactionContent
  | DeleteContent
  | RoomProfileContent
  | FileContent;

export type ContentType = Content['type'];

/**
 * Why a message can't be shown: its payload is malformed, from a newer client or erased; or
 * end-to-end encryption could not open it (see mls/engine.ts `Failure`): sent before this
 * device joined, this device not let in yet, keys gone, a sender who is not who the server
 * says, or a change to the members this device refused.
 */
export type UnreadableReason =
  | 'malformed'
  | 'version'
  | 'unknown-type'
  | 'erased'
  | 'before-join'
  | 'waiting'
  | 'undecryptable'
  | 'wrong-sender'
  | 'refused-change';

/** A payload that is not readable content, and why. */
export interface Unreadable {
  readonly type: 'unreadable';
  readonly reason: UnreadableReason;
}

/** What a payload decodes to: content, or an explicit unreadable item (decoding never throws). */
export type Decoded = Content | Unreadable;
