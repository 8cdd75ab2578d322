/**
 * The realtime token buckets (events/limits.ts), in process, on a clock the test moves. The
 * same behaviour through Redis, shared by two nodes, is in redis.test.ts.
 */
import { Limits, CLIENT_FRAME_TYPES } from '@securechat/protocol';
import { describe, expect, it } from 'vitest';
import { createMemoryLimiter, FRAME_BUDGETS, REALTIME_LIMITS } from '../src/events/limits.js';
import { createMemoryConnections } from '../src/events/connections.js';
import { manualClock, pacedWithStall } from './support/buckets.js';

describe('realtime token buckets (in process)', () => {
  const rate = Limits.SENDS_PER_SECOND_PER_DEVICE;

  it('are what the protocol documents: rate r, burst 2r', () => {
    expect(REALTIME_LIMITS.sendDevice).toEqual({ rate, burst: 2 * rate });
    expect(REALTIME_LIMITS.sendUser).toEqual({
      rate: Limits.SENDS_PER_SECOND_PER_USER,
      burst: 2 * Limits.SENDS_PER_SECOND_PER_USER,
    });
  });

  it('never refuse a sender paced at 95 % of the rate that stalls for 200 ms', async () => {
    for (const stallAtMs of [0, 130, 999, 1000, 1001, 4321]) {
      const clock = manualClock();
      const limiter = createMemoryLimiter({ now: clock.now });
      const refused = await pacedWithStall(limiter, clock, 'device', {
        rate,
        share: 0.95,
        seconds: 10,
        stallAtMs,
        stallMs: 200,
      });
      expect({ stallAtMs, refused }).toEqual({ stallAtMs, refused: 0 });
    }
  });

  it('let a burst of 2r through, then refuse until a token is back, then allow the rate', async () => {
    const clock = manualClock();
    const limiter = createMemoryLimiter({ now: clock.now });
    for (let i = 0; i < 2 * rate; i += 1)
      expect(await limiter.consume('sendDevice', 'd')).toBeNull();
    expect(await limiter.consume('sendDevice', 'd')).toBe(1);
    // Another key has its own bucket.
    expect(await limiter.consume('sendDevice', 'other')).toBeNull();
    clock.advance(1000 / rate - 1);
    expect(await limiter.consume('sendDevice', 'd')).toBe(1);
    clock.advance(1);
    expect(await limiter.consume('sendDevice', 'd')).toBeNull();
    // One second later: r more, not 2r.
    clock.advance(1000);
    let allowed = 0;
    while ((await limiter.consume('sendDevice', 'd')) === null) allowed += 1;
    expect(allowed).toBe(rate);
  });

  it('keep refusing a sender over the rate, and hold at most 2r after a long pause', async () => {
    const clock = manualClock();
    const limiter = createMemoryLimiter({ now: clock.now });
    let allowed = 0;
    // Twice the rate for 10 s: the burst plus ten seconds' worth of tokens.
    for (let i = 0; i < 20 * rate; i += 1) {
      if ((await limiter.consume('sendDevice', 'd')) === null) allowed += 1;
      clock.advance(1000 / (2 * rate));
    }
    expect(allowed).toBeGreaterThanOrEqual(12 * rate - 1);
    expect(allowed).toBeLessThanOrEqual(12 * rate + 1);
    clock.advance(3_600_000);
    allowed = 0;
    while ((await limiter.consume('sendDevice', 'd')) === null) allowed += 1;
    expect(allowed).toBe(2 * rate);
  });

  it('name a retry time that is long enough, for slow buckets too', async () => {
    const clock = manualClock();
    const limiter = createMemoryLimiter({ now: clock.now });
    const { burst } = REALTIME_LIMITS.keyPackageClaims;
    for (let i = 0; i < burst; i += 1)
      expect(await limiter.consume('keyPackageClaims', 'u')).toBeNull();
    const wait = await limiter.consume('keyPackageClaims', 'u');
    expect(wait).toBe(2); // 30 a minute: one every 2 s
    clock.advance((wait ?? 0) * 1000);
    expect(await limiter.consume('keyPackageClaims', 'u')).toBeNull();
  });

  it('give every client frame type a budget', () => {
    for (const type of CLIENT_FRAME_TYPES) {
      const budget = FRAME_BUDGETS[type];
      expect(budget === 'send' || budget in REALTIME_LIMITS, type).toBe(true);
    }
    expect(Object.keys(FRAME_BUDGETS).sort()).toEqual([...CLIENT_FRAME_TYPES].sort());
  });
});

describe('the per-user connection cap (in process)', () => {
  it('decides at once, so upgrades racing for the last slot cannot both win', async () => {
    const slots = createMemoryConnections();
    const attempts = Array.from({ length: 50 }, (_, i) => slots.reserve('u', `c${i}`, 20));
    const results = await Promise.all(attempts);
    expect(results.filter(Boolean)).toHaveLength(20);
    await slots.release('u', 'c0');
    await slots.release('u', 'c0'); // twice: still one slot
    expect(await slots.reserve('u', 'again', 20)).toBe(true);
    expect(await slots.reserve('u', 'one-more', 20)).toBe(false);
    expect(await slots.reserve('someone-else', 'c0', 20)).toBe(true);
  });
});
