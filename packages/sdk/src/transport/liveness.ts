/**
 * Client-side liveness: a socket can die without a close frame (a NAT entry dropped, a laptop
 * woken from sleep, a proxy that stopped forwarding), and then nothing tells the client. So
 * when nothing has been received for `intervalMs` (any frame counts), the client asks with a
 * probe (a `ping` request); when nothing at all arrives within `timeoutMs` of it (the pong or
 * any other frame), the socket is declared dead, to be closed and opened again.
 *
 * The browser also says when the network or the page came back (`online`, a page shown
 * again, a frozen page resumed): then the socket is checked at once instead of at the next
 * interval.
 */
import type { Clock, TimerHandle } from './clock.js';

/** Probe when nothing has been received for this long. */
export const PING_INTERVAL_MS = 25_000;
/** Declare the socket dead when nothing arrives this long after a probe. */
export const PING_TIMEOUT_MS = 10_000;
/** The close code of a socket the client gave up on (no reply to its probe). */
export const LIVENESS_CLOSE_CODE = 4000;
/**
 * A connection attempt that has not opened after this long is given up and tried again (a
 * handshake lost to a dead network would otherwise hang until the platform gives up).
 */
export const CONNECT_TIMEOUT_MS = 15_000;

export interface LivenessOptions {
  clock: Clock;
  intervalMs: number;
  timeoutMs: number;
  /** Write a probe on the socket (its reply, like any frame, is reported to `received`). */
  probe(): void;
  /** Nothing arrived within `timeoutMs` of a probe. */
  dead(): void;
}

/** Watches one socket at a time: `start` when it opens, `stop` when it goes. */
export class Liveness {
  private running = false;
  private lastReceived = 0;
  /** When the probe in flight was written, or null. */
  private probedAt: number | null = null;
  private timer: TimerHandle | null = null;

  constructor(private readonly options: LivenessOptions) {}

  start(): void {
    this.stop();
    this.running = true;
    this.lastReceived = this.options.clock.now();
    this.arm(this.options.intervalMs);
  }

  stop(): void {
    this.running = false;
    this.probedAt = null;
    this.disarm();
  }

  /** A frame arrived: the socket is alive. */
  received(): void {
    if (!this.running) return;
    this.lastReceived = this.options.clock.now();
    if (this.probedAt !== null) {
      this.probedAt = null;
      this.arm(this.options.intervalMs);
    }
  }

  /** Probe now (unless a probe is already waiting for its reply). */
  check(): void {
    if (!this.running || this.probedAt !== null) return;
    this.probe();
  }

  private probe(): void {
    this.probedAt = this.options.clock.now();
    this.arm(this.options.timeoutMs);
    this.options.probe();
  }

  private arm(ms: number): void {
    this.disarm();
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = null;
      this.fire();
    }, ms);
  }

  private disarm(): void {
    if (this.timer !== null) this.options.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(): void {
    if (!this.running) return;
    const now = this.options.clock.now();
    if (this.probedAt !== null) {
      // Nothing arrived since the probe (a frame would have cleared it).
      this.stop();
      this.options.dead();
      return;
    }
    const quiet = now - this.lastReceived;
    // Frames arrived meanwhile: wait out the rest of the interval from the last one.
    if (quiet < this.options.intervalMs) this.arm(this.options.intervalMs - quiet);
    else this.probe();
  }
}

/** Where the browser announces that the network or the page is back. */
export interface WakeSource {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

const isSource = (value: unknown): value is WakeSource =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Partial<WakeSource>).addEventListener === 'function' &&
  typeof (value as Partial<WakeSource>).removeEventListener === 'function';

/**
 * Call `wake` when the socket may be gone: with `back` true when the network or the page may
 * be back (`online`, the page shown again: `visibilitychange` to visible or `pageshow`, or
 * resumed after being frozen: `resume`), false when the network went `offline`. `source`: where these events fire (tests pass
 * their own); by default the global object and its `document`, when there is a global
 * `addEventListener` (browsers), else nothing is watched. Returns the function that stops
 * watching.
 */
export function watchWake(wake: (back: boolean) => void, source?: WakeSource | null): () => void {
  const global = globalThis as unknown as { document?: unknown };
  const windowSource = source === undefined ? (isSource(global) ? global : null) : source;
  if (!windowSource) return () => undefined;
  const documentSource =
    source === undefined && isSource(global.document) ? global.document : windowSource;
  const visible = () => {
    const state = (global.document as { visibilityState?: string } | undefined)?.visibilityState;
    if (state !== 'hidden') wake(true);
  };
  const back = () => wake(true);
  const offline = () => wake(false);
  const listeners: [WakeSource, string, () => void][] = [
    [windowSource, 'online', back],
    [windowSource, 'offline', offline],
    [windowSource, 'pageshow', back],
    [documentSource, 'visibilitychange', visible],
    [documentSource, 'resume', back],
  ];
  for (const [target, type, listener] of listeners) target.addEventListener(type, listener);
  return () => {
    for (const [target, type, listener] of listeners) target.removeEventListener(type, listener);
  };
}
