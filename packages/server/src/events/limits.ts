/**
 * Token-bucket limits for realtime actions, keyed per device, per user or per user and room.
 * Each bucket holds up to `burst` tokens and gains `rate` tokens a second; an action takes
 * one, and is refused (with the seconds until a token is back) when none is left. So a
 * client may go as fast as the rate forever, and catch up after a pause by up to `burst`.
 *
 * In-process here; events/redis.ts keeps the same buckets in Redis (one atomic script per
 * take) so a user cannot multiply their allowance by connecting to several nodes.
 */
import { Limits, type ClientFrameType } from '@securechat/protocol';

/** A bucket's shape: it refills at `rate` tokens a second up to `burst` tokens. */
export interface Bucket {
  rate: number;
  burst: number;
}

/** A fixed allowance per period, as a bucket: full at the start, refilled over the period. */
const perPeriod = (points: number, seconds: number): Bucket => ({
  rate: points / seconds,
  burst: points,
});
/** A steady rate with room to catch up after a pause: the send limits' shape. */
const perSecond = (rate: number, burst = 2 * rate): Bucket => ({ rate, burst });

/** What is limited, and its allowance (the send limits as the product ships them). */
export const REALTIME_LIMITS = {
  sendDevice: perSecond(Limits.SENDS_PER_SECOND_PER_DEVICE),
  sendUser: perSecond(Limits.SENDS_PER_SECOND_PER_USER),
  keyPackageClaims: perPeriod(Limits.KEY_PACKAGE_CLAIMS_PER_MINUTE, 60),
  roomPassword: perPeriod(Limits.ROOM_PASSWORD_ATTEMPTS_PER_15_MIN, 15 * 60),
  deleteCode: perPeriod(Limits.DELETE_CODES_PER_MINUTE, 60),
  /** Blob uploads over HTTP (http/blobs.ts), per user. */
  blobUploads: perPeriod(Limits.BLOB_UPLOADS_PER_MINUTE_PER_USER, 60),
  /** File uploads over HTTP (http/files.ts), per user. */
  fileUploads: perPeriod(Limits.FILE_UPLOADS_PER_MINUTE_PER_USER, 60),
  // Per user, by kind of request (FRAME_BUDGETS below): what any one frame type may cost.
  framePings: perSecond(Limits.PINGS_PER_SECOND_PER_USER, Limits.PINGS_BURST_PER_USER),
  frameTyping: perSecond(Limits.TYPING_PER_SECOND_PER_USER, Limits.TYPING_BURST_PER_USER),
  frameReceipts: perSecond(Limits.RECEIPTS_PER_SECOND_PER_USER, Limits.RECEIPTS_BURST_PER_USER),
  framePresence: perPeriod(Limits.PRESENCE_CHANGES_PER_MINUTE_PER_USER, 60),
  frameReads: perSecond(Limits.READS_PER_SECOND_PER_USER, Limits.READS_BURST_PER_USER),
  frameLookups: perSecond(Limits.LOOKUPS_PER_SECOND_PER_USER, Limits.LOOKUPS_BURST_PER_USER),
  frameRoomChanges: perPeriod(Limits.ROOM_CHANGES_PER_MINUTE_PER_USER, 60),
  frameKeys: perSecond(Limits.KEY_REQUESTS_PER_SECOND_PER_USER, Limits.KEY_REQUESTS_BURST_PER_USER),
} as const satisfies Record<string, Bucket>;
export type RealtimeLimit = keyof typeof REALTIME_LIMITS;
export type RealtimeBuckets = Record<RealtimeLimit, Bucket>;

/** The sends a device and a user may make per second (RATE_LIMIT_SENDS_PER_SECOND_PER_*). */
export interface SendRates {
  perDevice: number;
  perUser: number;
}

/**
 * The allowances with the operator's send rates (config.ts): busy rooms raise them, the
 * rest stays as shipped. Each keeps the shape of the shipped one (a burst of twice the rate).
 */
export function realtimeLimits(sends: SendRates): RealtimeBuckets {
  return {
    ...REALTIME_LIMITS,
    sendDevice: perSecond(sends.perDevice),
    sendUser: perSecond(sends.perUser),
  };
}

