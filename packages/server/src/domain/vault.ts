/**
 * The vault: how the server encrypts what it must keep but a thief of the database or a
 * backup should not read (issue 10, item 5; docs/decisions/0022-encryption-at-rest.md). Every
 * sealed value is a self-describing string that carries the id of the data key that sealed
 * it, so keys can rotate while values of both keys are in the database.
 *
 * `purpose` names what a value is (one data key per purpose): a value sealed for one purpose
 * does not open as another.
 *
 * This file is the seam the domain codes against; src/vault/keyring.ts is the implementation
 * (AES-256-GCM data keys wrapped by the master key).
 */
export type SealPurpose =
  | 'username'
  | 'room-name'
  | 'room-topic'
  | 'device-name'
  | 'user-agent'
  | 'audit-address'
  | 'totp-secret'
  | 'link-meta'
  /** A room notice as stored (it names people, and a channel's new name or topic). */
  | 'notice';

/** What a blind index is computed for: equal inputs of one kind give equal indexes. */
export type IndexPurpose = 'username' | 'username-skeleton' | 'room-name';

export interface Vault {
  /** Encrypt `plaintext` under the current data key for `purpose`. */
  seal(purpose: SealPurpose, plaintext: string): Promise<string>;
  /** Decrypt a value `seal` made for this purpose, under whichever key sealed it. */
  open(purpose: SealPurpose, sealed: string): Promise<string>;
  /**
   * The keyed blind index of `value` (HMAC-SHA256 under the index key, which rotation
   * re-wraps but never changes): what look-ups and unique constraints use instead of the
   * plaintext.
   */
  index(purpose: IndexPurpose, value: string): string;
}

/** `open` for a nullable column. */
export async function openNullable(
  vault: Vault,
  purpose: SealPurpose,
  sealed: string | null,
): Promise<string | null> {
  return sealed === null ? null : vault.open(purpose, sealed);
}

/** `seal` for a nullable value. */
export async function sealNullable(
  vault: Vault,
  purpose: SealPurpose,
  plaintext: string | null,
): Promise<string | null> {
  return plaintext === null ? null : vault.seal(purpose, plaintext);
}
