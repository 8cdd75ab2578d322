/**
 * Identity keys and device credentials.
 *
 * Each user has one Ed25519 identity key, made on their first device. It signs every device's
 * MLS credential: (user id, device id, the device's MLS signature key). A client accepts a
 * member only with a credential its user's current identity key signed, so a server that
 * slips in a device or a key of its own is caught.
 *
 * The identity private key leaves a device only inside the key backup: encrypted under a key
 * derived from the OPAQUE export key (which only the password yields), so the server keeps
 * bytes it can't open and a new sign-in restores the same identity.
 *
 * Pure functions over bytes; the only randomness is the backup nonce and new keys.
 */
import { decode, encode } from '@msgpack/msgpack';
import { ed25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { gcm } from '@noble/ciphers/aes.js';
import { randomBytes } from '@noble/hashes/utils.js';

/** A user's identity key pair (Ed25519). */
export interface IdentityKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** What a device credential says, once its signature checked out. */
export interface DeviceCredential {
  readonly user: string;
  readonly device: string;
  /** The identity key that signed it (compared with the user's current one by the caller). */
  readonly identityKey: Uint8Array;
}

const CREDENTIAL_VERSION = 1;
const CREDENTIAL_LABEL = 'securechat/device-credential/v1';
const BACKUP_VERSION = 1;
const BACKUP_LABEL = 'securechat/identity-backup/v1';

export function newIdentity(): IdentityKeyPair {
  const privateKey = ed25519.utils.randomSecretKey();
  return { privateKey, publicKey: ed25519.getPublicKey(privateKey) };
}

/** The identity key pair of a private key (restored from the backup). */
export function identityFromPrivate(privateKey: Uint8Array): IdentityKeyPair {
  return { privateKey, publicKey: ed25519.getPublicKey(privateKey) };
}

function credentialTbs(user: string, device: string, signatureKey: Uint8Array): Uint8Array {
  return encode([CREDENTIAL_LABEL, user, device, signatureKey]);
}

/** The bytes of a device's MLS basic credential: signed by the user's identity key. */
export function signDeviceCredential(
  identity: IdentityKeyPair,
  user: string,
  device: string,
  signatureKey: Uint8Array,
): Uint8Array {
  const signature = ed25519.sign(credentialTbs(user, device, signatureKey), identity.privateKey);
  return encode({
    v: CREDENTIAL_VERSION,
    u: user,
    d: device,
    ik: identity.publicKey,
    sig: signature,
  });
}

/**
 * Read a device credential and check its identity signature over this MLS signature key.
 * Null when it is malformed or the signature does not verify.
 */
export function openDeviceCredential(
  bytes: Uint8Array,
  signatureKey: Uint8Array,
): DeviceCredential | null {
  const parsed = readCredential(bytes);
  if (!parsed) return null;
  try {
    if (
      !ed25519.verify(
        parsed.signature,
        credentialTbs(parsed.user, parsed.device, signatureKey),
        parsed.identityKey,
      )
    )
      return null;
  } catch {
    return null;
  }
  return { user: parsed.user, device: parsed.device, identityKey: parsed.identityKey };
}

const verifyKeys = new Map<string, Promise<CryptoKey | null>>();

/** The identity key as a WebCrypto key (null where WebCrypto has no Ed25519). */
function webCryptoKey(publicKey: Uint8Array): Promise<CryptoKey | null> {
  const id = Array.from(publicKey, (b) => b.toString(16).padStart(2, '0')).join('');
  let key = verifyKeys.get(id);
  if (!key) {
    key = crypto.subtle
      .importKey('raw', publicKey as BufferSource, { name: 'Ed25519' }, false, ['verify'])
      .catch(() => null);
    if (verifyKeys.size > 10_000) verifyKeys.clear();
    verifyKeys.set(id, key);
  }
  return key;
}

/**
 * `openDeviceCredential`, verifying with WebCrypto's Ed25519 where the runtime has it (Node
 * 20, current browsers): joining a big room checks one credential per member, and WebCrypto
 * does it several times faster than the JavaScript implementation it falls back to.
 */
export async function openDeviceCredentialFast(
  bytes: Uint8Array,
  signatureKey: Uint8Array,
): Promise<DeviceCredential | null> {
  const parsed = readCredential(bytes);
  if (!parsed) return null;
  const key = await webCryptoKey(parsed.identityKey);
  if (!key) return openDeviceCredential(bytes, signatureKey);
  const ok = await crypto.subtle
    .verify(
      { name: 'Ed25519' },
      key,
      parsed.signature as BufferSource,
      credentialTbs(parsed.user, parsed.device, signatureKey) as BufferSource,
    )
    .catch(() => false);
  return ok ? { user: parsed.user, device: parsed.device, identityKey: parsed.identityKey } : null;
}

function readCredential(bytes: Uint8Array) {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { v, u, d, ik, sig } = value as Record<string, unknown>;
  if (v !== CREDENTIAL_VERSION || typeof u !== 'string' || typeof d !== 'string') return null;
  if (!(ik instanceof Uint8Array) || ik.length !== 32) return null;
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return null;
  return { user: u, device: d, identityKey: ik, signature: sig };
}

/** Which user and device a credential names, without checking it (for display of a refusal). */
export function peekDeviceCredential(bytes: Uint8Array): { user: string; device: string } | null {
  try {
    const value = decode(bytes) as Record<string, unknown> | null;
    if (value && typeof value.u === 'string' && typeof value.d === 'string')
      return { user: value.u, device: value.d };
  } catch {
    // unreadable
  }
  return null;
}

const BACKUP_AAD = new TextEncoder().encode(BACKUP_LABEL);

/** The backup's key: HKDF-SHA-256 of the OPAQUE export key (which differs per account). */
function backupKey(exportKey: Uint8Array): Uint8Array {
  return hkdf(sha256, exportKey, BACKUP_AAD, BACKUP_AAD, 32);
}

/** The identity private key encrypted under the OPAQUE export key (AES-256-GCM). */
export function sealIdentityBackup(identity: IdentityKeyPair, exportKey: Uint8Array): Uint8Array {
  const nonce = randomBytes(12);
  const sealed = gcm(backupKey(exportKey), nonce, BACKUP_AAD).encrypt(
    encode({ v: BACKUP_VERSION, sk: identity.privateKey }),
  );
  return encode({ v: BACKUP_VERSION, n: nonce, c: sealed });
}

/** Open the key backup; null when the export key is not the one it was sealed under. */
export function openIdentityBackup(
  backup: Uint8Array,
  exportKey: Uint8Array,
): IdentityKeyPair | null {
  try {
    const outer = decode(backup) as Record<string, unknown>;
    if (outer.v !== BACKUP_VERSION) return null;
    const { n, c } = outer;
    if (!(n instanceof Uint8Array) || !(c instanceof Uint8Array)) return null;
    const plain = gcm(backupKey(exportKey), n, BACKUP_AAD).decrypt(c);
    const inner = decode(plain) as Record<string, unknown>;
    if (inner.v !== BACKUP_VERSION || !(inner.sk instanceof Uint8Array)) return null;
    return identityFromPrivate(inner.sk);
  } catch {
    return null;
  }
}

// ---- safety numbers ----------------------------------------------------------------------

const FINGERPRINT_ITERATIONS = 5200;
const FINGERPRINT_VERSION = new Uint8Array([0, 1]);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** 30 digits for one user: iterated SHA-512 over their identity key and id (as Signal does). */
function fingerprintDigits(user: string, identityKey: Uint8Array): string {
  let hash = concat(FINGERPRINT_VERSION, identityKey, new TextEncoder().encode(user));
  for (let i = 0; i < FINGERPRINT_ITERATIONS; i++) hash = sha512(concat(hash, identityKey));
  let digits = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let value = 0;
    for (let i = 0; i < 5; i++) value = value * 256 + (hash[chunk * 5 + i] ?? 0);
    digits += String(value % 100000).padStart(5, '0');
  }
  return digits;
}

/**
 * The safety number of two users: 60 digits in 12 groups of 5, the same on both sides (each
 * side's 30 digits, in a fixed order). It changes when either identity key changes.
 */
export function safetyNumber(
  a: { user: string; identityKey: Uint8Array },
  b: { user: string; identityKey: Uint8Array },
): string[] {
  const parts = [
    fingerprintDigits(a.user, a.identityKey),
    fingerprintDigits(b.user, b.identityKey),
  ];
  parts.sort();
  const all = parts.join('');
  return all.match(/\d{5}/g) ?? [];
}

/** What a QR code of the safety number holds: the version and both users' digits. */
export function safetyNumberPayload(groups: readonly string[]): string {
  return `securechat-safety-number:1:${groups.join('')}`;
}
