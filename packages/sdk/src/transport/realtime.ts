/**
 * The realtime connection: one WebSocket per device that never loses an event. It composes
 * the socket layer (`socket.ts`: reconnection with jittered backoff), requests and their
 * replies (`requests.ts`), the outbox (`outbox.ts`: sends re-written with the same client
 * message id until acked, refused or expired) and gap filling (`resume.ts`: positions per
 * room, resume after every reconnect and every gap). Events reach listeners exactly once,
 * each after all earlier ones of its room.
 *
 * The state is truthful: `open` only while a socket is open and caught up; `stalled` while
 * a socket is open but catching up failed (retried with backoff; `lastError` says why). A
 * socket that went silent without a close (see `liveness.ts`) is closed and re-opened, so
 * the state turns `reconnecting` instead of staying `open` or `stalled` on a dead socket.
 */
import {
  ChatError,
  decodeServerFrame,
  type InboxMessage,
  type PresenceStatus,
  type RoomEvent,
  type ServerFrame,
  type Visibility,
} from '@securechat/protocol';
import { Backoff, systemClock, type Clock, type TimerHandle } from './clock.js';
import {
  checkSend,
  newCmid,
  Outbox,
  OUTBOX_ENTRY_MAX_AGE_MS,
  sendFrame,
  type Ack,
  type SendInput,
} from './outbox.js';
import type { WakeSource } from './liveness.js';
import { connectionLost, Requests, type Reply, type ReplyOf, type Request } from './requests.js';
import { CatchUp, Sequencer } from './resume.js';
import { ReconnectingSocket, type SocketFactory } from './socket.js';

export type { Clock } from './clock.js';
export { SEND_PAYLOAD_MAX_BYTES, type SendInput } from './outbox.js';
export type { SocketFactory, SocketLike } from './socket.js';
export type { WakeSource } from './liveness.js';
import { deviceIdOf, roomIdOf, seqOf, userIdOf } from './ids.js';

/**
 * - `connecting`: the first connection, not caught up yet;
 * - `open`: connected and caught up;
 * - `reconnecting`: the connection was lost (or is back but not caught up yet);
 * - `stalled`: connected, but catching up failed; retried with backoff (see `lastError`);
 *   sends and requests still go out;
 * - `closed`: closed by `close()`;
 * - `signed-out`: the server closed the connection because the session ended (logout
 *   elsewhere, revoked device, suspension); it does not reconnect — sign in again.
 */
export type ConnectionState =
  'connecting' | 'open' | 'reconnecting' | 'stalled' | 'closed' | 'signed-out';

export interface RealtimeOptions {
  url: string;
  openSocket: SocketFactory;
  /** Headers for the upgrade (Node only: cookie and Origin). */
  headers: () => Promise<Record<string, string>>;
  /**
   * Last delivered seq per room, e.g. from a local store: the rooms to resume and where
   * from. The connection updates this map as events are delivered and removes rooms this
   * user can no longer read; `onPosition` reports each change.
   */
  positions?: Map<string, number>;
  /**
   * The signed-in user's id: a notice that this user left or was removed from a room drops
   * that room's position (without it, only `leave()` and the server's `gone` answer do).
   */
  userId?: string;
  requestTimeoutMs?: number;
  /**
   * Liveness: after this long with nothing received, a `ping` goes out (PING_INTERVAL_MS);
   * when nothing at all arrives within `pingTimeoutMs` of it (PING_TIMEOUT_MS), the socket is
   * taken for dead (no close frame ever came), closed and re-opened, and the connection
   * resumes. A request that times out, or the browser saying it is back online, pings at once.
   */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  /**
   * Where the browser's `online`/`offline`, `visibilitychange`, `pageshow` and `resume`
   * events fire; by default the global object (and its document) if it has
   * `addEventListener`; null: none.
   */
  wakeSource?: WakeSource | null;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long a send may wait for its ack before it fails (CHAT_ERR_SEND_EXPIRED). */
  outboxMaxAgeMs?: number;
  /** Random source for the backoff jitter; tests may pin it. */
  random?: () => number;
  /** Time and timers; tests may drive them. */
  clock?: Clock;
}

