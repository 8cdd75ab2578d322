/** Helpers for the token-bucket tests: a clock the test moves, and a paced sender. */
import type { RealtimeLimiter } from '../../src/events/limits.js';

/** A clock the test moves. */
export function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/**
 * A sender paced evenly at `share` of the rate for `seconds`, that stalls once for `stallMs`
 * (a GC pause, a slow network) and then sends what it held back at once, as a client's
 * outbox does. Returns how many of its sends were refused.
 */
export async function pacedWithStall(
  limiter: RealtimeLimiter,
  clock: { advance(ms: number): void },
  key: string,
  options: { rate: number; share: number; seconds: number; stallAtMs: number; stallMs: number },
): Promise<number> {
  const interval = 1000 / (options.rate * options.share);
  let refused = 0;
  let elapsed = 0;
  let held = 0;
  let stalled = false;
  for (let sent = 0; elapsed < options.seconds * 1000;) {
    if (!stalled && elapsed >= options.stallAtMs) {
      stalled = true;
      held = Math.floor(options.stallMs / interval);
      clock.advance(options.stallMs);
      elapsed += options.stallMs;
      for (; held > 0; held -= 1, sent += 1)
        if ((await limiter.consume('sendDevice', key)) !== null) refused += 1;
    }
    if ((await limiter.consume('sendDevice', key)) !== null) refused += 1;
    sent += 1;
    clock.advance(interval);
    elapsed += interval;
  }
  return refused;
}
