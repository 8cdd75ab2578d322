/**
 * A small in-process stand-in for the realtime server, speaking the real protocol codec over
 * a fake socket, for what the real server never does on demand: hold a reply back while
 * events overtake it, lose a push (a gap), drop the socket between any two frames, refuse a
 * resume. A test drives it step by step, with a manual clock, so every interleaving is
 * deterministic. Its rules follow docs/protocol.md (per-room seqs, idempotent sends per
 * cmid, resume pages with `more` and `gone`); everything else is tested against the real
 * server.
 */
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeFrame,
  FRAME_VERSION,
  type ClientFrame,
  type ErrorCode,
  type RoomEvent,
  type ServerFrame,
} from '@securechat/protocol';
import type { Clock, TimerHandle } from '../../src/transport/clock.js';
import type { SocketFactory, SocketLike } from '../../src/transport/socket.js';
import { deviceId, roomId, seq, userId } from '../../../../test-support/ids.js';

/** A valid id (22 base64url characters) from a short name. */
export const id = (name: string): string => name.padEnd(22, '0').slice(0, 22);

export const ME = id('me');
export const MY_DEVICE = id('mydevice');
export const OTHER = id('other');
const OTHER_DEVICE = id('otherdevice');

/** Timers that run only when the test advances time. */
export class UnsafeTestingClock implements Clock {
  private time = 1_000_000;
  private nextHandle = 1;
  private readonly timers = new Map<number, { at: number; run: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(run: () => void, ms: number): TimerHandle {
    const handle = this.nextHandle++;
    this.timers.set(handle, { at: this.time + Math.max(0, ms), run });
    return handle as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as unknown as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Run the earliest timer due within `ms` (moving time to it); false when none is. */
  fireNext(ms = Number.POSITIVE_INFINITY): boolean {
    let first: [number, { at: number; run: () => void }] | null = null;
    for (const entry of this.timers) if (!first || entry[1].at < first[1].at) first = entry;
    if (!first || first[1].at > this.time + ms) return false;
    this.timers.delete(first[0]);
    this.time = Math.max(this.time, first[1].at);
    first[1].run();
    return true;
  }

  /** Move time forward by `ms`, running every timer that falls due, one at a time. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    while (this.fireNext(end - this.time)) await settle();
    this.time = end;
  }
}

/** Let every promise continuation that is ready run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

class FakeSocket implements SocketLike {
  binaryType = 'arraybuffer';
  readyState = CONNECTING;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(private readonly server: UnsafeTestingServer) {}

  send(data: Uint8Array): void {
    if (this.readyState !== OPEN) throw new Error('send on a socket that is not open');
    this.server.fromClient.push(data);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === CLOSED) return;
    this.server.closedByClient.push({ code, reason });
    this.server.closed(this, code);
  }
}

interface Room {
  events: RoomEvent[];
  members: Set<string>;
  /** cmid → seq, for idempotent sends (one device here). */
  cmids: Map<string, number>;
  /** This user reads the events after this seq (history visibility). */
  readableAfter: number;
}

export interface ServerOptions {
  /** Events per resume page. */
  pageSize?: number;
  /**
   * How resume treats a room the user can't read: `name` (skip it, list it in `gone`) or
   * `fail` (refuse the whole request with not found, as servers before `gone` did).
   */
  goneMode?: 'name' | 'fail';
}

export class UnsafeTestingServer {
  readonly rooms = new Map<string, Room>();
  /** Frames written by the client and not yet handled (lost when the socket drops). */
  fromClient: Uint8Array[] = [];
  /** Frames for the client not yet delivered (lost when the socket drops). */
  toClient: Uint8Array[] = [];
  socket: FakeSocket | null = null;
  /** The next resume is refused with this code. */
  failNextResume: ErrorCode | null = null;
  /** The next send is refused as rate limited. */
  rateLimitNextSend = false;
  /** Every resume request's rooms, in order (for assertions). */
  readonly resumed: string[][] = [];
  /** Per room, the highest seq pushed to the client (it can tell what comes before). */
  readonly pushedMax = new Map<string, number>();
  /** Sockets opened so far. */
  connections = 0;
  /** `ping` frames the client wrote (answered or not). */
  pings = 0;
  /** The close code and reason of every socket the client closed. */
  readonly closedByClient: { code: number; reason: string }[] = [];
  /** The socket that went silent (see `silence`), while it is the current one. */
  private silenced: FakeSocket | null = null;
  private at = 0;

  constructor(private readonly options: ServerOptions = {}) {}

  readonly openSocket: SocketFactory = () => {
    if (this.socket) this.closed(this.socket, 1006);
    const socket = new FakeSocket(this);
    this.socket = socket;
    this.connections += 1;
    return socket;
  };

  addRoom(room: string, events = 0): void {
    this.rooms.set(room, {
      events: [],
      members: new Set([ME, OTHER]),
      cmids: new Map(),
      readableAfter: 0,
    });
    for (let i = 0; i < events; i += 1) this.append(room, OTHER, 'message', `old ${i}`, false);
  }

  isMember(room: string): boolean {
    return this.rooms.get(room)?.members.has(ME) ?? false;
  }

  lastSeq(room: string): number {
    return this.rooms.get(room)?.events.length ?? 0;
  }

  get isOpen(): boolean {
    return this.socket?.readyState === OPEN;
  }

  /** A socket is waiting to be accepted. */
  get connecting(): boolean {
    return this.socket?.readyState === CONNECTING;
  }

  accept(): void {
    const socket = this.socket;
    if (socket?.readyState !== CONNECTING) return;
    socket.readyState = OPEN;
    socket.onopen?.({});
  }

  /**
   * The socket dies without a close (a NAT drop, a proxy that stopped forwarding): it stays
   * open on both ends, but from now on nothing the client writes arrives (it is read and
   * lost) and nothing reaches the client, until the client opens a new socket.
   */
  silence(): void {
    this.silenced = this.socket;
    this.fromClient = [];
    this.toClient = [];
  }

  get isSilenced(): boolean {
    return this.silenced !== null && this.silenced === this.socket;
  }

  /** Cut the connection: frames in flight both ways are lost. */
  drop(code = 1006): void {
    if (this.socket) this.closed(this.socket, code);
  }

  closed(socket: FakeSocket, code: number): void {
    socket.readyState = CLOSED;
    if (this.socket === socket) {
      this.socket = null;
      this.fromClient = [];
      this.toClient = [];
    }
    socket.onclose?.({ code });
  }

  /** Deliver the oldest frame waiting for the client. */
  deliver(): boolean {
    const bytes = this.toClient.shift();
    if (!bytes || !this.socket) return false;
    const decoded = decodeServerFrame(bytes);
    if (decoded.ok && decoded.frame.t === 'event') {
      const { room, seq } = decoded.frame.event;
      this.pushedMax.set(room, Math.max(seq, this.pushedMax.get(room) ?? 0));
    }
    this.socket.onmessage?.({ data: bytes });
    return true;
  }

  /** Handle the oldest frame the client wrote. */
  process(): boolean {
    const bytes = this.fromClient.shift();
    if (!bytes) return false;
    const decoded = decodeClientFrame(bytes);
    if (!decoded.ok) throw new Error(`the client wrote a bad frame: ${decoded.message}`);
    if (decoded.frame.t === 'ping') this.pings += 1;
    if (!this.isSilenced) this.handle(decoded.frame);
    return true;
  }

  /** Someone else writes in a room; `lost`: the push to this client goes missing (a gap). */
  other(room: string, lost = false): void {
    if (this.rooms.has(room)) this.append(room, OTHER, 'message', 'hello', !lost);
  }

  /** This user is removed from the room (or leaves on another device). */
  remove(room: string, type: 'kick' | 'leave', lost = false): void {
    const r = this.rooms.get(room);
    if (!r?.members.has(ME)) return;
    const event = this.append(room, type === 'kick' ? OTHER : ME, 'notice', '', false, {
      type,
      user: ME,
    });
    r.members.delete(ME);
    if (!lost) this.push(event);
  }

  /**
   * This user is added back to a room it had left. History visibility `shared`: it reads
   * everything; `joined`: only from this notice on.
   */
  invite(room: string, lost = false, visibility: 'shared' | 'joined' = 'shared'): void {
    const r = this.rooms.get(room);
    if (!r || r.members.has(ME)) return;
    r.members.add(ME);
    const event = this.append(room, OTHER, 'notice', '', false, { type: 'invite', user: ME });
    r.readableAfter = visibility === 'joined' ? event.seq - 1 : 0;
    if (!lost) this.push(event);
  }

  private handle(frame: ClientFrame): void {
    const reply = (body: Record<string, unknown>) =>
      this.write({ v: FRAME_VERSION, id: frame.id, ...body } as ServerFrame);
    const error = (code: ErrorCode, extra: Record<string, unknown> = {}) =>
      reply({ t: 'error', code, message: code, ...extra });
    // The stand-in answers what the transport itself sends; anything else is a validation error.
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
    switch (frame.t) {
      case 'send': {
        const room = this.rooms.get(frame.room);
        if (!room?.members.has(ME)) return error('CHAT_ERR_NOT_FOUND');
        if (this.rateLimitNextSend) {
          this.rateLimitNextSend = false;
          return error('CHAT_ERR_RATE_LIMITED', { retryAfter: 1 });
        }
        const stored = room.cmids.get(frame.cmid);
        if (stored !== undefined) return reply({ t: 'ack', room: frame.room, seq: stored, at: 1 });
        const event = this.append(frame.room, ME, 'message', '', false, undefined, frame);
        reply({ t: 'ack', room: frame.room, seq: event.seq, at: event.at });
        this.push(event);
        return;
      }
      case 'resume': {
        this.resumed.push(frame.positions.map((p) => p.room));
        if (this.failNextResume) {
          const code = this.failNextResume;
          this.failNextResume = null;
          return error(code, code === 'CHAT_ERR_RATE_LIMITED' ? { retryAfter: 2 } : {});
        }
        const gone = frame.positions.filter((p) => !this.isMember(p.room)).map((p) => p.room);
        if (gone.length > 0 && this.options.goneMode === 'fail') return error('CHAT_ERR_NOT_FOUND');
        const budget = this.options.pageSize ?? 200;
        const events: RoomEvent[] = [];
        let more = false;
        for (const { room, after } of frame.positions) {
          if (!this.isMember(room)) continue;
          const r = this.rooms.get(room)!;
          const rest = r.events.filter((e) => e.seq > Math.max(after, r.readableAfter));
          const take = rest.slice(0, budget - events.length);
          events.push(...take);
          if (take.length < rest.length) {
            more = true;
            break;
          }
        }
        return reply({ t: 'page', events, more, ...(gone.length > 0 ? { gone } : {}) });
      }
      case 'leave': {
        if (!this.isMember(frame.room)) return error('CHAT_ERR_NOT_FOUND');
        reply({ t: 'ok' });
        this.remove(frame.room, 'leave');
        return;
      }
      case 'ping':
        return reply({ t: 'pong', at: 1 });
      default:
        return error('CHAT_ERR_VALIDATION');
    }
  }

  private append(
    room: string,
    sender: string,
    kind: 'message' | 'notice',
    text: string,
    push: boolean,
    notice?: { type: 'kick' | 'leave' | 'invite'; user: string },
    sent?: Extract<ClientFrame, { t: 'send' }>,
  ): RoomEvent {
    const r = this.rooms.get(room);
    if (!r) throw new Error(`no room ${room}`);
    this.at += 1;
    const placed = {
      room: roomId(room),
      seq: seq(r.events.length + 1),
      sender: userId(sender),
      device: deviceId(sender === ME ? MY_DEVICE : OTHER_DEVICE),
      at: this.at,
    };
    const event = ((): RoomEvent => {
      if (kind === 'notice' && notice) {
        const username = notice.user === ME ? 'me' : 'other';
        return {
          ...placed,
          kind: 'notice',
          notice: { ...notice, user: userId(notice.user), username, awaitsCommit: true },
        };
      }
      if (!sent)
        return {
          ...placed,
          kind: 'message',
          cmid: `server-${this.at}`,
          payload: new TextEncoder().encode(text),
        };
      const body = { ...placed, cmid: sent.cmid, payload: sent.payload };
      switch (sent.kind) {
        case 'message':
          return { ...body, kind: 'message' };
        case 'edit':
        case 'reaction':
          return { ...body, kind: sent.kind, target: sent.target };
        case 'commit':
          return { ...body, kind: 'commit', epoch: sent.epoch };
      }
    })();
    r.events.push(event);
    if (sent) r.cmids.set(sent.cmid, event.seq);
    if (push) this.push(event);
    return event;
  }

  /** Fan an event out to this client, if it is connected and may read the room. */
  private push(event: RoomEvent): void {
    const removed =
      event.kind === 'notice' &&
      (event.notice.type === 'leave' || event.notice.type === 'kick') &&
      event.notice.user === ME;
    if (!this.isOpen || (!this.isMember(event.room) && !removed)) return;
    this.write({ v: FRAME_VERSION, t: 'event', event });
  }

  private write(frame: ServerFrame): void {
    if (this.isOpen && !this.isSilenced) this.toClient.push(encodeFrame(frame));
  }
}
