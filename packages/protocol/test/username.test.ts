import { describe, expect, it } from 'vitest';
import { normalizeUsername, usernameSkeleton } from '../src/username.js';

describe('normalizeUsername', () => {
  it('folds case and compatibility forms to one stored form', () => {
    expect(normalizeUsername('Alice')).toMatchObject({ ok: true, username: 'alice' });
    // Full-width letters (NFKC) collapse to ASCII.
    expect(normalizeUsername('ａｌｉｃｅ')).toMatchObject({ ok: true, username: 'alice' });
    expect(normalizeUsername('  bob  ')).toMatchObject({ ok: true, username: 'bob' });
  });

  it('refuses names that are too short, too long or use other characters', () => {
    expect(normalizeUsername('ab')).toMatchObject({ ok: false, problem: 'too-short' });
    expect(normalizeUsername('a'.repeat(33))).toMatchObject({ ok: false, problem: 'too-long' });
    for (const bad of ['al ice', 'alice!', '.alice', 'alice-', 'ålice', 'аlice' /* Cyrillic а */]) {
      expect(normalizeUsername(bad)).toMatchObject({ ok: false, problem: 'characters' });
    }
  });

  it('refuses reserved names and their lookalikes', () => {
    for (const name of ['admin', 'Admin', 'adm1n', 'r00t', 'system', 'root', 'securechat']) {
      expect(normalizeUsername(name)).toMatchObject({ ok: false, problem: 'reserved' });
    }
  });

  it('gives lookalike names the same skeleton', () => {
    const skeleton = (s: string) => usernameSkeleton(s);
    expect(skeleton('alice')).toBe(skeleton('aiice'));
    expect(skeleton('alice')).toBe(skeleton('a1ice'));
    expect(skeleton('john.doe')).toBe(skeleton('john_doe'));
    expect(skeleton('john.doe')).toBe(skeleton('john-doe'));
    expect(skeleton('modern')).toBe(skeleton('modem'));
    expect(skeleton('b0b')).toBe(skeleton('bob'));
    expect(skeleton('alice')).not.toBe(skeleton('alicia'));
  });
});
