/**
 * This browser's privacy choices (not secret, so kept in localStorage): whether the members
 * of small rooms are told how far this user has read. Delivery receipts always go out: the
 * server sees deliveries anyway.
 */
const KEY = 'securechat.privacy';

export interface PrivacySettings {
  readReceipts: boolean;
}

const listeners = new Set<() => void>();
let current: PrivacySettings | null = null;

export function privacySettings(): PrivacySettings {
  if (current) return current;
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<PrivacySettings>;
    current = { readReceipts: stored.readReceipts !== false };
  } catch {
    current = { readReceipts: true };
  }
  return current;
}

export function setPrivacySettings(change: Partial<PrivacySettings>): void {
  current = { ...privacySettings(), ...change };
  localStorage.setItem(KEY, JSON.stringify(current));
  for (const listener of listeners) listener();
}

export function onPrivacySettings(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
