/**
 * The device this browser is for each account, kept across sign-outs: signing in again with
 * it reuses the same device, whose keys and history wait in its IndexedDB store (keyed by user
 * and device). Its secret is what the server asks to reuse it; it is in localStorage, next to
 * the keys it guards, and goes when the device is removed from here.
 */
import { normalizeUsername, type SessionResponse } from '@securechat/sdk';

export interface KnownDevice {
  id: string;
  secret: string;
}

const PREFIX = 'securechat.device.';

/** The key for a username as typed (the server compares names normalized, so do we). */
function keyOf(username: string): string {
  const check = normalizeUsername(username);
  return PREFIX + (check.ok ? check.username : username.trim().toLowerCase());
}

function parse(text: string | null): KnownDevice | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    if (
      typeof value === 'object' &&
      value !== null &&
      'id' in value &&
      'secret' in value &&
      typeof value.id === 'string' &&
      typeof value.secret === 'string'
    )
      return { id: value.id, secret: value.secret };
  } catch {
    // Not ours, or damaged: as if there were none.
  }
  return null;
}

/** The device kept in this browser for `username`, if any (and if storage is allowed). */
export function knownDevice(username: string): KnownDevice | null {
  try {
    return parse(localStorage.getItem(keyOf(username)));
  } catch {
    return null;
  }
}

export function forgetKnownDevice(username: string): void {
  try {
    localStorage.removeItem(keyOf(username));
  } catch {
    // Storage refused: nothing was kept.
  }
}

/**
 * Record the device a sign-in (or registration) gave. A new device comes with its secret and
 * replaces whatever was kept; the same device again keeps its entry. Returns the device kept
 * before when the server gave a different one (that one is gone: its store can be erased).
 */
export function rememberDevice(
  result: Pick<SessionResponse, 'user' | 'device' | 'deviceSecret'>,
): KnownDevice | null {
  const before = knownDevice(result.user.username);
  const replaced = before && before.id !== result.device.id ? before : null;
  if (replaced) forgetKnownDevice(result.user.username);
  if (result.deviceSecret !== undefined) {
    try {
      localStorage.setItem(
        keyOf(result.user.username),
        JSON.stringify({ id: result.device.id, secret: result.deviceSecret }),
      );
    } catch {
      // Storage refused (some private modes): the next sign-in makes a new device.
    }
  }
  return replaced;
}
