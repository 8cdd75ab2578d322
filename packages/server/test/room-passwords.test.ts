/**
 * The cap on room-password hashing: at most `concurrency` argon2 computations at once, a
 * bounded queue behind them, and a refusal (not an ever-growing queue) past it. Real argon2.
 */
import { ChatError } from '@securechat/protocol';
import { describe, expect, it } from 'vitest';
import { createRoomPasswords, createWorkLimiter } from '../src/domain/rooms/passwords.js';

describe('room passwords', () => {
  it('hash and verify with argon2id', async () => {
    const passwords = createRoomPasswords();
    const hash = await passwords.hash('correct horse battery');
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(await passwords.verify(hash, 'correct horse battery')).toBe(true);
    expect(await passwords.verify(hash, 'wrong horse battery')).toBe(false);
  });

  it('never run more than the cap at once, queue the rest in order, refuse past the queue', async () => {
    const work = createWorkLimiter(2, 3);
    const passwords = createRoomPasswords(work);
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, work.running)), 1);
    const results = await Promise.allSettled(
      Array.from({ length: 7 }, (_, i) => passwords.hash(`password number ${i}`)),
    );
    clearInterval(sample);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    expect(refused).toHaveLength(2);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(ChatError);
      expect((r.reason as ChatError).code).toBe('CHAT_ERR_UNAVAILABLE');
      expect((r.reason as ChatError).retryAfter).toBe(1);
    }
    expect(peak).toBeLessThanOrEqual(2);
    expect([work.running, work.waiting]).toEqual([0, 0]);
  });

  it('free the slot of a task that fails', async () => {
    const work = createWorkLimiter(1, 1);
    const failing = work.run(() => Promise.reject(new Error('boom')));
    const next = work.run(() => Promise.resolve('ran'));
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe('ran');
    expect([work.running, work.waiting]).toEqual([0, 0]);
  });
});
