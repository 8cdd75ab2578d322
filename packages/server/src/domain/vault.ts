/**
 * The vault: how the server encrypts what it must keep but a thief of the database or a
 * backup should not read (issue 10, item 5). Every sealed value is a self-describing string
 * that carries the id of the data key that sealed it, so keys can rotate while values of
 * both keys are in the database.
 *
 * `purpose` names what a value is (one data key per purpose): a value sealed for one purpose
 * does not open as another.
 *
 * This file is the seam the rest of the server codes against. `passThroughVault` below is the
 * placeholder the envelope-encryption work replaces with the real AES-256-GCM keyring; it
 * must not ship.
 */
export type SealPurpose =
  | 'username'
  | 'room-name'
  | 'room-topic'
  | 'device-name'
  | 'user-agent'
  | 'audit-address'
  | 'totp-secret'
  | 'link-meta';

export interface Vault {
  /** Encrypt `plaintext` under the current data key for `purpose`. */
  seal(purpose: SealPurpose, plaintext: string): Promise<string>;
  /** Decrypt a value `seal` made for this purpose, under whichever key sealed it. */
  open(purpose: SealPurpose, sealed: string): Promise<string>;
}

/** Placeholder: stores values as they are. Replaced by the envelope-encryption keyring. */
export function passThroughVault(): Vault {
  return {
    seal: async (_purpose, plaintext) => plaintext,
    open: async (_purpose, sealed) => sealed,
  };
}
