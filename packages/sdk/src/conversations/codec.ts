/**
 * The one codec between conversation content and payload bytes: a versioned MessagePack map
 * `{v, type, ...fields}`. Encoding checks the size limit before anything is queued; decoding
 * never throws — anything it can't read is an explicit `unreadable` item. MLS will wrap this
 * module (encrypt after encode, decrypt before decode) and nothing else.
 */
import { decode, encode } from '@msgpack/msgpack';
import {
  ChatError,
  FILE_TYPE_PATTERN,
  ID_REGEX_SOURCE,
  Limits,
  type Notice,
  type RoomEvent,
  type SendKind,
} from '@securechat/protocol';
import type { AvatarRef, Content, Decoded, FileContent, Unreadable } from './content.js';
import { normalizeRich, richBytes, type RichDocument } from './rich.js';

/** The version written in every payload; a payload of another version is unreadable. */
export const CONTENT_VERSION = 1;

/**
 * Bytes of a payload kept free for what wraps the content (its map and field names now, the
 * MLS framing and authentication tag later). Text may use the rest.
 */
const CONTENT_OVERHEAD_BYTES = 2048;

/** The most UTF-8 bytes a message's text may have. */
export const TEXT_MAX_BYTES = Limits.PAYLOAD_MAX_BYTES - CONTENT_OVERHEAD_BYTES;

const EMOJI_MAX_BYTES = 64;
const utf8 = new TextEncoder();

/** How many bytes `text` takes in a payload (UTF-8), as the composer counts while typing. */
export function textBytes(text: string): number {
  return utf8.encode(text).byteLength;
}

const BASE64URL_32 = /^[A-Za-z0-9_-]{43}$/;

/** Whether these are a file's details as a sender may send them and a reader may trust. */
function fileOk(file: Record<string, unknown>): file is Record<string, unknown> & FileContent {
  const { blob, name, fileType, size, key, hash, text } = file;
  return (
    typeof blob === 'string' &&
    new RegExp(ID_REGEX_SOURCE).test(blob) &&
    typeof name === 'string' &&
    name !== '' &&
    name.length <= Limits.FILE_NAME_MAX_LENGTH &&
    typeof fileType === 'string' &&
    new RegExp(FILE_TYPE_PATTERN).test(fileType) &&
    typeof size === 'number' &&
    Number.isSafeInteger(size) &&
    size >= 0 &&
    typeof key === 'string' &&
    BASE64URL_32.test(key) &&
    typeof hash === 'string' &&
    BASE64URL_32.test(hash) &&
    typeof text === 'string'
  );
}

