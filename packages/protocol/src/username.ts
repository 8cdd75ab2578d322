import type { Username } from './ids.js';
import { Limits } from './limits.js';

/**
 * Names nobody may register: they would impersonate the server, its staff, a mention, a mail
 * or network role, a page of the app, or a JavaScript object property (a name a lookup keyed
 * by username on a plain object would confuse with the object's own members).
 * Compared through `reservedForms`: case, `.`/`_`/`-`, digit spellings and a trailing
 * number are ignored, so `ad-min`, `a_d.m.i.n`, `adm1n`, `r00t` and `admin2` are refused too.
 */
export const RESERVED_USERNAMES: readonly string[] = [
  // The server, its staff and its people.
  'abuse',
  'adm',
  'admin',
  'administrator',
  'admins',
  'anonymous',
  'moderator',
  'moderators',
  'mod',
  'mods',
  'official',
  'operator',
  'owner',
  'root',
  'securechat',
  'security',
  'server',
  'staff',
  'sudo',
  'superuser',
  'support',
  'sysadmin',
  'system',
  'team',
  // Mentions and room names.
  'all',
  'channel',
  'everyone',
  'general',
  'guest',
  'here',
  'help',
  'helpdesk',
  'info',
  'nobody',
  // Mail, web and network roles (RFC 2142 and common system accounts).
  'autoconfig',
  'autodiscover',
  'billing',
  'daemon',
  'dns',
  'donotreply',
  'email',
  'ftp',
  'host',
  'hostmaster',
  'hostname',
  'imap',
  'localdomain',
  'localhost',
  'mail',
  'mailerdaemon',
  'marketing',
  'noc',
  'noreply',
  'ns1',
  'pop',
  'pop3',
  'postmaster',
  'sales',
  'sftp',
  'smtp',
  'ssh',
  'ssl',
  'tls',
  'uucp',
  'webmaster',
  'wpad',
  'www',
  'wwwdata',
  // Pages and paths of the app.
  'about',
  'account',
  'api',
  'assets',
  'devices',
  'health',
  'invite',
  'login',
  'logout',
  'metrics',
  'register',
  'settings',
  'setup',
  'signin',
  'signup',
  'static',
  'status',
  // Values and JavaScript object properties.
  'apply',
  'bind',
  'call',
  'constructor',
  'false',
  'hasownproperty',
  'infinity',
  'isprototypeof',
  'nan',
  'nil',
  'none',
  'null',
  'propertyisenumerable',
  'proto',
  'prototype',
  'then',
  'tojson',
  'tolocalestring',
  'tostring',
  'true',
  'undefined',
  'valueof',
];

/** Digits people write for letters, beyond the skeleton's own (0, 1, 5). */
const DIGIT_LETTERS: ReadonlyMap<string, string> = new Map([
  ['2', 'z'],
  ['3', 'e'],
  ['4', 'a'],
  ['6', 'b'],
  ['7', 't'],
  ['8', 'b'],
  ['9', 'g'],
]);

function reservedSkeleton(name: string): string {
  return usernameSkeleton(
    name.replace(/[._-]+/g, '').replace(/[2-46-9]/g, (digit) => DIGIT_LETTERS.get(digit) ?? digit),
  );
}

/**
 * The forms a normalized username is compared to the reserved names in: without separators,
 * with digits read as letters, through the lookalike skeleton; and the same without a
 * trailing number (`admin2`, `support24`).
 */
export function reservedForms(username: string): string[] {
  const whole = username.replace(/[._-]+/g, '');
  const forms = [reservedSkeleton(whole)];
  const unnumbered = whole.replace(/[0-9]+$/, '');
  if (unnumbered !== whole && unnumbered.length > 0) forms.push(reservedSkeleton(unnumbered));
  return forms;
}

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

/**
 * Every reserved name's form, including every property of a plain object (whatever a later
 * JavaScript adds to Object.prototype), lower-cased as usernames are.
 */
const RESERVED_SKELETONS: ReadonlySet<string> = new Set(
  [...RESERVED_USERNAMES, ...Object.getOwnPropertyNames(Object.prototype)].map((name) =>
    reservedSkeleton(name.toLowerCase()),
  ),
);

/** True when the normalized username is, or reads as, a reserved name. */
export function isReservedUsername(username: string): boolean {
  return reservedForms(username).some((form) => RESERVED_SKELETONS.has(form));
}

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
  if (isReservedUsername(username)) {
    return { ok: false, problem: 'reserved', message: 'That username is reserved.' };
  }
  return { ok: true, username: username as Username, skeleton };
}
