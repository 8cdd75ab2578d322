/**
 * Room passwords: argon2id hashes, computed under a per-process cap. Each hash takes 19 MiB
 * and tens of milliseconds of a core, so at most `concurrency` run at once; up to `queue`
 * more wait their turn, and past that the request is refused at once with
 * CHAT_ERR_UNAVAILABLE instead of piling up memory. Callers check access before asking for
 * a hash, so a request that would be refused never takes a slot.
 */
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { ChatError, Limits } from '@securechat/protocol';

/** argon2id, OWASP's second recommended profile (19 MiB, 2 passes). */
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Runs at most `concurrency` tasks at once, with a bounded queue behind them. */
export interface WorkLimiter {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Tasks running and waiting now. */
  readonly running: number;
  readonly waiting: number;
}

export function createWorkLimiter(concurrency: number, queue: number): WorkLimiter {
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  };
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running < concurrency) {
        running += 1;
      } else {
        if (waiting.length >= queue)
          throw new ChatError('CHAT_ERR_UNAVAILABLE', undefined, { retryAfter: 1 });
        // The slot passes straight from the finishing task to this one: `running` is unchanged.
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      try {
        return await task();
      } finally {
        release();
      }
    },
    get running() {
      return running;
    },
    get waiting() {
      return waiting.length;
    },
  };
}

export interface RoomPasswords {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** The cap every hash and verification goes through. */
  work: WorkLimiter;
}

export function createRoomPasswords(
  work = createWorkLimiter(
    Limits.ROOM_PASSWORD_HASHES_CONCURRENT_MAX,
    Limits.ROOM_PASSWORD_HASH_QUEUE_MAX,
  ),
): RoomPasswords {
  return {
    hash: (password) => work.run(() => argon2Hash(password, ARGON2)),
    verify: (hash, password) => work.run(() => argon2Verify(hash, password)),
    work,
  };
}
