/**
 * Whom this device trusts: every user's identity key as the server's directory gives it,
 * checked against the key this device saw first (pinned). A key that differs from the pin is
 * a change to show in every conversation with that user until the user acknowledges it; a
 * user marked verified (safety number compared) stays so until their key changes.
 *
 * The MLS authentication service is built here: a device credential is accepted only when it
 * is signed by its user's current identity key.
 */
import { decode, encode } from '@msgpack/msgpack';
import type { AuthenticationService } from 'ts-mls';
import type { ConversationStore } from '../store/store.js';
import { basicIdentity } from './group.js';
import { openDeviceCredentialFast, safetyNumber, type IdentityKeyPair } from './identity.js';

/** What this device holds about one user's identity key. */
export interface Pin {
  /** The key this device trusts for them. */
  readonly key: Uint8Array;
  /** Their safety number was compared and marked verified (for this key). */
  readonly verified: boolean;
  /** The directory now gives another key: shown as a warning until acknowledged. */
  readonly changedTo: Uint8Array | null;
}

/** How a user's identity looks from this device. */
export type TrustState = 'unverified' | 'verified' | 'changed' | 'unknown';

const PIN_PREFIX = 'pin:';

const equal = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

export interface TrustOptions {
  store: ConversationStore;
  me: string;
  identity: IdentityKeyPair;
  /** The server's directory: each user's identity key (null: none). */
  lookup: (users: string[]) => Promise<{ user: string; key: Uint8Array | null }[]>;
}

export class Trust {
  private readonly pins = new Map<string, Pin>();
  /** Directory answers of this session (refreshed once when a credential does not match). */
  private readonly current = new Map<string, Uint8Array | null>();
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly options: TrustOptions) {}

  static async open(options: TrustOptions): Promise<Trust> {
    const trust = new Trust(options);
    for (const [key, value] of await options.store.secrets(PIN_PREFIX)) {
      const pin = decode(value) as Pin;
      trust.pins.set(key.slice(PIN_PREFIX.length), pin);
    }
    return trust;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The identity key this device should use for `user` now (fetched once per session). */
  async keyOf(user: string, refresh = false): Promise<Uint8Array | null> {
    if (user === this.options.me && !refresh) return this.options.identity.publicKey;
    if (!refresh && this.current.has(user)) return this.current.get(user) ?? null;
    await this.fetch([user]);
    return this.current.get(user) ?? null;
  }

  /** Look these users up at once (before checking a commit that names them). */
  async fetch(users: readonly string[]): Promise<void> {
    const wanted = [...new Set(users)];
    for (let i = 0; i < wanted.length; i += 100) {
      const answers = await this.options.lookup(wanted.slice(i, i + 100));
      for (const { user, key } of answers) {
        this.current.set(user, key);
        if (key) await this.see(user, key);
      }
    }
  }

  /** Record what the directory says against the pin. */
  private async see(user: string, key: Uint8Array): Promise<void> {
    if (user === this.options.me) {
      // The server gives another key for this very user: that is a warning like any other.
      if (!equal(key, this.options.identity.publicKey))
        await this.setPin(user, {
          key: this.options.identity.publicKey,
          verified: true,
          changedTo: key,
        });
      return;
    }
    const pin = this.pins.get(user);
    if (!pin) return this.setPin(user, { key, verified: false, changedTo: null });
    if (equal(pin.key, key)) {
      if (pin.changedTo) await this.setPin(user, { ...pin, changedTo: null });
      return;
    }
    if (pin.changedTo && equal(pin.changedTo, key)) return;
    await this.setPin(user, { ...pin, changedTo: key });
  }

  private async setPin(user: string, pin: Pin): Promise<void> {
    await this.options.store.putSecrets(new Map([[PIN_PREFIX + user, encode(pin)]]));
    this.pins.set(user, pin);
    for (const listener of this.listeners) listener();
  }

  state(user: string): TrustState {
    const pin = this.pins.get(user);
    if (!pin) return 'unknown';
    if (pin.changedTo) return 'changed';
    return pin.verified ? 'verified' : 'unverified';
  }

  /** The user has seen the change of `user`'s key: trust the new one (not verified). */
  async acknowledge(user: string): Promise<void> {
    const pin = this.pins.get(user);
    if (!pin?.changedTo) return;
    await this.setPin(user, { key: pin.changedTo, verified: false, changedTo: null });
  }

  /** Mark `user` verified (their safety number matched) or not. */
  async setVerified(user: string, verified: boolean): Promise<void> {
    const pin = this.pins.get(user);
    if (!pin || pin.changedTo) return;
    await this.setPin(user, { ...pin, verified });
  }

  /** The safety number between this user and `user`, from the key this device trusts. */
  async safetyNumber(user: string): Promise<string[] | null> {
    await this.keyOf(user);
    const pin = this.pins.get(user);
    if (!pin) return null;
    return safetyNumber(
      { user: this.options.me, identityKey: this.options.identity.publicKey },
      { user, identityKey: pin.changedTo ?? pin.key },
    );
  }

  /**
   * The MLS authentication service: a credential is valid when its identity signature over
   * this signature key verifies and the signing key is its user's current identity key.
   */
  authService(): AuthenticationService {
    return {
      validateCredential: async (credential, signaturePublicKey) => {
        const identity = basicIdentity(credential);
        if (!identity) return false;
        const opened = await openDeviceCredentialFast(identity, signaturePublicKey);
        if (!opened) return false;
        let key = await this.keyOf(opened.user);
        if (key && !equal(key, opened.identityKey) && opened.user !== this.options.me)
          key = await this.keyOf(opened.user, true);
        return key !== null && equal(key, opened.identityKey);
      },
    };
  }
}
