/**
 * Identities: each user has one identity key, an Ed25519 public key their devices' MLS
 * credentials are vouched for by, and the backup of its private key, encrypted by the client
 * (under a key derived from the password's OPAQUE export key): opaque bytes to the server.
 *
 * - The key is set once — at registration, or later with `setIdentity` — and never changes: the
 *   same key again changes nothing, another is refused (CHAT_ERR_CONFLICT). One key names one
 *   user (a unique index).
 * - The backup is replaced only with a password change (accounts.ts), in its transaction.
 * - Anyone signed in may look up anyone's key (`identityKeys`): a public directory, where an
 *   unknown user and a user without a key are answered alike (null).
 *
 * On the wire (HTTP) both are base64url strings; sizes are checked here on the decoded bytes.
 */
import {
  ChatError,
  Limits,
  type IdentityKeyEntry,
  type IdentityResponse,
  type UserId,
} from '@securechat/protocol';
import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../storage/errors.js';
import type { Database } from '../storage/types.js';
import { audit } from './audit.js';
import type { Vault } from './vault.js';
import type { AuthContext, RequestContext } from './context.js';

interface Bytes {
  key: Uint8Array;
  backup: Uint8Array;
}

/** Canonical base64url (no padding) of `min` to `max` bytes, or CHAT_ERR_VALIDATION naming `field`. */
function decode(text: string, field: string, min: number, max: number): Uint8Array {
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text)
    throw new ChatError('CHAT_ERR_VALIDATION', `"${field}" is not base64url.`, { field });
  if (bytes.byteLength < min || bytes.byteLength > max)
    throw new ChatError(
      'CHAT_ERR_VALIDATION',
      min === max
        ? `"${field}" must be ${min} bytes; it is ${bytes.byteLength}.`
        : `"${field}" must be ${min} to ${max} bytes; it is ${bytes.byteLength}.`,
      { field },
    );
  return new Uint8Array(bytes);
}

/** An identity backup from the wire, checked (`field`: where it was in the request). */
export const decodeBackup = (text: string, field: string): Uint8Array =>
  decode(text, field, 1, Limits.IDENTITY_BACKUP_MAX_BYTES);

/** An identity from the wire, checked (`prefix`: where it was in the request). */
export function decodeIdentity(input: { key: string; backup: string }, prefix: string): Bytes {
  return {
    key: decode(input.key, `${prefix}key`, Limits.IDENTITY_KEY_BYTES, Limits.IDENTITY_KEY_BYTES),
    backup: decodeBackup(input.backup, `${prefix}backup`),
  };
}

const encode = (bytes: Uint8Array | null): string | null =>
  bytes === null ? null : Buffer.from(bytes).toString('base64url');

const conflict = (field: string, message: string) =>
  new ChatError('CHAT_ERR_CONFLICT', message, { field });

/**
 * Refuse a key another user already has (checked where it is stored, in its transaction;
 * `userId`: the user storing it, or null for an account being created).
 */
export async function keyNotTaken(
  db: Kysely<Database>,
  key: Uint8Array,
  userId: string | null,
  field: string,
): Promise<void> {
  const owner = await db
    .selectFrom('users')
    .select('id')
    .where('identity_key', '=', key)
    .$if(userId !== null, (qb) => qb.where('id', '!=', userId ?? ''))
    .executeTakeFirst();
  if (owner) throw conflict(field, 'That identity key belongs to another account.');
}

/**
 * Replace the user's identity backup (a password change re-encrypts it), in the caller's
 * transaction. An account without an identity has no backup to replace: CHAT_ERR_VALIDATION.
 */
export async function replaceIdentityBackup(
  trx: Kysely<Database>,
  userId: string,
  backup: Uint8Array,
): Promise<void> {
  const updated = await trx
    .updateTable('users')
    .set({ identity_backup: backup })
    .where('id', '=', userId)
    .where('identity_key', 'is not', null)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1)
    throw new ChatError(
      'CHAT_ERR_VALIDATION',
      'This account has no identity yet, so no backup to replace: set the identity first.',
      { field: 'identityBackup' },
    );
}

export function createIdentity(deps: { db: Kysely<Database>; now: () => number; vault: Vault }) {
  const { db, now, vault } = deps;

  async function stored(userId: string): Promise<IdentityResponse> {
    const row = await db
      .selectFrom('users')
      .select(['identity_key', 'identity_backup'])
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    return {
      key: encode(row.identity_key === null ? null : new Uint8Array(row.identity_key)),
      backup: encode(row.identity_backup === null ? null : new Uint8Array(row.identity_backup)),
    };
  }

  return {
    /** The signed-in user's own identity key and backup (each null until set). */
    identity: (auth: AuthContext): Promise<IdentityResponse> => stored(auth.user.id),

    /**
     * Set the signed-in user's identity, once. The same key again changes nothing (the stored
     * backup stays); another key is CHAT_ERR_CONFLICT: an identity key never changes silently.
     * Returns what is stored.
     */
    async setIdentity(
      auth: AuthContext,
      input: { key: string; backup: string },
      context: RequestContext,
    ): Promise<IdentityResponse> {
      const { key, backup } = decodeIdentity(input, '');
      const at = now();
      const set = await db.transaction().execute(async (trx) => {
        await keyNotTaken(trx, key, auth.user.id, 'key');
        try {
          const updated = await trx
            .updateTable('users')
            .set({ identity_key: key, identity_backup: backup, identity_set_at: at })
            .where('id', '=', auth.user.id)
            .where('identity_key', 'is', null)
            .executeTakeFirst();
          return Number(updated.numUpdatedRows) === 1;
        } catch (error) {
          // Another account took this key meanwhile (the unique index decides).
          if (isUniqueViolation(error))
            throw conflict('key', 'That identity key belongs to another account.');
          throw error;
        }
      });
      const current = await stored(auth.user.id);
      if (set) {
        await audit(db, vault, at, 'identity.set', { userId: auth.user.id, ip: context.ip }, {});
        return current;
      }
      if (current.key !== input.key)
        throw conflict(
          'key',
          'This account already has another identity key, and an identity key never changes.',
        );
      return current;
    },

    /**
     * The identity keys of these users, one entry per distinct id in the order asked: null
     * for a user without one and for an id that is no user, alike.
     */
    async identityKeys(userIds: readonly UserId[]): Promise<IdentityKeyEntry[]> {
      const unique = [...new Set(userIds)];
      const rows = await db
        .selectFrom('users')
        .select(['id', 'identity_key'])
        .where('id', 'in', unique)
        .where('identity_key', 'is not', null)
        .execute();
      const keys = new Map(rows.map((r) => [r.id, r.identity_key]));
      return unique.map((user) => {
        const key = keys.get(user);
        return { user, key: key ? new Uint8Array(key) : null };
      });
    },
  };
}
