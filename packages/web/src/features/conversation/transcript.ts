/**
 * The text form of a transcript, in the app's words: a heading, then one line per message
 * ("[2026-11-30 14:02] alice: hello"), continuation lines indented. Local time, with the zone
 * named in the heading. Pure, so it is tested without a browser.
 */
import type { TranscriptEntry, TranscriptRange } from '@securechat/sdk';
import { t } from '../../strings';

const pad = (n: number) => String(n).padStart(2, '0');

/** "2026-11-30 14:02" in this device's local time. */
export function localStamp(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "2026-11-30" in this device's local time. */
export const localDate = (at: number): string => localStamp(at).slice(0, 10);

/** Lines after the first are indented under the message. */
const indent = (text: string) => text.replace(/\r\n?/g, '\n').split('\n').join('\n    ');

export function transcriptText(
  roomLabel: string,
  entries: readonly TranscriptEntry[],
  exportedAt: number,
  range: TranscriptRange,
  timeZone: string,
): string {
  const w = t.transcript;
  const lines = [
    w.heading(roomLabel),
    w.exported(localStamp(exportedAt)),
    range.from !== undefined && range.to !== undefined
      ? w.period(localDate(range.from), localDate(range.to - 1))
      : w.everything,
    w.zone(timeZone),
    '',
  ];
  if (entries.length === 0) lines.push(w.empty);
  for (const entry of entries) {
    const file = entry.file ? w.file(entry.file.name, entry.file.size) : null;
    const text = entry.text === null || (entry.text === '' && file) ? null : indent(entry.text);
    const body = entry.deleted
      ? w.deleted
      : text === null && file === null
        ? w.unreadable
        : [file, text].filter((part) => part !== null).join(' ') +
          (entry.edited ? ` ${w.edited}` : '');
    const reply = entry.replyTo
      ? entry.replyTo.name !== null && entry.replyTo.text !== null
        ? ` ${w.reply(entry.replyTo.name, entry.replyTo.text.replace(/\s+/g, ' ').slice(0, 80))}`
        : ` ${w.replyUnknown}`
      : '';
    lines.push(`[${localStamp(entry.at)}] ${entry.sender.name}${reply}: ${body}`);
    if (entry.reactions.length > 0)
      lines.push(
        `    ${w.reactions} ${entry.reactions.map((r) => `${r.emoji} ${r.count}`).join(', ')}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

/** A file name safe on every system: "securechat-plans-2026-11-30.txt". */
export function transcriptFileName(roomName: string, at: number, extension: 'txt' | 'json') {
  const slug =
    roomName
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'conversation';
  return `securechat-${slug}-${localDate(at)}.${extension}`;
}
