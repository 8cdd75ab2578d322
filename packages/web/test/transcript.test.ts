import type { TranscriptEntry } from '@securechat/sdk';
import { describe, expect, it } from 'vitest';
import {
  localStamp,
  transcriptFileName,
  transcriptText,
} from '../src/features/conversation/transcript';

const at = (y: number, mo: number, d: number, h: number, mi: number) =>
  new Date(y, mo - 1, d, h, mi).getTime();

const entry = (
  seq: number,
  name: string,
  text: string | null,
  more: Partial<TranscriptEntry> = {},
) =>
  ({
    seq,
    at: at(2026, 11, 30, 14, seq),
    sender: { id: `u-${name}`, name },
    text,
    edited: false,
    deleted: false,
    unreadable: null,
    replyTo: null,
    reactions: [],
    file: null,
    ...more,
  }) satisfies TranscriptEntry;

describe('text transcripts', () => {
  it('has a heading, then one stamped line per message with sender names', () => {
    const text = transcriptText(
      '#plans',
      [
        entry(1, 'alice', 'hello\nsecond line', { edited: true }),
        entry(2, 'bob', 'hi', {
          replyTo: { seq: 1, name: 'alice', text: 'hello\nsecond line' },
          reactions: [{ emoji: '👍', count: 2 }],
        }),
        entry(3, 'bob', null, { deleted: true }),
        entry(4, 'carol', null, { unreadable: 'before-join' }),
        entry(5, 'alice', '', { file: { name: 'plan.pdf', type: 'pdf', size: 12_345 } }),
        entry(6, 'alice', 'the photo', { file: { name: 'a.png', type: 'png', size: 900 } }),
      ],
      at(2026, 12, 1, 9, 5),
      { from: at(2026, 11, 30, 0, 0), to: at(2026, 12, 1, 0, 0) },
      'Europe/Berlin',
    );
    expect(text.split('\n')).toEqual([
      'SecureChat transcript: #plans',
      'Exported 2026-12-01 09:05',
      'Messages from 2026-11-30 to 2026-11-30',
      'Times are in Europe/Berlin.',
      '',
      '[2026-11-30 14:01] alice: hello',
      '    second line (edited)',
      '[2026-11-30 14:02] bob (in reply to alice: “hello second line”): hi',
      '    Reactions: 👍 2',
      '[2026-11-30 14:03] bob: [deleted]',
      '[2026-11-30 14:04] carol: [not readable on this device]',
      '[2026-11-30 14:05] alice: [file: plan.pdf, 13 KB]',
      '[2026-11-30 14:06] alice: [file: a.png, 900 B] the photo',
      '',
    ]);
  });

  it('says so when the period has no message', () => {
    expect(transcriptText('alice', [], at(2026, 12, 1, 9, 5), {}, 'UTC')).toContain(
      'No messages in this period.',
    );
  });

  it('names the file after the room in plain letters, never a path', () => {
    const when = at(2026, 11, 30, 14, 0);
    expect(transcriptFileName('Plans für 2027', when, 'txt')).toBe(
      'securechat-plans-fur-2027-2026-11-30.txt',
    );
    expect(transcriptFileName('../../etc/passwd', when, 'json')).toBe(
      'securechat-etc-passwd-2026-11-30.json',
    );
    expect(transcriptFileName('💬', when, 'txt')).toBe('securechat-conversation-2026-11-30.txt');
    expect(localStamp(when)).toBe('2026-11-30 14:00');
  });
});
