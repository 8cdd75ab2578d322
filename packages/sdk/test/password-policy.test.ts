import { describe, expect, it } from 'vitest';
import { checkPassword, Limits } from '../src/index.js';

describe('checkPassword', () => {
  it('refuses passwords shorter than the minimum', async () => {
    const check = await checkPassword('Xk9!qz#Lm');
    expect(check).toMatchObject({ ok: false, message: 'Use at least 10 characters.' });
    expect(check.score).toBeLessThanOrEqual(1);
    expect(Limits.PASSWORD_MIN_LENGTH).toBe(10);
  });

  it('refuses passwords longer than the maximum', async () => {
    const check = await checkPassword('a'.repeat(Limits.PASSWORD_MAX_LENGTH + 1));
    expect(check).toMatchObject({ ok: false, score: 0, label: 'Very weak' });
  });

  it.each(['password123456', 'password123', 'qwertyuiop', '1234567890', 'iloveyou2024!'])(
    'refuses the common password %j as common',
    async (password) => {
      const check = await checkPassword(password);
      expect(check).toMatchObject({ ok: false, message: 'This is a commonly used password.' });
      expect(check.score).toBeLessThan(Limits.PASSWORD_MIN_SCORE);
      expect(['Very weak', 'Weak']).toContain(check.label);
    },
  );

  it('refuses a weak password that is not from a list, with zxcvbn’s reason', async () => {
    const check = await checkPassword('abcdefghijkl');
    expect(check.ok).toBe(false);
    expect(check.message).toEqual(expect.any(String));
    expect(check.message).not.toBe('This is a commonly used password.');
  });

  it('refuses a password containing the username, in any case', async () => {
    for (const [password, username] of [
      ['margaret-2024-09-lantern', 'margaret'],
      ['Tr0ub4dor&MARGARET', ' Margaret '],
    ] as const) {
      const check = await checkPassword(password, { username });
      expect(check, password).toMatchObject({
        ok: false,
        message: 'Don’t use your username in your password.',
      });
    }
  });

  it('accepts a strong passphrase and labels it for the meter', async () => {
    for (const password of ['violet tractor sings under 7 moons', 'monkey-lantern-quietly-41']) {
      const check = await checkPassword(password, { username: 'olivia' });
      expect(check, password).toMatchObject({ ok: true, message: null });
      expect(check.score).toBeGreaterThanOrEqual(Limits.PASSWORD_MIN_SCORE);
      expect(['Strong', 'Very strong']).toContain(check.label);
    }
  });
});
