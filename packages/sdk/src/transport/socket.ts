/**
 * The socket layer: one WebSocket at a time, re-opened with jittered exponential backoff
 * until stopped. It knows nothing of frames; it hands bytes up and says when a socket opened
 * or went down. It also checks that the open socket is alive (`liveness.ts`): after a quiet
 * interval it asks the layer above for a probe, and a socket that then stays silent is
 * closed and re-opened like one that went down.
 */
import type { Backoff, Clock, TimerHandle } from './clock.js';
import {
  CONNECT_TIMEOUT_MS,
  Liveness,
  LIVENESS_CLOSE_CODE,
  PING_INTERVAL_MS,
  PING_TIMEOUT_MS,
  watchWake,
  type WakeSource,
} from './liveness.js';

/** The part of the WebSocket API we use (browser WebSocket and the `ws` package both fit). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type SocketFactory = (url: string, headers: Record<string, string>) => SocketLike;

/** The close code the server uses when a socket's session has ended. */
export const SESSION_ENDED_CLOSE_CODE = 4001;

const OPEN = 1;

export interface SocketOptions {
  url: string;
  openSocket: SocketFactory;
  /** Headers for the upgrade (Node only: cookie and Origin). */
  headers: () => Promise<Record<string, string>>;
  clock: Clock;
  backoff: Backoff;
  /** Probe after this long with nothing received (default PING_INTERVAL_MS). */
  pingIntervalMs?: number | undefined;
  /** Re-open when nothing arrives this long after a probe (default PING_TIMEOUT_MS). */
  pingTimeoutMs?: number | undefined;
  /** Where `online`/`offline`/page events fire; default: the browser's, if any (null: none). */
  wakeSource?: WakeSource | null | undefined;
  /** Give up on an attempt that has not opened after this long (default CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number | undefined;
}

export interface SocketEvents {
  /** A new socket opened; `generation` names it until it goes down. */
  opened(generation: number): void;
  received(bytes: Uint8Array): void;
  /** Write a probe (a `ping`): the open socket has been quiet, or may be dead. */
  probe(): void;
  /** The socket went down (or could not be opened); a new attempt is scheduled. */
  down(): void;
  /** The server ended the session (close code 4001): no new attempt is made. */
  sessionEnded(): void;
}

export class ReconnectingSocket {
  private socket: SocketLike | null = null;
  private generation = 0;
  private stopped = false;
  private timer: TimerHandle | null = null;
  /** Running while the current socket is still connecting. */
  private connectTimer: TimerHandle | null = null;
  private readonly liveness: Liveness;
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly options: SocketOptions,
    private readonly events: SocketEvents,
  ) {
    this.liveness = new Liveness({
      clock: options.clock,
      intervalMs: options.pingIntervalMs ?? PING_INTERVAL_MS,
      timeoutMs: options.pingTimeoutMs ?? PING_TIMEOUT_MS,
      probe: () => this.events.probe(),
      dead: () => this.reopen(LIVENESS_CLOSE_CODE, 'no reply to ping'),
    });
  }

  start(): void {
    if (this.stopped) return;
    this.unwatch ??= watchWake((back) => this.wake(back), this.options.wakeSource);
    void this.open();
  }

  /** The generation of the socket that is open now, or null. */
  get openGeneration(): number | null {
    return this.socket?.readyState === OPEN ? this.generation : null;
  }

  /** Write to the open socket; false when there is none. */
  send(bytes: Uint8Array): boolean {
    if (this.socket?.readyState !== OPEN) return false;
    this.socket.send(bytes);
    return true;
  }

  /**
   * The socket may be dead (a request timed out, the network changed): probe it now rather
   * than at the end of the quiet interval.
   */
  checkLiveness(): void {
    this.liveness.check();
  }

  /** The socket proved healthy: the next reconnect starts again from the shortest delay. */
  healthy(): void {
    this.options.backoff.reset();
  }

  /** Close for good: no more attempts. */
  stop(code = 1000, reason = 'closed by the client'): void {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = null;
    this.liveness.stop();
    this.stopConnectTimer();
    if (this.timer !== null) this.options.clock.clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(code, reason);
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    let socket: SocketLike;
    try {
      const headers = await this.options.headers();
      if (this.stopped) return;
      socket = this.options.openSocket(this.options.url, headers);
    } catch {
      this.retry();
      return;
    }
    const generation = ++this.generation;
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    this.stopConnectTimer();
    this.connectTimer = this.options.clock.setTimeout(() => {
      this.connectTimer = null;
      if (this.socket === socket && socket.readyState !== OPEN)
        this.reopen(LIVENESS_CLOSE_CODE, 'connection attempt timed out');
    }, this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.stopConnectTimer();
      this.liveness.start();
      this.events.opened(generation);
    };
    socket.onmessage = (message) => {
      if (this.socket !== socket) return;
      const data = message.data;
      const bytes =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : data instanceof Uint8Array
            ? data
            : null;
      if (!bytes) return;
      this.liveness.received();
      this.events.received(bytes);
    };
    socket.onerror = () => undefined;
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.stopConnectTimer();
      this.liveness.stop();
      if (event.code === SESSION_ENDED_CLOSE_CODE) {
        this.stop();
        this.events.sessionEnded();
        return;
      }
      this.retry();
    };
  }

  /**
   * Give up on the socket at once, without waiting for its close handshake (on a dead
   * socket it never completes): it goes down now and is re-opened with the usual backoff.
   */
  private reopen(code: number, reason: string): void {
    const socket = this.socket;
    if (this.stopped || !socket) return;
    this.socket = null;
    this.stopConnectTimer();
    this.liveness.stop();
    try {
      socket.close(code, reason);
    } catch {
      // Already closing: it is detached either way.
    }
    this.retry();
  }

  private stopConnectTimer(): void {
    if (this.connectTimer !== null) this.options.clock.clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  /** `back`: the network or the page is back; else it went offline. */
  private wake(back: boolean): void {
    if (this.stopped) return;
    if (this.socket) {
      this.liveness.check();
    } else if (back && this.timer !== null) {
      // Waiting out a backoff: the reason for it may be gone, try now.
      this.options.clock.clearTimeout(this.timer);
      this.timer = null;
      this.options.backoff.reset();
      void this.open();
    }
  }

  private retry(): void {
    if (this.stopped) return;
    this.events.down();
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = null;
      void this.open();
    }, this.options.backoff.next());
  }
}
