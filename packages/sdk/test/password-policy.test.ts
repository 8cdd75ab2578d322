import { describe, expect, it } from 'vitest';
import { checkPassword } from '../src/accounts/password-policy.js';

describe('checkPassword', () => {
  it('refuses passwords shorter than 10 characters', async () => {
    const check = await checkPassword('Xk9!qz');
    expect(check).toMatchObject({ ok: false, message: 'Use at least 10 characters.' });
  });

  it('refuses common passwords even when long enough', async () => {
    for (const password of ['password123', 'qwertyuiop', '1234567890']) {
      const check = await checkPassword(password);
      expect(check.ok, password).toBe(false);
      expect(check.score, password).toBeLessThan(3);
    }
  });

  it('refuses a password built on the username', async () => {
    const check = await checkPassword('margaret-2024-09', { username: 'margaret' });
    expect(check).toMatchObject({
      ok: false,
      message: 'Don’t use your username in your password.',
    });
  });

  it('accepts a strong passphrase and labels it for the meter', async () => {
    const check = await checkPassword('violet tractor sings under 7 moons');
    expect(check).toMatchObject({ ok: true, message: null });
    expect(check.score).toBeGreaterThanOrEqual(3);
    expect(['Strong', 'Very strong']).toContain(check.label);
  });
});