/**
 * The budget each client frame type is charged against, per user, before it is handled
 * (realtime/gateway.ts). `send` and `inbox-send` are charged instead by their handler against
 * the send buckets (per device and per user), which is where their documented limit lives.
 * Typing and presence fan out to every member of a room (all of #general), so their buckets
 * are small; reads and lookups query the database, room changes write it.
 */
export const FRAME_BUDGETS = {
  send: 'send',
  'inbox-send': 'send',
  ping: 'framePings',
  typing: 'frameTyping',
  presence: 'framePresence',
  receipt: 'frameReceipts',
  receipts: 'frameReads',
  history: 'frameReads',
  resume: 'frameReads',
  rooms: 'frameReads',
  members: 'frameReads',
  blocked: 'frameReads',
  'group-info': 'frameReads',
  'inbox-fetch': 'frameReads',
  directory: 'frameLookups',
  users: 'frameLookups',
  create: 'frameRoomChanges',
  direct: 'frameRoomChanges',
  join: 'frameRoomChanges',
  leave: 'frameRoomChanges',
  invite: 'frameRoomChanges',
  kick: 'frameRoomChanges',
  role: 'frameRoomChanges',
  transfer: 'frameRoomChanges',
  settings: 'frameRoomChanges',
  mute: 'frameRoomChanges',
  block: 'frameRoomChanges',
  delete: 'frameRoomChanges',
  'delete-code': 'frameRoomChanges',
  'kp-upload': 'frameKeys',
  'kp-claim': 'frameKeys',
  'inbox-ack': 'frameKeys',
  'identity-keys': 'frameKeys',
} as const satisfies Record<ClientFrameType, RealtimeLimit | 'send'>;

export interface RealtimeLimiter {
  /** Take one token from this key's bucket. Returns null when allowed, or the seconds to wait. */
  consume(limit: RealtimeLimit, key: string): Promise<number | null>;
  close(): Promise<void>;
}

/** Whole seconds to wait for the next token (at least 1: a client retries no sooner). */
export const secondsUntil = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

export interface MemoryLimiterOptions {
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
  /** Buckets kept at most; the least recently used full ones are forgotten first. */
  maxKeys?: number;
  /** Told of every refusal, by the limit's name (the metrics count them). */
  onRefused?: (limit: RealtimeLimit) => void;
  /** The allowances (default: as shipped, REALTIME_LIMITS). */
  limits?: RealtimeBuckets;
}

/**
 * Buckets in this process. A bucket that has refilled completely is the same as no bucket,
 * so idle keys are dropped once full and memory stays bounded by the active keys.
 */
export function createMemoryBuckets(options: MemoryLimiterOptions = {}) {
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    /** Take a token: null when allowed, else milliseconds until one is back. */
    take(key: string, { rate, burst }: Bucket): number | null {
      const at = now();
      const state = buckets.get(key);
      let tokens = burst;
      if (state) {
        // A clock that went back refills nothing (and takes nothing back).
        tokens = Math.min(burst, state.tokens + (Math.max(0, at - state.at) * rate) / 1000);
        buckets.delete(key); // re-inserted below: the Map's order is least recently used first
      }
      const allowed = tokens >= 1;
      if (allowed) tokens -= 1;
      buckets.set(key, { tokens, at });
      if (buckets.size > maxKeys) {
        const oldest = buckets.keys().next().value;
        if (oldest !== undefined) buckets.delete(oldest);
      }
      return allowed ? null : Math.ceil(((1 - tokens) * 1000) / rate);
    },
  };
}

export function createMemoryLimiter(options: MemoryLimiterOptions = {}): RealtimeLimiter {
  const buckets = createMemoryBuckets(options);
  const limits = options.limits ?? REALTIME_LIMITS;
  return {
    consume(limit, key) {
      const wait = buckets.take(`${limit}:${key}`, limits[limit]);
      if (wait === null) return Promise.resolve(null);
      options.onRefused?.(limit);
      return Promise.resolve(secondsUntil(wait));
    },
    close: () => Promise.resolve(),
  };
}
