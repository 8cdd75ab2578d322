/**
 * The outbox: sends waiting for their ack. Each entry is checked before it is queued (size
 * and shape, so the server never has to refuse or close the socket over it), goes out when
 * the connection lets it, is written again with the same client message id after a
 * reconnect (the server's idempotency makes that safe), and ends exactly once: acked, refused
 * by the server with a permanent error, or given up after OUTBOX_ENTRY_MAX_AGE_MS — each
 * visible to the caller, and the entry removed.
 */
import {
  ChatError,
  decodeClientFrame,
  encodeFrame,
  FRAME_VERSION,
  Limits,
  type ClientFrame,
} from '@securechat/protocol';
import { toBase64url } from '../base64url.js';
import type { Clock, TimerHandle } from './clock.js';
import { errorOf, frameTooLarge, worstCaseSize, type ReplyOf, type Requests } from './requests.js';
import { epochOf, roomIdOf, seqOf } from './ids.js';

/** How long a send may wait for its ack (offline, or unanswered) before it fails visibly. */
export const OUTBOX_ENTRY_MAX_AGE_MS = 5 * 60_000;

/**
 * The largest payload one send may carry, in bytes: what a composer shows as its limit. (A
 * commit's group-info blob counts against the frame limit too; `checkSend` says the rest.)
 */
export const SEND_PAYLOAD_MAX_BYTES = Limits.PAYLOAD_MAX_BYTES;

/** One send, with exactly the fields of its kind (as the `send` frame). */
export type SendInput = {
  room: string;
  payload: Uint8Array;
  /** Idempotency key; one is made when absent. */
  cmid?: string | undefined;
} &
  /** Message, edit, reaction: the MLS epoch the payload was encrypted in (checked). */
  (
    | { kind: 'message'; epoch?: number | undefined; file?: string | undefined }
    /** Edit and reaction: the seq of the message they are about. */
    | { kind: 'edit' | 'reaction'; target: number; epoch?: number | undefined }
    /** Commit: the epoch it was made in, and the group-info blob of the epoch it starts. */
    | { kind: 'commit'; epoch: number; groupInfo?: string | undefined }
  );

export type Ack = ReplyOf<'ack'>;
type SendFrame = Extract<ClientFrame, { t: 'send' }>;
type SendRequest = SendFrame extends infer F
  ? F extends SendFrame
    ? Omit<F, 'v' | 'id'>
    : never
  : never;

/**
 * Sends on the wire at once: the server refuses requests beyond
 * REQUESTS_IN_FLIGHT_PER_CONNECTION, and other requests (a resume) need room too.
 */
export const OUTBOX_IN_FLIGHT_MAX = Math.floor(Limits.REQUESTS_IN_FLIGHT_PER_CONNECTION / 2);

/** Server answers after which the same send may succeed later: it is kept and retried. */
const TRANSIENT = new Set(['CHAT_ERR_RATE_LIMITED', 'CHAT_ERR_UNAVAILABLE']);
/** Wait before retrying after a transient refusal that named no time. */
const TRANSIENT_RETRY_MS = 1000;

export function newCmid(): string {
  return toBase64url(crypto.getRandomValues(new Uint8Array(12)));
}

const epochField = (epoch: number | undefined) =>
  epoch === undefined ? {} : { epoch: epochOf(epoch) };

export function sendFrame(input: SendInput): SendRequest {
  const base = {
    t: 'send',
    room: roomIdOf(input.room),
    cmid: input.cmid ?? newCmid(),
    payload: input.payload,
  };
  switch (input.kind) {
    case 'message':
      return {
        ...base,
        t: 'send',
        kind: 'message',
        ...epochField(input.epoch),
        ...(input.file === undefined ? {} : { file: input.file }),
      };
    case 'edit':
    case 'reaction':
      return {
        ...base,
        t: 'send',
        kind: input.kind,
        target: seqOf(input.target),
        ...epochField(input.epoch),
      };
    case 'commit':
      return {
        ...base,
        t: 'send',
        kind: 'commit',
        epoch: epochOf(input.epoch),
        ...(input.groupInfo === undefined ? {} : { groupInfo: input.groupInfo }),
      };
  }
}

/**
 * Why the server would refuse this send for what it is (too large, ill-formed), or null. Use
 * it to warn in a composer before sending; `send` refuses with the same error.
 */
export function checkSend(frame: SendRequest): ChatError | null {
  if (frame.payload.byteLength > Limits.PAYLOAD_MAX_BYTES) {
    return new ChatError(
      'CHAT_ERR_TOO_LARGE',
      `This is too long to send: ${frame.payload.byteLength} bytes where at most ${Limits.PAYLOAD_MAX_BYTES} are allowed.`,
      { field: 'payload' },
    );
  }
  const size = worstCaseSize(frame);
  if (size > Limits.FRAME_MAX_BYTES) return frameTooLarge(size);
  const decoded = decodeClientFrame(encodeFrame({ ...frame, v: FRAME_VERSION, id: 1 }));
  if (!decoded.ok) return new ChatError('CHAT_ERR_VALIDATION', 'This send is not well-formed.');
  return null;
}

