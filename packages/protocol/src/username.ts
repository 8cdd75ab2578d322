import type { Username } from './ids.js';
import { Limits } from './limits.js';

/**
 * Names nobody may register: they would impersonate the server, its staff or a mention.
 * Compared by skeleton, so `adm1n` and `r00t` are refused too.
 */
export const RESERVED_USERNAMES: readonly string[] = [
  'abuse',
  'admin',
  'administrator',
  'all',
  'anonymous',
  'api',
  'channel',
  'everyone',
  'general',
  'guest',
  'help',
  'here',
  'hostmaster',
  'info',
  'mod',
  'moderator',
  'noreply',
  'null',
  'operator',
  'owner',
  'postmaster',
  'root',
  'securechat',
  'security',
  'server',
  'staff',
  'support',
  'sysadmin',
  'system',
  'undefined',
  'webmaster',
];

const ALLOWED = /^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/;

export type UsernameProblem = 'too-short' | 'too-long' | 'characters' | 'reserved';

export type UsernameCheck =
  | { ok: true; username: Username; skeleton: string }
  | { ok: false; problem: UsernameProblem; message: string };

/**
 * Normalize what a person typed into the one form we store and compare: Unicode NFKC (so
 * full-width and compatibility forms collapse to plain letters), lower case, trimmed.
 */
export function canonicalUsername(input: string): string {
  return input.normalize('NFKC').toLowerCase().normalize('NFKC').trim();
}

/**
 * The confusable skeleton of a normalized username: two names with the same skeleton look
 * alike to a reader (`alice` / `aIice` / `a1ice`, `john.doe` / `john_doe`, `rn` / `m`) and
 * only the first may exist. Inputs are already restricted to `[a-z0-9._-]`, so the
 * lookalikes that matter are the ASCII ones from Unicode's confusables list (UTS #39).
 */
export function usernameSkeleton(username: string): string {
  return username
    .replace(/[._-]+/g, '-')
    .replace(/rn/g, 'm')
    .replace(/vv/g, 'w')
    .replace(/cl/g, 'd')
    .replace(/0/g, 'o')
    .replace(/[1ij|]/g, 'l')
    .replace(/5/g, 's');
}

const RESERVED_SKELETONS = new Set(RESERVED_USERNAMES.map(usernameSkeleton));

/** Check and normalize a username; the same rules run in the client and on the server. */
export function normalizeUsername(input: string): UsernameCheck {
  const username = canonicalUsername(input);
  if (username.length < Limits.USERNAME_MIN_LENGTH) {
    return {
      ok: false,
      problem: 'too-short',
      message: `Usernames have at least ${Limits.USERNAME_MIN_LENGTH} characters.`,
    };
  }
  if (username.length > Limits.USERNAME_MAX_LENGTH) {
    return {
      ok: false,
      problem: 'too-long',
      message: `Usernames have at most ${Limits.USERNAME_MAX_LENGTH} characters.`,
    };
  }
  if (!ALLOWED.test(username)) {
    return {
      ok: false,
      problem: 'characters',
      message: 'Use letters a–z, digits, and . _ - between them (no spaces, no other symbols).',
    };
  }
  const skeleton = usernameSkeleton(username);
  if (RESERVED_SKELETONS.has(skeleton)) {
    return { ok: false, problem: 'reserved', message: 'That username is reserved.' };
  }
  return { ok: true, username: username as Username, skeleton };
}
