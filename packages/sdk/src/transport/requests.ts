/**
 * Requests and their replies: each request gets an id on the connection and exactly one
 * settlement — the reply with that id, a timeout, or the loss of the socket it went out on.
 * A frame the server would refuse for its size is refused here, before it is written: the
 * server closes a socket that sends more than FRAME_MAX_BYTES.
 */
import {
  ChatError,
  encodeFrame,
  FRAME_VERSION,
  Limits,
  type ClientFrame,
  type ServerFrame,
} from '@securechat/protocol';
import type { Clock, TimerHandle } from './clock.js';

/** A client frame without its envelope (`v` and `id` are added when it is written). */
export type Request = ClientFrame extends infer F
  ? F extends ClientFrame
    ? Omit<F, 'v' | 'id'>
    : never
  : never;
/** Every server frame that answers a request. */
export type Reply = Exclude<
  ServerFrame,
  { t: 'event' } | { t: 'typing' } | { t: 'presence' } | { t: 'receipt' } | { t: 'inbox-message' }
>;
export type ReplyOf<T extends Reply['t']> = Extract<Reply, { t: T }>;
export type ErrorReply = ReplyOf<'error'>;

/** The largest request id: also what size checks assume, so a checked frame always fits. */
const MAX_ID = 2 ** 31 - 1;

/** How one request ends. Exactly one of these is called, once. */
export interface Settle {
  reply(frame: Reply): void;
  /** No reply will come: the socket went down, the time ran out, or the frame was refused. */
  fail(error: ChatError): void;
}

interface Pending {
  settle: Settle;
  timer: TimerHandle | null;
}

/** The ChatError an error frame stands for. */
export function errorOf(frame: ErrorReply): ChatError {
  return new ChatError(frame.code, frame.message, {
    ...(frame.retryAfter === undefined ? {} : { retryAfter: frame.retryAfter }),
    ...(frame.epoch === undefined ? {} : { epoch: frame.epoch }),
  });
}

/** The bytes of a request as written with the largest id; for size checks. */
export function worstCaseSize(frame: Request): number {
  return encodeFrame({ ...frame, v: FRAME_VERSION, id: MAX_ID }).byteLength;
}

export function frameTooLarge(size: number): ChatError {
  return new ChatError(
    'CHAT_ERR_TOO_LARGE',
    `This is too large to send: ${size} bytes where at most ${Limits.FRAME_MAX_BYTES} fit in one frame.`,
    { field: 'payload' },
  );
}

export const connectionLost = () =>
  new ChatError('CHAT_ERR_UNAVAILABLE', 'The connection was lost before the server answered.');

export class Requests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    /** Write bytes to the open socket; false when there is none. */
    private readonly write: (bytes: Uint8Array) => boolean,
    private readonly clock: Clock,
    /** A request went unanswered in time: the socket may be dead (see `liveness.ts`). */
    private readonly timedOut: () => void = () => undefined,
  ) {}

  /**
   * Write a request. `timeoutMs` null: no timeout (the caller bounds it). Settles at once with
   * a failure when there is no open socket or the frame is too large.
   */
  start(frame: Request, settle: Settle, timeoutMs: number | null): void {
    const id = this.nextId;
    this.nextId = this.nextId >= MAX_ID ? 1 : this.nextId + 1;
    const bytes = encodeFrame({ ...frame, v: FRAME_VERSION, id });
    if (bytes.byteLength > Limits.FRAME_MAX_BYTES) {
      settle.fail(frameTooLarge(bytes.byteLength));
      return;
    }
    const entry: Pending = { settle, timer: null };
    this.pending.set(id, entry);
    if (!this.write(bytes)) {
      this.pending.delete(id);
      settle.fail(new ChatError('CHAT_ERR_UNAVAILABLE', 'Not connected.'));
      return;
    }
    if (timeoutMs !== null) {
      entry.timer = this.clock.setTimeout(() => {
        if (this.pending.get(id) !== entry) return;
        this.pending.delete(id);
        settle.fail(new ChatError('CHAT_ERR_UNAVAILABLE', 'The server did not answer in time.'));
        this.timedOut();
      }, timeoutMs);
    }
  }

  /** One request as a promise: the reply of type T, or a ChatError (error frames included). */
  ask<T extends Reply['t']>(frame: Request, timeoutMs: number | null): Promise<ReplyOf<T>> {
    return new Promise((resolve, reject) => {
      this.start(
        frame,
        {
          reply: (reply) => {
            if (reply.t === 'error') reject(errorOf(reply));
            else resolve(reply as ReplyOf<T>);
          },
          fail: reject,
        },
        timeoutMs,
      );
    });
  }

  /** A reply arrived; false when nothing waits for its id (late, after a timeout). */
  settle(frame: Reply): boolean {
    if (frame.id === null) return false;
    const entry = this.pending.get(frame.id);
    if (!entry) return false;
    this.pending.delete(frame.id);
    if (entry.timer !== null) this.clock.clearTimeout(entry.timer);
    entry.settle.reply(frame);
    return true;
  }

  /** The socket went down: nothing in flight will be answered. */
  failAll(error: ChatError): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) {
      if (entry.timer !== null) this.clock.clearTimeout(entry.timer);
      entry.settle.fail(error);
    }
  }
}