interface Entry {
  frame: SendRequest;
  waiters: { resolve: (ack: Ack) => void; reject: (error: ChatError) => void }[];
  expiry: TimerHandle;
  inFlight: boolean;
}

export interface OutboxOptions {
  requests: Requests;
  clock: Clock;
  maxAgeMs: number;
  /** Whether entries may be written now (socket open, not catching up). */
  canTransmit: () => boolean;
  /** A send was acknowledged (before its caller hears of it). */
  acked: (ack: Ack) => void;
}

export class Outbox {
  private readonly entries = new Map<string, Entry>();
  /** After a transient refusal: nothing is written before this time. */
  private holdUntil = 0;
  private holdTimer: TimerHandle | null = null;

  constructor(private readonly options: OutboxOptions) {}

  /** Sends waiting for their ack. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Queue a send; resolves with its ack. Refuses at once, queueing nothing, what the server
   * would refuse for its size or shape. The same cmid again joins the entry already queued.
   */
  add(input: SendInput): Promise<Ack> {
    const frame = sendFrame(input);
    return new Promise((resolve, reject) => {
      const queued = this.entries.get(frame.cmid);
      if (queued) {
        queued.waiters.push({ resolve, reject });
        return;
      }
      const problem = checkSend(frame);
      if (problem) {
        reject(problem);
        return;
      }
      const entry: Entry = {
        frame,
        waiters: [{ resolve, reject }],
        inFlight: false,
        expiry: this.options.clock.setTimeout(() => {
          this.finish(entry, new ChatError('CHAT_ERR_SEND_EXPIRED'));
          this.flush();
        }, this.options.maxAgeMs),
      };
      this.entries.set(frame.cmid, entry);
      this.flush();
    });
  }

  /**
   * Write the entries not on the wire, oldest first, while the connection lets us and at most
   * OUTBOX_IN_FLIGHT_MAX are waiting for their answers.
   */
  flush(): void {
    if (this.options.clock.now() < this.holdUntil) return;
    let inFlight = 0;
    for (const entry of this.entries.values()) if (entry.inFlight) inFlight += 1;
    for (const entry of [...this.entries.values()]) {
      if (inFlight >= OUTBOX_IN_FLIGHT_MAX || !this.options.canTransmit()) return;
      if (entry.inFlight || this.entries.get(entry.frame.cmid) !== entry) continue;
      this.transmit(entry);
      if (entry.inFlight) inFlight += 1;
    }
  }

  /** Stop: every entry is refused with `error`. */
  failAll(error: ChatError): void {
    if (this.holdTimer !== null) this.options.clock.clearTimeout(this.holdTimer);
    this.holdTimer = null;
    for (const entry of [...this.entries.values()]) this.finish(entry, error);
  }

  private transmit(entry: Entry): void {
    entry.inFlight = true;
    this.options.requests.start(
      entry.frame,
      {
        reply: (reply) => {
          entry.inFlight = false;
          if (this.entries.get(entry.frame.cmid) !== entry) return; // expired meanwhile
          if (reply.t === 'ack') {
            this.options.acked(reply);
            this.finish(entry, reply);
            this.flush();
          } else if (reply.t === 'error' && TRANSIENT.has(reply.code)) {
            this.hold(
              reply.retryAfter === undefined ? TRANSIENT_RETRY_MS : reply.retryAfter * 1000,
            );
          } else if (reply.t === 'error') {
            this.finish(entry, errorOf(reply));
            this.flush();
          } else {
            this.finish(
              entry,
              new ChatError('CHAT_ERR_INTERNAL', 'The server answered a send oddly.'),
            );
          }
        },
        // Not answered (socket down): it waits for the next flush, with the same cmid.
        fail: () => {
          entry.inFlight = false;
        },
      },
      null,
    );
  }

  private hold(ms: number): void {
    this.holdUntil = Math.max(this.holdUntil, this.options.clock.now() + ms);
    this.armHold();
  }

  private armHold(): void {
    if (this.holdTimer !== null) return;
    this.holdTimer = this.options.clock.setTimeout(
      () => {
        this.holdTimer = null;
        if (this.options.clock.now() < this.holdUntil) this.armHold();
        else this.flush();
      },
      Math.max(0, this.holdUntil - this.options.clock.now()),
    );
  }

  private finish(entry: Entry, outcome: Ack | ChatError): void {
    if (this.entries.get(entry.frame.cmid) !== entry) return;
    this.entries.delete(entry.frame.cmid);
    this.options.clock.clearTimeout(entry.expiry);
    for (const waiter of entry.waiters) {
      if (outcome instanceof ChatError) waiter.reject(outcome);
      else waiter.resolve(outcome);
    }
  }
}
