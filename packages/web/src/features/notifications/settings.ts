/**
 * This browser's notification choices (not secret, so kept in localStorage): desktop
 * notifications while the tab is hidden, a sound with them, and whether they show the
 * message's text (off by default: the words would leave the app for the system's
 * notification centre).
 */
const KEY = 'securechat.notifications';

export interface NotificationSettings {
  desktop: boolean;
  sound: boolean;
  preview: boolean;
}

const DEFAULTS: NotificationSettings = { desktop: false, sound: false, preview: false };
const listeners = new Set<() => void>();
let current: NotificationSettings | null = null;

export function notificationSettings(): NotificationSettings {
  if (current) return current;
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<NotificationSettings>;
    current = {
      desktop: stored.desktop === true,
      sound: stored.sound === true,
      preview: stored.preview === true,
    };
  } catch {
    current = DEFAULTS;
  }
  return current;
}

export function setNotificationSettings(change: Partial<NotificationSettings>): void {
  current = { ...notificationSettings(), ...change };
  localStorage.setItem(KEY, JSON.stringify(current));
  for (const listener of listeners) listener();
}

export function onNotificationSettings(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Whether the browser lets this page show notifications at all. */
export const notificationsSupported = (): boolean => typeof Notification !== 'undefined';