export interface TypingEvent {
  room: string;
  user: string;
  on: boolean;
}
/** A member's receipt in a room moved: their devices received / read it up to these seqs. */
export interface ReceiptEvent {
  room: string;
  user: string;
  username: string;
  delivered: number;
  read: number;
}
export interface PresenceEvent {
  user: string;
  status: PresenceStatus;
}

/** Call every listener; one that throws does not keep the value from the others. */
function emit<T extends unknown[]>(listeners: Set<(...args: T) => void>, ...args: T): void {
  for (const listener of [...listeners]) {
    try {
      listener(...args);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

function listen<T extends unknown[]>(
  listeners: Set<(...args: T) => void>,
  listener: (...args: T) => void,
): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export class RealtimeConnection {
  private readonly socket: ReconnectingSocket;
  private readonly requests: Requests;
  private readonly outbox: Outbox;
  private readonly sequencer: Sequencer;
  private readonly catchUp: CatchUp;
  private readonly clock: Clock;
  private readonly retryBackoff: Backoff;
  private readonly eventListeners = new Set<(event: RoomEvent) => void>();
  private readonly typingListeners = new Set<(event: TypingEvent) => void>();
  private readonly presenceListeners = new Set<(event: PresenceEvent) => void>();
  private readonly receiptListeners = new Set<(event: ReceiptEvent) => void>();
  private readonly inboxListeners = new Set<(message: InboxMessage) => void>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private readonly goneListeners = new Set<(room: string) => void>();
  private readonly positionListeners = new Set<(room: string, seq: number | null) => void>();
  private currentState: ConnectionState = 'connecting';
  private error: ChatError | null = null;
  private stopped = false;
  /** A catch-up is being driven: sends wait for it, then go out. */
  private driving = false;
  private retryTimer: TimerHandle | null = null;

  constructor(private readonly options: RealtimeOptions) {
    this.clock = options.clock ?? systemClock;
    const random = options.random ?? Math.random;
    const minMs = options.minBackoffMs ?? 500;
    const maxMs = options.maxBackoffMs ?? 30_000;
    this.retryBackoff = new Backoff(minMs, maxMs, random);
    this.socket = new ReconnectingSocket(
      {
        url: options.url,
        openSocket: options.openSocket,
        headers: options.headers,
        clock: this.clock,
        backoff: new Backoff(minMs, maxMs, random),
        pingIntervalMs: options.pingIntervalMs,
        pingTimeoutMs: options.pingTimeoutMs,
        wakeSource: options.wakeSource,
      },
      {
        opened: () => this.opened(),
        received: (bytes) => this.received(bytes),
        // Any frame answers a probe (the pong included): nothing waits for the reply itself.
        probe: () =>
          this.requests.start(
            { t: 'ping' },
            { reply: () => undefined, fail: () => undefined },
            null,
          ),
        down: () => this.down(),
        sessionEnded: () => this.end('signed-out', new ChatError('CHAT_ERR_UNAUTHENTICATED')),
      },
    );
    this.requests = new Requests(
      (bytes) => this.socket.send(bytes),
      this.clock,
      () => this.socket.checkLiveness(),
    );
    this.sequencer = new Sequencer(options.positions ?? new Map<string, number>(), options.userId, {
      deliver: (event) => emit(this.eventListeners, event),
      position: (room, seq) => emit(this.positionListeners, room, seq),
      gone: (room) => emit(this.goneListeners, room),
      gap: () => this.requestCatchUp(),
    });
    this.catchUp = new CatchUp(this.sequencer, (positions) =>
      this.requests.ask<'page'>(
        {
          t: 'resume',
          positions: positions.map((p) => ({ room: roomIdOf(p.room), after: seqOf(p.after) })),
        },
        this.options.requestTimeoutMs ?? 10_000,
      ),
    );
    this.outbox = new Outbox({
      requests: this.requests,
      clock: this.clock,
      maxAgeMs: options.outboxMaxAgeMs ?? OUTBOX_ENTRY_MAX_AGE_MS,
      canTransmit: () => !this.driving && this.socket.openGeneration !== null,
      acked: (ack) => this.sequencer.acked(ack.room, ack.seq),
    });
  }

  /** Open the connection; it then stays up (reconnecting as needed) until close(). */
  start(): void {
    this.socket.start();
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Why the last catch-up failed (state `stalled`); null once one succeeds. */
  get lastError(): ChatError | null {
    return this.error;
  }

  /** Sends waiting for their ack. */
  get pendingSends(): number {
    return this.outbox.size;
  }

  /** Room events: each once, and only after every earlier event of its room. */
  onEvent(listener: (event: RoomEvent) => void): () => void {
    return listen(this.eventListeners, listener);
  }

  /** Someone started or stopped typing in a room (ephemeral, never stored). */
  onTyping(listener: (event: TypingEvent) => void): () => void {
    return listen(this.typingListeners, listener);
  }

  /** Someone who shares a room (other than #general) went online, away or offline. */
  onPresence(listener: (event: PresenceEvent) => void): () => void {
    return listen(this.presenceListeners, listener);
  }

  /** Another member of a small room received or read further (ephemeral). */
  onReceipt(listener: (event: ReceiptEvent) => void): () => void {
    return listen(this.receiptListeners, listener);
  }

  /** A message for this device arrived in its inbox (acknowledge it with `ackInbox`). */
  onInbox(listener: (message: InboxMessage) => void): () => void {
    return listen(this.inboxListeners, listener);
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    return listen(this.stateListeners, listener);
  }

  /**
   * This user can no longer read a room (left, removed, or the room was deleted): its
   * position is dropped and it is no longer resumed.
   */
  onGone(listener: (room: string) => void): () => void {
    return listen(this.goneListeners, listener);
  }

  /**
   * A room's position changed: `seq` is the event about to reach the event listeners (called
   * just before them, so a store can persist both in one step), or null when this user can
   * no longer read the room.
   */
  onPosition(listener: (room: string, seq: number | null) => void): () => void {
    return listen(this.positionListeners, listener);
  }

  /**
   * Send an event; resolves with its ack once the server has stored it. Survives reconnects.
   * Refuses at once, sending nothing, what the server would refuse for its size
   * (CHAT_ERR_TOO_LARGE, see `SEND_PAYLOAD_MAX_BYTES`) or shape (CHAT_ERR_VALIDATION); fails
   * with the server's error when it refuses the send for good, and with
   * CHAT_ERR_SEND_EXPIRED when no ack came within `outboxMaxAgeMs`.
   */
  send(input: SendInput): Promise<Ack> {
    if (this.stopped) {
      return Promise.reject(new ChatError('CHAT_ERR_UNAVAILABLE', 'The connection was closed.'));
    }
    return this.outbox.add(input);
  }

  /** Why `send` would refuse this input before sending (size, shape), or null. */
  checkSend(input: SendInput): ChatError | null {
    return checkSend(sendFrame({ ...input, cmid: input.cmid ?? 'check' }));
  }

  history(room: string, limit: number, before?: number) {
    return this.request<'page'>({
      t: 'history',
      room: roomIdOf(room),
      limit,
      ...(before === undefined ? {} : { before: seqOf(before) }),
    });
  }

  typing(room: string, on: boolean) {
    return this.request<'ok'>({ t: 'typing', room: roomIdOf(room), on });
  }

  /** This user's devices received (`delivered`) or read a room up to these seqs. */
  receipt(room: string, positions: { delivered?: number; read?: number }) {
    return this.request<'ok'>({
      t: 'receipt',
      room: roomIdOf(room),
      ...(positions.delivered === undefined ? {} : { delivered: seqOf(positions.delivered) }),
      ...(positions.read === undefined ? {} : { read: seqOf(positions.read) }),
    });
  }

  /** The other members' receipts in a room (`enabled` false where the room is too big). */
  async receipts(room: string): Promise<{ enabled: boolean; receipts: ReceiptEvent[] }> {
    const reply = await this.request<'receipts'>({ t: 'receipts', room: roomIdOf(room) });
    return {
      enabled: reply.enabled,
      receipts: reply.receipts.map((r) => ({ room, ...r })),
    };
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

  /**
   * An MLS commit for `epoch`, naming the blob of the next epoch's group info; refused with
   * CHAT_ERR_STALE_EPOCH (and the current epoch) if late.
   */
  commit(room: string, epoch: number, payload: Uint8Array, groupInfo?: string) {
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

  /** A private group: the server gets no name or topic (they are end-to-end content). */
  async createGroup(input: { visibility?: Visibility } = {}) {
    const frame =
      input.visibility === undefined
        ? { t: 'create' as const, kind: 'group' as const }
        : { t: 'create' as const, kind: 'group' as const, visibility: input.visibility };
    return (await this.request<'room'>(frame)).room;
  }

  /** The direct room with this person (made on first use; one per pair). */
  async direct(username: string) {
    return (await this.request<'room'>({ t: 'direct', username })).room;
  }

  async join(room: string, password?: string) {
    const frame =
      password === undefined
        ? { t: 'join' as const, room: roomIdOf(room) }
        : { t: 'join' as const, room: roomIdOf(room), password };
    return (await this.request<'room'>(frame)).room;
  }

  /**
   * Leave a room. Its position is dropped (and `onGone` called) when the notice of this
   * leave arrives, right after; without `userId` the connection can't read that notice as
   * its own, so it drops the position on the server's answer.
   */
  async leave(room: string) {
    await this.request<'ok'>({ t: 'leave', room: roomIdOf(room) });
    if (this.options.userId === undefined) this.sequencer.gone(room);
  }

  async invite(room: string, username: string) {
    return (await this.request<'room'>({ t: 'invite', room: roomIdOf(room), username })).room;
  }

  async kick(room: string, user: string) {
    return (await this.request<'room'>({ t: 'kick', room: roomIdOf(room), user: userIdOf(user) }))
      .room;
  }

  async setRole(room: string, user: string, role: 'moderator' | 'member') {
    return (
      await this.request<'room'>({ t: 'role', room: roomIdOf(room), user: userIdOf(user), role })
    ).room;
  }

  async transfer(room: string, user: string) {
    return (
      await this.request<'room'>({ t: 'transfer', room: roomIdOf(room), user: userIdOf(user) })
    ).room;
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
    return (await this.request<'room'>({ t: 'settings', room: roomIdOf(room), ...changes })).room;
  }

  members(room: string) {
    return this.request<'members'>({ t: 'members', room: roomIdOf(room) });
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
    return (await this.request<'room'>({ t: 'mute', room: roomIdOf(room), on })).room;
  }

  /** Step 1 of deleting a message: the server issues a short-lived 4-digit code. */
  deleteCode(room: string, seq: number) {
    return this.request<'code'>({ t: 'delete-code', room: roomIdOf(room), seq: seqOf(seq) });
  }

  /** Step 2: delete with that code; everyone gets a tombstone and the payload is erased. */
  deleteMessage(room: string, seq: number, code: string) {
    return this.request<'ack'>({ t: 'delete', room: roomIdOf(room), seq: seqOf(seq), code });
  }

  // ---- MLS support ----

  groupInfo(room: string) {
    return this.request<'group-info'>({ t: 'group-info', room: roomIdOf(room) });
  }

  async uploadKeyPackages(packages: Uint8Array[], lastResort?: Uint8Array) {
    const frame = lastResort
      ? { t: 'kp-upload' as const, packages, lastResort }
      : { t: 'kp-upload' as const, packages };
    return (await this.request<'kp-count'>(frame)).available;
  }

  claimKeyPackages(room: string, users: string[]) {
    return this.request<'key-packages'>({
      t: 'kp-claim',
      room: roomIdOf(room),
      users: users.map(userIdOf),
    });
  }

  /** Put a message in one device's inbox (e.g. an MLS welcome). Idempotent per cmid. */
  sendToDevice(room: string, device: string, payload: Uint8Array, cmid = newCmid()) {
    return this.request<'ok'>({
      t: 'inbox-send',
      room: roomIdOf(room),
      device: deviceIdOf(device),
      cmid,
      payload,
    });
  }

  /** The identity keys of these users (null for a user with none or no such user). */
  identityKeys(users: string[]) {
    return this.request<'identity-keys'>({ t: 'identity-keys', users: users.map(userIdOf) });
  }

  fetchInbox() {
    return this.request<'inbox'>({ t: 'inbox-fetch' });
  }

  ackInbox(ids: string[]) {
    return this.request<'ok'>({ t: 'inbox-ack', ids });
  }

  /** The highest seq delivered for a room (0 when none). */
  position(room: string): number {
    return this.sequencer.position(room) ?? 0;
  }

  close(): void {
    this.end('closed', new ChatError('CHAT_ERR_UNAVAILABLE', 'The connection was closed.'));
  }

  /** One request, one reply (or a ChatError), with a timeout. Not retried across reconnects. */
  request<T extends Reply['t']>(frame: Request): Promise<ReplyOf<T>> {
    return this.requests.ask<T>(frame, this.options.requestTimeoutMs ?? 10_000);
  }

  /** Stop for good: no more reconnects; everything waiting is refused. */
  private end(state: 'closed' | 'signed-out', error: ChatError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.socket.stop();
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.setState(state);
    this.requests.failAll(error);
    this.outbox.failAll(error);
  }

  private setState(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    emit(this.stateListeners, state);
  }

  private opened(): void {
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.requestCatchUp();
  }

  private down(): void {
    if (this.stopped) return;
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.setState('reconnecting');
    // Requests in flight get no reply on this socket; sends stay in the outbox.
    this.requests.failAll(connectionLost());
  }

  /** Catch up now, or make the catch-up under way look again. */
  private requestCatchUp(): void {
    if (this.stopped) return;
    if (this.driving) {
      this.catchUp.requestAgain();
      return;
    }
    // Stalled: the scheduled retry will look; no socket: the next open will.
    if (this.retryTimer !== null || this.socket.openGeneration === null) return;
    void this.drive();
  }

  /**
   * Run the catch-up on the socket open now, then say truthfully where it left us and flush
   * the outbox (sends wait while it runs, and go out after every run, whatever its outcome).
   */
  private async drive(): Promise<void> {
    const generation = this.socket.openGeneration;
    this.driving = true;
    let failure: unknown = null;
    try {
      await this.catchUp.idle();
      if (this.socket.openGeneration === generation) await this.catchUp.run();
    } catch (error) {
      failure = error;
    } finally {
      this.driving = false;
    }
    if (this.stopped) return;
    const open = this.socket.openGeneration;
    // The socket went down meanwhile: the state says so, and the next open catches up.
    if (open === null) return;
    if (open !== generation) {
      // A new socket opened before this run had ended: it needs a catch-up of its own.
      void this.drive();
      return;
    }
    if (failure === null) {
      this.error = null;
      this.retryBackoff.reset();
      this.socket.healthy();
      this.setState('open');
    } else {
      const error =
        failure instanceof ChatError
          ? failure
          : new ChatError('CHAT_ERR_INTERNAL', 'Catching up failed.');
      this.error = error;
      this.socket.healthy();
      this.setState('stalled');
      const delay = Math.max(this.retryBackoff.next(), (error.retryAfter ?? 0) * 1000);
      this.retryTimer = this.clock.setTimeout(() => {
        this.retryTimer = null;
        this.requestCatchUp();
      }, delay);
    }
    this.outbox.flush();
  }

  private received(bytes: Uint8Array): void {
    const decoded = decodeServerFrame(bytes);
    if (!decoded.ok) return;
    const frame: ServerFrame = decoded.frame;
    if (frame.t === 'event') this.sequencer.push(frame.event);
    else if (frame.t === 'typing')
      emit(this.typingListeners, { room: frame.room, user: frame.user, on: frame.on });
    else if (frame.t === 'presence')
      emit(this.presenceListeners, { user: frame.user, status: frame.status });
    else if (frame.t === 'receipt')
      emit(this.receiptListeners, { room: frame.room, ...frame.receipt });
    else if (frame.t === 'inbox-message') emit(this.inboxListeners, frame.message);
    else this.requests.settle(frame);
  }
}
