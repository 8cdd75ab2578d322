/**
 * Token-bucket limits for realtime actions, keyed per device and per user. In-process here;
 * events/redis.ts shares the buckets between nodes so a user cannot multiply their allowance
 * by connecting to several.
 */
import { Limits } from '@securechat/protocol';
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** What is limited, and its allowance. */
export const REALTIME_LIMITS = {
  sendDevice: { points: Limits.SENDS_PER_SECOND_PER_DEVICE, duration: 1 },
  sendUser: { points: Limits.SENDS_PER_SECOND_PER_USER, duration: 1 },
  keyPackageClaims: { points: Limits.KEY_PACKAGE_CLAIMS_PER_MINUTE, duration: 60 },
  roomPassword: { points: Limits.ROOM_PASSWORD_ATTEMPTS_PER_15_MIN, duration: 15 * 60 },
  deleteCode: { points: Limits.DELETE_CODES_PER_MINUTE, duration: 60 },
} as const;
export type RealtimeLimit = keyof typeof REALTIME_LIMITS;

export interface RealtimeLimiter {
  /**
   * Take one point from each key's bucket. Returns null when allowed, or the seconds to wait.
   */
  consume(limit: RealtimeLimit, key: string): Promise<number | null>;
  close(): Promise<void>;
}

export function limiterFrom(
  make: (limit: RealtimeLimit) => RateLimiterAbstract,
  close: () => Promise<void> = () => Promise.resolve(),
): RealtimeLimiter {
  const limiters = new Map<RealtimeLimit, RateLimiterAbstract>();
  return {
    async consume(limit, key) {
      let limiter = limiters.get(limit);
      if (!limiter) {
        limiter = make(limit);
        limiters.set(limit, limiter);
      }
      try {
        await limiter.consume(key);
        return null;
      } catch (error) {
        if (error instanceof RateLimiterRes)
          return Math.max(1, Math.ceil(error.msBeforeNext / 1000));
        throw error;
      }
    },
    close,
  };
}

export function createMemoryLimiter(): RealtimeLimiter {
  return limiterFrom(
    (limit) => new RateLimiterMemory({ keyPrefix: `rt-${limit}`, ...REALTIME_LIMITS[limit] }),
  );
}
