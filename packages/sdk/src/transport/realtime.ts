/**
 * The realtime connection: one WebSocket per device, with automatic reconnection (jittered
 * exponential backoff), resume from the last position per room, request/response with
 * timeouts, and an outbox that re-sends unacknowledged messages with the same client message
 * id after a reconnect (the server's idempotency makes the retry safe). Events reach
 * listeners once each and in order per room: a duplicate is dropped, a gap triggers a resume.
 */
import {
  ChatError,
  decodeServerFrame,
  encodeFrame,
  FRAME_VERSION,
  type ClientFrame,
  type EventKind,
  type RoomEvent,
  type ServerFrame,
} from '@securechat/protocol';

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

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface RealtimeOptions {
  url: string;
  openSocket: SocketFactory;
  /** Headers for the upgrade (Node only: cookie and Origin). */
  headers: () => Promise<Record<string, string>>;
  /** Last known seq per room, e.g. from a local store; updated as events arrive. */
  positions?: Map<string, number>;
  requestTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Random source for the backoff jitter; tests may pin it. */
  random?: () => number;
}

type Request = ClientFrame extends infer F
  ? F extends ClientFrame
    ? Omit<F, 'v' | 'id'>
    : never
  : never;
type Reply = Exclude<ServerFrame, { t: 'event' } | { t: 'typing' }>;

interface Pending {
  frame: Request;
  resolve: (reply: Reply) => void;
  reject: (error: ChatError) => void;
  timer: ReturnType<typeof setTimeout> | null;
}

export interface SendInput {
  room: string;
  kind: EventKind;
  payload: Uint8Array;
  /** Idempotency key; one is made when absent. */
  cmid?: string;
  epoch?: number;
}

const OPEN = 1;

function newCmid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

export class RealtimeConnection {
  private socket: SocketLike | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Sends waiting for their ack, re-sent (same cmid) after every reconnect. */
  private readonly outbox = new Map<string, Pending>();
  private readonly positions: Map<string, number>;
  private readonly eventListeners = new Set<(event: RoomEvent) => void>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private attempt = 0;
  private stopped = false;
  private resuming = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  state: ConnectionState = 'connecting';

  constructor(private readonly options: RealtimeOptions) {
    this.positions = options.positions ?? new Map<string, number>();
  }

  /** Open the connection; it then stays up (reconnecting as needed) until close(). */
  start(): void {
    void this.open();
  }

