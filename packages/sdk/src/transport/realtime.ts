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
  type InboxMessage,
  type PresenceStatus,
  type RoomEvent,
  type SendKind,
  type ServerFrame,
  type Visibility,
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

/**
 * `signed-out`: the server closed the connection because the session ended (logout elsewhere,
 * revoked device, suspension); it does not reconnect — sign in again.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'signed-out';

/** The close code the server uses when a socket's session has ended. */
export const SESSION_ENDED_CLOSE_CODE = 4001;

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
type Reply = Exclude<
  ServerFrame,
  { t: 'event' } | { t: 'typing' } | { t: 'presence' } | { t: 'inbox-message' }
>;
type ReplyOf<T extends Reply['t']> = Extract<Reply, { t: T }>;

export interface TypingEvent {
  room: string;
  user: string;
  on: boolean;
}
export interface PresenceEvent {
  user: string;
  status: PresenceStatus;
}

interface Pending {
  frame: Request;
  resolve: (reply: Reply) => void;
  reject: (error: ChatError) => void;
  timer: ReturnType<typeof setTimeout> | null;
}

export interface SendInput {
  room: string;
  kind: SendKind;
  payload: Uint8Array;
  /** Idempotency key; one is made when absent. */
  cmid?: string;
  /** Edit and reaction: the seq of the message they are about. */
  target?: number;
  /** Commit: the epoch it was made in. */
  epoch?: number;
  /** Commit: the group-info blob of the epoch it starts. */
  groupInfo?: Uint8Array;
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
  private readonly typingListeners = new Set<(event: TypingEvent) => void>();
  private readonly presenceListeners = new Set<(event: PresenceEvent) => void>();
  private readonly inboxListeners = new Set<(message: InboxMessage) => void>();
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

  /** Someone started or stopped typing in a room (ephemeral, never stored). */
  onTyping(listener: (event: TypingEvent) => void): () => void {
    this.typingListeners.add(listener);
    return () => this.typingListeners.delete(listener);
  }

  /** Someone who shares a room (other than #general) went online, away or offline. */
  onPresence(listener: (event: PresenceEvent) => void): () => void {
    this.presenceListeners.add(listener);
    return () => this.presenceListeners.delete(listener);
  }