/** Characters a display name may not contain: controls, and bidi and zero-width tricks. */
const UNSAFE_NAME = /[\p{Cc}\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/u;

/**
 * A display name a reader shows: 1 to DISPLAY_NAME_MAX_LENGTH characters, no surrounding
 * space, no control, bidi-override or zero-width character (or null: none).
 */
export function displayNameOk(name: unknown): name is string | null {
  return (
    name === null ||
    (typeof name === 'string' &&
      name !== '' &&
      name === name.trim() &&
      [...name].length <= Limits.DISPLAY_NAME_MAX_LENGTH &&
      !UNSAFE_NAME.test(name))
  );
}

function avatarOk(avatar: unknown): avatar is AvatarRef {
  if (typeof avatar !== 'object' || avatar === null) return false;
  const { blob, fileType, size, key, hash } = avatar as Record<string, unknown>;
  return (
    typeof blob === 'string' &&
    new RegExp(ID_REGEX_SOURCE).test(blob) &&
    (fileType === 'png' || fileType === 'jpg' || fileType === 'jpeg') &&
    typeof size === 'number' &&
    Number.isSafeInteger(size) &&
    size > 0 &&
    size <= Limits.AVATAR_MAX_BYTES &&
    typeof key === 'string' &&
    BASE64URL_32.test(key) &&
    typeof hash === 'string' &&
    BASE64URL_32.test(hash)
  );
}

const seqOk = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;

function tooLong(): ChatError {
  return new ChatError(
    'CHAT_ERR_TOO_LARGE',
    `This is too long to send: a message can be at most ${TEXT_MAX_BYTES.toLocaleString('en')} bytes.`,
    { field: 'text' },
  );
}

/**
 * The payload bytes of `content`. Throws a ChatError: CHAT_ERR_TOO_LARGE for text over
 * TEXT_MAX_BYTES, CHAT_ERR_VALIDATION for anything else a reader would refuse.
 */
export function encodeContent(content: Content): Uint8Array {
  let fields: Record<string, unknown>;
  let extra = 0;
  switch (content.type) {
    case 'text':
    case 'reply':
    case 'edit': {
      const rich = richField(content.rich);
      extra = rich.rich ? richBytes(rich.rich) : 0;
      fields =
        content.type === 'text'
          ? { text: content.text, ...rich }
          : content.type === 'reply'
            ? { text: content.text, ...rich, replyTo: content.replyTo }
            : { target: content.target, text: content.text, ...rich };
      break;
    }
    case 'reaction':
      if (content.emoji === '' || textBytes(content.emoji) > EMOJI_MAX_BYTES)
        throw new ChatError('CHAT_ERR_VALIDATION', 'That reaction is not an emoji.');
      fields = { target: content.target, emoji: content.emoji, on: content.on };
      break;
    case 'delete':
      fields = { target: content.target };
      break;
    case 'room-profile':
      fields = {
        ...(content.name === undefined ? {} : { name: content.name }),
        ...(content.topic === undefined ? {} : { topic: content.topic }),
      };
      break;
    case 'user-profile':
      if (!displayNameOk(content.name) || !(content.avatar === null || avatarOk(content.avatar)))
        throw new ChatError('CHAT_ERR_VALIDATION', 'This profile is not valid.');
      fields = { name: content.name, avatar: content.avatar && { ...content.avatar } };
      break;
    case 'file':
      if (!fileOk({ ...content }))
        throw new ChatError(
          'CHAT_ERR_VALIDATION',
          'This file cannot be sent: its details are invalid.',
        );
      fields = {
        blob: content.blob,
        name: content.name,
        fileType: content.fileType,
        size: content.size,
        key: content.key,
        hash: content.hash,
        text: content.text,
      };
      break;
  }
  if ('text' in content && textBytes(content.text) + extra > TEXT_MAX_BYTES) throw tooLong();
  const bytes = encode({ v: CONTENT_VERSION, type: content.type, ...fields });
  if (bytes.byteLength > Limits.PAYLOAD_MAX_BYTES) throw tooLong();
  return bytes;
}

/**
 * The `rich` field of a payload: the document as a reader will see it (normalized), absent
 * when there is none or nothing of it is allowed.
 */
function richField(value: unknown): { rich?: RichDocument } {
  if (value === undefined) return {};
  const rich = normalizeRich(value);
  return rich ? { rich } : {};
}

const unreadable = (reason: Unreadable['reason']): Unreadable => ({ type: 'unreadable', reason });

/** The content of a payload, or `unreadable` (never throws). */
export function decodeContent(payload: Uint8Array): Decoded {
  let value: unknown;
  try {
    value = decode(payload);
  } catch {
    return unreadable('malformed');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return unreadable('malformed');
  const map = value as Record<string, unknown>;
  if (map.v !== CONTENT_VERSION)
    return unreadable(typeof map.v === 'number' ? 'version' : 'malformed');
  const { text, target, replyTo, emoji, on, name, topic } = map;
  if (map.type === 'user-profile') {
    const avatar = map.avatar;
    if (!displayNameOk(name) || !(avatar === null || avatarOk(avatar)))
      return unreadable('malformed');
    return {
      type: 'user-profile',
      name,
      avatar: avatar && {
        blob: avatar.blob,
        fileType: avatar.fileType,
        size: avatar.size,
        key: avatar.key,
        hash: avatar.hash,
      },
    };
  }
  // A document that is not one is dropped, not the message: its text is still there.
  const rich = richField(Object.prototype.hasOwnProperty.call(map, 'rich') ? map.rich : undefined);
  if (map.type === 'file') {
    const { blob, fileType, size, key, hash } = map;
    const file = { type: 'file' as const, blob, name, fileType, size, key, hash, text };
    return fileOk(file) ? file : unreadable('malformed');
  }
  switch (map.type) {
    case 'text':
      return typeof text === 'string' ? { type: 'text', text, ...rich } : unreadable('malformed');
    case 'reply':
      return typeof text === 'string' && seqOk(replyTo)
        ? { type: 'reply', text, ...rich, replyTo }
        : unreadable('malformed');
    case 'edit':
      return typeof text === 'string' && seqOk(target)
        ? { type: 'edit', target, text, ...rich }
        : unreadable('malformed');
    case 'reaction':
      return typeof emoji === 'string' && emoji !== '' && typeof on === 'boolean' && seqOk(target)
        ? { type: 'reaction', target, emoji, on }
        : unreadable('malformed');
    case 'delete':
      return seqOk(target) ? { type: 'delete', target } : unreadable('malformed');
    case 'room-profile': {
      if (name !== undefined && typeof name !== 'string') return unreadable('malformed');
      if (topic !== undefined && topic !== null && typeof topic !== 'string')
        return unreadable('malformed');
      return {
        type: 'room-profile',
        ...(name === undefined ? {} : { name }),
        ...(topic === undefined ? {} : { topic }),
      };
    }
    default:
      return unreadable('unknown-type');
  }
}

/** How a piece of content travels: the send kind and target the server needs to see. */
export function wireOf(
  content: Content,
):
  | { kind: 'message'; file?: string }
  | { kind: Extract<SendKind, 'edit' | 'reaction'>; target: number } {
  switch (content.type) {
    case 'file':
      // The server keeps the file while this message exists: it learns only that it has one.
      return { kind: 'message', file: content.blob };
    case 'text':
    case 'reply':
    case 'room-profile':
      return { kind: 'message' };
    case 'user-profile':
      // The avatar's file lives as long as this message.
      return content.avatar ? { kind: 'message', file: content.avatar.blob } : { kind: 'message' };
    case 'edit':
      return { kind: 'edit', target: content.target };
    case 'reaction':
      return { kind: 'reaction', target: content.target };
    case 'delete':
      // Deletes go through the server's delete-code flow today; as content they are messages.
      return { kind: 'message' };
  }
}

/** A room event with its payload read: what the timeline reducer consumes. */
export interface DecodedEvent {
  readonly room: string;
  readonly seq: number;
  readonly kind: RoomEvent['kind'];
  readonly sender: string;
  readonly device: string;
  readonly cmid: string;
  readonly at: number;
  readonly content: Decoded | null;
  readonly notice?: Notice;
}

/**
 * Read one stored event. The server's metadata wins over what a payload claims: an edit or a
 * reaction is about the `target` the server checked, a tombstone is a delete of its target,
 * and an erased payload is unreadable with reason `erased`. Notices and commits carry no
 * content (null).
 */
export function decodeEvent(event: RoomEvent): DecodedEvent {
  const base = {
    room: event.room,
    seq: event.seq,
    kind: event.kind,
    sender: event.sender,
    device: event.device,
    // Notices and tombstones are the server's: no client message id.
    cmid: 'cmid' in event ? event.cmid : '',
    at: event.at,
    ...(event.kind === 'notice' ? { notice: event.notice } : {}),
  };
  const content = ((): Decoded | null => {
    switch (event.kind) {
      case 'notice':
      case 'commit':
        return null;
      case 'delete':
        return { type: 'delete', target: event.target };
      case 'message':
      case 'edit':
      case 'reaction': {
        if ('deleted' in event && event.deleted) return unreadable('erased');
        const decoded = decodeContent(event.payload);
        if (event.kind === 'message')
          return decoded.type === 'edit' || decoded.type === 'reaction'
            ? unreadable('malformed')
            : decoded;
        if (decoded.type !== event.kind) return unreadable('malformed');
        return { ...decoded, target: event.target };
      }
    }
  })();
  return { ...base, content };
}
