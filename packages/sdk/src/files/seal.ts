/**
 * File encryption: a fresh random AES-256-GCM key per file; the plaintext is sealed in chunks
 * of FILE_CHUNK_BYTES, each under a nonce made of its counter and a last-chunk flag, so a
 * reordered, dropped, repeated or truncated chunk fails to open. The SHA-256 of the plaintext
 * travels (with the key) inside the MLS message and is checked after opening.
 *
 * Nonce (12 bytes): 7 zero bytes, the chunk counter (uint32, big-endian), then 1 for the last
 * chunk and 0 for the others. A key seals one file only, so a nonce never repeats under it.
 * Primitives: WebCrypto's AES-GCM (native, in browsers and Node alike) and @noble/hashes'
 * incremental SHA-256; nothing hand-made.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { ChatError, Limits, sealedFileBytes } from '@securechat/protocol';

export const FILE_KEY_BYTES = 32;
export const FILE_HASH_BYTES = 32;

const CHUNK = Limits.FILE_CHUNK_BYTES;
const TAG = Limits.FILE_CHUNK_TAG_BYTES;

export interface SealedFile {
  /** What is uploaded. */
  readonly ciphertext: Uint8Array;
  /** The file's own key (travels only inside the encrypted message). */
  readonly key: Uint8Array;
  /** SHA-256 of the plaintext. */
  readonly hash: Uint8Array;
  /** Plaintext bytes. */
  readonly size: number;
}

/** Where the plaintext comes from: bytes, or a browser File/Blob read chunk by chunk. */
export type FileSource = Uint8Array | Blob;

const subtle = () => globalThis.crypto.subtle;

const aesKey = (key: Uint8Array, use: 'encrypt' | 'decrypt') =>
  subtle().importKey('raw', new Uint8Array(key), 'AES-GCM', false, [use]);

function nonce(counter: number, last: boolean): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(12);
  new DataView(bytes.buffer).setUint32(7, counter);
  bytes[11] = last ? 1 : 0;
  return bytes;
}

async function readChunk(source: FileSource, start: number, end: number): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source.subarray(start, end);
  return new Uint8Array(await source.slice(start, end).arrayBuffer());
}

/**
 * Encrypt a file under a fresh key. `onProgress(done, total)` reports plaintext bytes sealed;
 * the work yields between chunks so a page stays responsive.
 */
export async function sealFile(
  source: FileSource,
  onProgress?: (done: number, total: number) => void,
): Promise<SealedFile> {
  const size = source instanceof Uint8Array ? source.byteLength : source.size;
  const key = randomBytes(FILE_KEY_BYTES);
  const sealing = await aesKey(key, 'encrypt');
  const hasher = sha256.create();
  const ciphertext = new Uint8Array(sealedFileBytes(size));
  const chunks = Math.max(1, Math.ceil(size / CHUNK));
  let out = 0;
  for (let i = 0; i < chunks; i++) {
    const plain = await readChunk(source, i * CHUNK, Math.min(size, (i + 1) * CHUNK));
    hasher.update(plain);
    const sealed = new Uint8Array(
      await subtle().encrypt(
        { name: 'AES-GCM', iv: nonce(i, i === chunks - 1) },
        sealing,
        new Uint8Array(plain),
      ),
    );
    ciphertext.set(sealed, out);
    out += sealed.byteLength;
    onProgress?.(Math.min(size, (i + 1) * CHUNK), size);
  }
  return { ciphertext, key, hash: hasher.digest(), size };
}

function damaged(): ChatError {
  return new ChatError(
    'CHAT_ERR_VALIDATION',
    'This file was damaged or tampered with: it could not be decrypted.',
  );
}

/**
 * Decrypt a sealed file and check its hash (and size, when given). Throws CHAT_ERR_VALIDATION
 * for anything altered: a changed, reordered, missing or extra chunk, a wrong key or hash.
 */
export async function openFile(
  ciphertext: Uint8Array,
  key: Uint8Array,
  hash: Uint8Array,
  size?: number,
): Promise<Uint8Array> {
  if (key.byteLength !== FILE_KEY_BYTES || hash.byteLength !== FILE_HASH_BYTES) throw damaged();
  const chunks = Math.max(1, Math.ceil(ciphertext.byteLength / (CHUNK + TAG)));
  const plainSize = ciphertext.byteLength - chunks * TAG;
  if (plainSize < 0 || sealedFileBytes(plainSize) !== ciphertext.byteLength) throw damaged();
  if (size !== undefined && size !== plainSize) throw damaged();
  const plain = new Uint8Array(plainSize);
  const hasher = sha256.create();
  const opening = await aesKey(key, 'decrypt');
  for (let i = 0; i < chunks; i++) {
    const sealed = ciphertext.subarray(
      i * (CHUNK + TAG),
      Math.min(ciphertext.byteLength, (i + 1) * (CHUNK + TAG)),
    );
    let opened: Uint8Array;
    try {
      opened = new Uint8Array(
        await subtle().decrypt(
          { name: 'AES-GCM', iv: nonce(i, i === chunks - 1) },
          opening,
          new Uint8Array(sealed),
        ),
      );
    } catch {
      throw damaged();
    }
    hasher.update(opened);
    plain.set(opened, i * CHUNK);
  }
  const actual = hasher.digest();
  if (!equal(actual, hash)) throw damaged();
  return plain;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
