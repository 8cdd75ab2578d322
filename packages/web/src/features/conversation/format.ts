/** Times and days in the conversation. */
import { t } from '../../strings';

const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export const formatClock = (at: number): string => clock.format(at);
export const formatFull = (at: number): string => full.format(at);

const dayStart = (at: number): number => new Date(at).setHours(0, 0, 0, 0);
export const sameDay = (a: number, b: number): boolean => dayStart(a) === dayStart(b);

/** "Today", "Yesterday", or the date. */
export function formatDay(at: number, now: number): string {
  const days = Math.round((dayStart(now) - dayStart(at)) / 86_400_000);
  if (days === 0) return t.conversation.today;
  if (days === 1) return t.conversation.yesterday;
  return date.format(at);
}

/** A file's size as people read it: "830 bytes", "12 KB", "4.5 MB" (1 KB = 1024 bytes). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const [value, unit] = bytes < 1024 * 1024 ? [bytes / 1024, 'KB'] : [bytes / 1024 / 1024, 'MB'];
  return `${Number.isInteger(value) || value >= 10 ? Math.round(value) : value.toFixed(1)} ${unit}`;
}