  onEvent(listener: (event: RoomEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Send an event; resolves with its ack once the server has stored it. Survives reconnects. */
  send(input: SendInput): Promise<Extract<ServerFrame, { t: 'ack' }>> {
    const cmid = input.cmid ?? newCmid();
    const frame: Request = {
      t: 'send',
      room: input.room,
      cmid,
      kind: input.kind,
      payload: input.payload,
      ...(input.epoch === undefined ? {} : { epoch: input.epoch }),
    };
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        frame,
        resolve: (reply) =>
          reply.t === 'ack' ? resolve(reply) : reject(new ChatError('CHAT_ERR_INTERNAL')),
        reject,
        timer: null,
      };
      this.outbox.set(cmid, entry);
      if (this.socket?.readyState === OPEN && !this.resuming) this.transmit(entry, false);
    });
  }

  history(room: string, limit: number, before?: number) {
    return this.request<'page'>({
      t: 'history',
      room,
      limit,
      ...(before === undefined ? {} : { before }),
    });
  }

  typing(room: string, on: boolean) {
    return this.request<'ok'>({ t: 'typing', room, on });
  }

  ping() {
    return this.request<'pong'>({ t: 'ping' });
  }

  /** The highest seq this device has for a room. */
  position(room: string): number {
    return this.positions.get(room) ?? 0;
  }

  close(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.socket?.close(1000, 'closed by the client');
    this.setState('closed');
    const closed = new ChatError('CHAT_ERR_UNAVAILABLE', 'The connection was closed.');
    for (const entry of [...this.pending.values(), ...this.outbox.values()]) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(closed);
    }
    this.pending.clear();
    this.outbox.clear();
  }

  /** One request, one reply (or a ChatError), with a timeout. Not retried across reconnects. */
  request<T extends Reply['t']>(frame: Request): Promise<Extract<Reply, { t: T }>> {
    return new Promise((resolve, reject) => {
      if (this.socket?.readyState !== OPEN) {
        reject(new ChatError('CHAT_ERR_UNAVAILABLE', 'Not connected.'));
        return;
      }
      this.transmit(
        {
          frame,
          resolve: (reply) => resolve(reply as Extract<Reply, { t: T }>),
          reject,
          timer: null,
        },
        true,
      );
    });
  }

  private transmit(entry: Pending, timed: boolean): void {
    const id = this.nextId++;
    this.pending.set(id, entry);
    if (timed) {
      entry.timer = setTimeout(() => {
        this.pending.delete(id);
        entry.reject(new ChatError('CHAT_ERR_UNAVAILABLE', 'The server did not answer in time.'));
      }, this.options.requestTimeoutMs ?? 10_000);
    }
    this.socket?.send(encodeFrame({ ...entry.frame, v: FRAME_VERSION, id }));
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    let socket: SocketLike;
    try {
      socket = this.options.openSocket(this.options.url, await this.options.headers());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      this.attempt = 0;
      void this.afterOpen();
    };
    socket.onmessage = (message) => this.receive(message.data);
    socket.onerror = () => undefined;
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      // Requests in flight get no reply on this socket; sends stay in the outbox.
      for (const [id, entry] of this.pending) {
        this.pending.delete(id);
        if (entry.timer) clearTimeout(entry.timer);
        if (entry.frame.t !== 'send')
          entry.reject(new ChatError('CHAT_ERR_UNAVAILABLE', 'The connection was lost.'));
      }
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState('reconnecting');
    const min = this.options.minBackoffMs ?? 500;
    const max = this.options.maxBackoffMs ?? 30_000;
    const ceiling = Math.min(max, min * 2 ** this.attempt);
    this.attempt += 1;
    const delay = ceiling / 2 + (this.options.random ?? Math.random)() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => void this.open(), delay);
  }

  /** Catch up on every room we know, then flush the outbox. */
  private async afterOpen(): Promise<void> {
    await this.resume();
    this.setState('open');
    for (const entry of this.outbox.values()) this.transmit(entry, false);
  }

  private async resume(): Promise<void> {
    if (this.resuming) return;
    this.resuming = true;
    try {
      for (;;) {
        const positions = [...this.positions].map(([room, after]) => ({ room, after }));
        if (positions.length === 0) return;
        const page = await this.request<'page'>({ t: 'resume', positions });
        for (const event of page.events) this.accept(event);
        if (!page.more) return;
      }
    } catch {
      // The socket dropped while resuming: the next open resumes again.
    } finally {
      this.resuming = false;
    }
  }

  private accept(event: RoomEvent): void {
    const known = this.positions.get(event.room);
    if (known !== undefined && event.seq <= known) return; // already have it
    if (known !== undefined && event.seq > known + 1) {
      void this.resume(); // a gap: fetch what is missing, in order
      return;
    }
    this.positions.set(event.room, event.seq);
    for (const listener of this.eventListeners) listener(event);
  }

  private receive(data: unknown): void {
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : null;
    if (!bytes) return;
    const decoded = decodeServerFrame(bytes);
    if (!decoded.ok) return;
    const frame = decoded.frame;
    if (frame.t === 'event') {
      this.accept(frame.event);
      return;
    }
    if (frame.t === 'typing') return;
    if (frame.id === null) return;
    const entry = this.pending.get(frame.id);
    if (!entry) return;
    this.pending.delete(frame.id);
    if (entry.timer) clearTimeout(entry.timer);
    if (entry.frame.t === 'send') this.outbox.delete(entry.frame.cmid);
    if (frame.t === 'error') {
      entry.reject(
        new ChatError(
          frame.code,
          frame.message,
          frame.retryAfter === undefined ? {} : { retryAfter: frame.retryAfter },
        ),
      );
    } else {
      if (frame.t === 'ack' && !this.positions.has(frame.room))
        this.positions.set(frame.room, frame.seq - 1);
      entry.resolve(frame);
    }
  }
}
