import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new random id: 16 bytes, 22 base64url characters. */
export const newId = (): string => randomBytes(16).toString('base64url');

/** A new secret token: 32 bytes, 43 base64url characters. Store only `hashToken(token)`. */
export const newToken = (): string => randomBytes(32).toString('base64url');

export const hashToken = (token: string): string =>
  createHash('sha256').update(token).digest('base64url');

/** Whether `token` hashes to `hash` (`hashToken`), in time independent of where they differ. */
export function tokenMatches(token: string, hash: string): boolean {
  const actual = Buffer.from(hashToken(token));
  const expected = Buffer.from(hash);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
