/**
 * Display names and avatars: end-to-end content, shared into every room the user is in when
 * they change them, and again before their next message once someone new has joined. Readers
 * ignore hostile names; the sdk refuses to send them. Against the real server (SQLite).
 */
import { GENERAL_ROOM_ID, Limits } from '@securechat/protocol';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/until.js';
import { decodeContent, encodeContent } from '../src/conversations/codec.js';
import type { Conversations } from '../src/index.js';
import { liveServer } from './support/live.js';

/** The smallest valid PNG: 1×1, transparent. */
const PNG = Uint8Array.from(
  Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
    'base64',
  ),
);

describe('profile content', () => {
  it('round-trips a profile; a reader refuses hostile names and avatars', () => {
    const profile = { type: 'user-profile' as const, name: 'Ada Lovelace', avatar: null };
    expect(decodeContent(encodeContent(profile))).toEqual(profile);
    for (const name of [
      '',
      ' padded ',
      'x'.repeat(Limits.DISPLAY_NAME_MAX_LENGTH + 1),
      'admin\u202Enimda', // right-to-left override
      'zero\u200Bwidth',
      'line\nbreak',
      42,
    ])
      expect(() => encodeContent({ ...profile, name: name as string })).toThrow(
        expect.objectContaining({ code: 'CHAT_ERR_VALIDATION' }) as Error,
      );
    const avatar = { blob: 'A'.repeat(22), fileType: 'svg', size: 10, key: 'k', hash: 'h' };
    expect(() => encodeContent({ ...profile, avatar: avatar })).toThrow(
      expect.objectContaining({ code: 'CHAT_ERR_VALIDATION' }) as Error,
    );
  });
});

describe('profiles end to end', () => {
  const { person } = liveServer('sqlite');

  it('shares a name and an avatar with everyone in a room, and with who joins later once they speak', async () => {
    const ada = await person('ada');
    const ben = await person('ben');
    for (const p of [ada, ben]) p.c.open(GENERAL_ROOM_ID);
    // Both devices in #general's group: Ben reads what Ada says.
    const reads = (p: { c: Conversations }, text: string) =>
      p.c.view(GENERAL_ROOM_ID).items.some((item) => item.type === 'message' && item.text === text);
    for (let n = 0; !reads(ben, `ping ${n - 1}`); n += 1) {
      await ada.c.sendText(GENERAL_ROOM_ID, `ping ${n}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (n > 30) throw new Error('ben never read ada');
    }
    expect(ben.c.person(ada.id)).toBeNull();

    await expect(ada.c.setMyProfile({ name: 'ada\u202E' })).rejects.toMatchObject({
      code: 'CHAT_ERR_VALIDATION',
    });
    await expect(
      ada.c.setMyProfile({
        avatar: { bytes: new TextEncoder().encode('<svg/>'), fileType: 'png' },
      }),
    ).rejects.toMatchObject({ code: 'CHAT_ERR_VALIDATION' });

    const messageCount = () =>
      ben.c.view(GENERAL_ROOM_ID).items.filter((item) => item.type === 'message').length;
    const before = messageCount();
    await ada.c.setMyProfile({ name: '  Ada Lovelace ', avatar: { bytes: PNG, fileType: 'png' } });
    await until(() => ben.c.person(ada.id)?.profile.name === 'Ada Lovelace', 'ben to see the name');
    const shared = ben.c.person(ada.id);
    if (!shared?.profile.avatar) throw new Error('no avatar');
    const opened = await ben.c.openFile(shared.room, shared.profile.avatar);
    expect(opened.bytes).toEqual(PNG);
    expect(opened.type).toBe('png');
    // It is not a message anyone sees.
    expect(messageCount()).toBe(before);

    // Cal joins later: his device can't read what came before, so he learns Ada's profile
    // when she next speaks.
    const cal = await person('cal');
    cal.c.open(GENERAL_ROOM_ID);
    await until(() => cal.c.view(GENERAL_ROOM_ID).security.state === 'encrypted', 'cal to join');
    await until(
      () =>
        ada.c
          .view(GENERAL_ROOM_ID)
          .items.some((item) => item.type === 'notice' && item.sender === cal.id),
      'ada to see cal join',
    );
    expect(cal.c.person(ada.id)).toBeNull();
    await ada.c.sendText(GENERAL_ROOM_ID, 'welcome, cal');
    await until(() => cal.c.person(ada.id)?.profile.name === 'Ada Lovelace', 'cal to see it');

    // Removing the name and avatar is shared too.
    await ada.c.setMyProfile({ name: null, avatar: null });
    await until(() => ben.c.person(ada.id)?.profile.name === null, 'ben to see it removed');
    expect(ben.c.person(ada.id)?.profile.avatar).toBeNull();
  }, 90_000);
});