  /** A message for this device arrived in its inbox (acknowledge it with `ackInbox`). */
  onInbox(listener: (message: InboxMessage) => void): () => void {
    this.inboxListeners.add(listener);
    return () => this.inboxListeners.delete(listener);
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
      ...(input.target === undefined ? {} : { target: input.target }),
      ...(input.epoch === undefined ? {} : { epoch: input.epoch }),
      ...(input.groupInfo === undefined ? {} : { groupInfo: input.groupInfo }),
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

  /** Edit one of your own messages: the new ciphertext replaces it for everyone. */
  edit(room: string, target: number, payload: Uint8Array) {
    return this.send({ room, kind: 'edit', target, payload });
  }

  react(room: string, target: number, payload: Uint8Array) {
    return this.send({ room, kind: 'reaction', target, payload });
  }

  /** An MLS commit for `epoch`; refused with CHAT_ERR_STALE_EPOCH (and the current epoch) if late. */
  commit(room: string, epoch: number, payload: Uint8Array, groupInfo?: Uint8Array) {
    return this.send({
      room,
      kind: 'commit',
      epoch,
      payload,
      ...(groupInfo ? { groupInfo } : {}),
    });
  }

  setPresence(status: 'online' | 'away') {
    return this.request<'ok'>({ t: 'presence', status });
  }

  // ---- rooms ----

  async rooms() {
    return (await this.request<'rooms'>({ t: 'rooms' })).rooms;
  }

  /** Public channels whose name contains `query` (all when empty). */
  async directory(query = '', limit = 50) {
    const frame = query
      ? { t: 'directory' as const, query, limit }
      : { t: 'directory' as const, limit };
    return (await this.request<'directory'>(frame)).channels;
  }

  async createChannel(input: {
    name: string;
    topic?: string;
    visibility?: Visibility;
    password?: string;
  }) {
    return (await this.request<'room'>({ t: 'create', kind: 'channel', ...input })).room;
  }

  async createGroup(input: { name: string; topic?: string; visibility?: Visibility }) {
    return (await this.request<'room'>({ t: 'create', kind: 'group', ...input })).room;
  }

  /** The direct room with this person (made on first use; one per pair). */
  async direct(username: string) {
    return (await this.request<'room'>({ t: 'direct', username })).room;
  }

  async join(room: string, password?: string) {
    const frame =
      password === undefined
        ? { t: 'join' as const, room }
        : { t: 'join' as const, room, password };
    return (await this.request<'room'>(frame)).room;
  }

  async leave(room: string) {
    await this.request<'ok'>({ t: 'leave', room });
    this.positions.delete(room);
  }

  async invite(room: string, username: string) {
    return (await this.request<'room'>({ t: 'invite', room, username })).room;
  }

  async kick(room: string, user: string) {
    return (await this.request<'room'>({ t: 'kick', room, user })).room;
  }

  async setRole(room: string, user: string, role: 'moderator' | 'member') {
    return (await this.request<'room'>({ t: 'role', room, user, role })).room;
  }

  async transfer(room: string, user: string) {
    return (await this.request<'room'>({ t: 'transfer', room, user })).room;
  }

  async settings(
    room: string,
    changes: {
      name?: string;
      topic?: string | null;
      visibility?: Visibility;
      password?: string | null;
    },
  ) {
    return (await this.request<'room'>({ t: 'settings', room, ...changes })).room;
  }

  members(room: string) {
    return this.request<'members'>({ t: 'members', room });
  }

  async findUsers(query: string) {
    return (await this.request<'users'>({ t: 'users', query })).users;
  }

  async block(username: string, on = true) {
    await this.request<'ok'>({ t: 'block', username, on });
  }

  async blocked() {
    return (await this.request<'users'>({ t: 'blocked' })).users;
  }

  async mute(room: string, on = true) {
    return (await this.request<'room'>({ t: 'mute', room, on })).room;
  }

  /** Step 1 of deleting a message: the server issues a short-lived 4-digit code. */
  deleteCode(room: string, seq: number) {
    return this.request<'code'>({ t: 'delete-code', room, seq });
  }

  /** Step 2: delete with that code; everyone gets a tombstone and the payload is erased. */
  deleteMessage(room: string, seq: number, code: string) {
    return this.request<'ack'>({ t: 'delete', room, seq, code });
  }

  // ---- MLS support ----

  groupInfo(room: string) {
    return this.request<'group-info'>({ t: 'group-info', room });
  }

  async uploadKeyPackages(packages: Uint8Array[], lastResort?: Uint8Array) {
    const frame = lastResort
      ? { t: 'kp-upload' as const, packages, lastResort }
      : { t: 'kp-upload' as const, packages };
    return (await this.request<'kp-count'>(frame)).available;
  }

  claimKeyPackages(room: string, users: string[]) {
    return this.request<'key-packages'>({ t: 'kp-claim', room, users });
  }

  /** Put a message in one device's inbox (e.g. an MLS welcome). Idempotent per cmid. */
  sendToDevice(room: string, device: string, payload: Uint8Array, cmid = newCmid()) {
    return this.request<'ok'>({ t: 'inbox-send', room, device, cmid, payload });
  }

  fetchInbox() {
    return this.request<'inbox'>({ t: 'inbox-fetch' });
  }

  ackInbox(ids: string[]) {
    return this.request<'ok'>({ t: 'inbox-ack', ids });
  }

  /** The highest seq this device has for a room. */
  position(room: string): number {
    return this.positions.get(room) ?? 0;
  }

  close(): void {
    this.socket?.close(1000, 'closed by the client');
    this.end('closed', new ChatError('CHAT_ERR_UNAVAILABLE', 'The connection was closed.'));
  }

  /** Stop for good: no more reconnects; everything waiting is refused. */
  private end(state: 'closed' | 'signed-out', closed: ChatError): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.socket = null;
    this.setState(state);
    for (const entry of [...this.pending.values(), ...this.outbox.values()]) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(closed);
    }
    this.pending.clear();
    this.outbox.clear();
  }

  /** One request, one reply (or a ChatError), with a timeout. Not retried across reconnects. */
  request<T extends Reply['t']>(frame: Request): Promise<ReplyOf<T>> {
    return new Promise((resolve, reject) => {
      if (this.socket?.readyState !== OPEN) {
        reject(new ChatError('CHAT_ERR_UNAVAILABLE', 'Not connected.'));
        return;
      }
      this.transmit(
        {
          frame,
          resolve: (reply) => resolve(reply as ReplyOf<T>),
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
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (event.code === SESSION_ENDED_CLOSE_CODE) {
        this.end('signed-out', new ChatError('CHAT_ERR_UNAUTHENTICATED'));
        return;
      }
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
    if (frame.t === 'typing') {
      const event = { room: frame.room, user: frame.user, on: frame.on };
      for (const listener of this.typingListeners) listener(event);
      return;
    }
    if (frame.t === 'presence') {
      const event = { user: frame.user, status: frame.status };
      for (const listener of this.presenceListeners) listener(event);
      return;
    }
    if (frame.t === 'inbox-message') {
      for (const listener of this.inboxListeners) listener(frame.message);
      return;
    }
    if (frame.id === null) return;
    const entry = this.pending.get(frame.id);
    if (!entry) return;
    this.pending.delete(frame.id);
    if (entry.timer) clearTimeout(entry.timer);
    if (entry.frame.t === 'send') this.outbox.delete(entry.frame.cmid);
    if (frame.t === 'error') {
      entry.reject(
        new ChatError(frame.code, frame.message, {
          ...(frame.retryAfter === undefined ? {} : { retryAfter: frame.retryAfter }),
          ...(frame.epoch === undefined ? {} : { epoch: frame.epoch }),
        }),
      );
    } else {
      if (frame.t === 'ack' && !this.positions.has(frame.room))
        this.positions.set(frame.room, frame.seq - 1);
      entry.resolve(frame);
    }
  }
}
