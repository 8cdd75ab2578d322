/**
 * A load-generator process for the realtime benchmark (see realtime.ts): it opens devices'
 * WebSockets with a minimal client (raw-socket.ts), sends paced `send` frames carrying their send time, and times
 * every delivery of every event to every socket it holds. Event frames are read by their
 * trailing payload when the layout allows (a full decode otherwise), so that the generator
 * is not what limits the measurement; acks and errors are decoded and schema-checked.
 */
import {
  decodeServerFrame,
  encodeFrame,
  FRAME_VERSION,
  parseRoomId,
  parseSeq,
  type ClientFrame,
  type RoomEvent,
  type RoomId,
  type Seq,
} from '@securechat/protocol';
import { serveRequests } from './child.js';
import { RawSocket } from './raw-socket.js';
import {
  DEVICE_RATE,
  benchPayload,
  readPayload,
  readSocketIoEvent,
  readTrailingPayload,
  socketIoSend,
  type CatchupResult,
  type CatchupSpec,
  type ConnectResult,
  type LoadRequests,
  type PayloadFields,
  type Protocol,
  type SocketSpec,
  type StepResult,
  type StepSpec,
} from './realtime-load.js';
import { Histogram } from './stats.js';

/** Specs cross process boundaries as plain JSON: parse their ids and positions on arrival. */
function parsed<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`not a valid ${what}`);
  return value;
}
const roomOf = (room: string): RoomId => parsed(parseRoomId(room), 'room id');
const seqOf = (seq: number): Seq => parsed(parseSeq(seq), 'seq');

interface Conn {
  socket: RawSocket;
  protocol: Protocol;
  nextId: number;
  /** Request id → step of the sends awaiting their ack. */
  pending: Map<number, number>;
  /** The times of this device's last DEVICE_RATE sends (a ring). */
  recent: Float64Array;
  recentAt: number;
  /** Told of every ack or error frame (the catch-up senders wait for theirs). */
  onReply: ((id: number, error: string | null) => void) | null;
}

interface StepState {
  spec: StepSpec;
  sent: number;
  acked: number;
  refused: Record<string, number>;
  receivers: number;
  deliveries: number;
  disconnects: number;
  lastDeliveryAt: number;
  latency: Histogram;
}

const open = new Set<Conn>();
let current: StepState | null = null;
/** When this process last received any frame: a step starts once the previous one is quiet. */
let lastFrameAt = 0;
const fields: PayloadFields = { step: 0, sentAt: 0 };
/** Client message ids must be new to the server (a repeat is acked but not delivered again). */
const RUN = `${process.pid.toString(36)}${Date.now().toString(36)}`;

function onDelivery(step: number, sentAt: number, now: number): void {
  if (current === null || current.spec.step !== step) return; // late: counted as lost
  current.deliveries += 1;
  current.lastDeliveryAt = now;
  current.latency.record(now - sentAt);
}

function onEvent(event: RoomEvent, now: number): void {
  if (event.kind !== 'message') return;
  const payload = Buffer.from(event.payload.buffer, event.payload.byteOffset, event.payload.length);
  if (readPayload(payload, payload.length, fields)) onDelivery(fields.step, fields.sentAt, now);
}

function receive(conn: Conn, data: Buffer): void {
  const now = performance.now();
  lastFrameAt = now;
  if (readTrailingPayload(data, fields)) {
    onDelivery(fields.step, fields.sentAt, now);
    return;
  }
  const decoded = decodeServerFrame(data);
  if (!decoded.ok) return;
  const frame = decoded.frame;
  // Only events, acks and errors matter here; anything else (pongs, typing, …) is ignored.
  if (frame.t === 'event') {
    onEvent(frame.event, now);
    return;
  }
  if ((frame.t !== 'ack' && frame.t !== 'error') || frame.id === null) return;
  conn.onReply?.(frame.id, frame.t === 'error' ? frame.code : null);
  const step = conn.pending.get(frame.id);
  if (step === undefined) return;
  conn.pending.delete(frame.id);
  if (current === null || current.spec.step !== step) return;
  if (frame.t === 'ack') current.acked += 1;
  else current.refused[frame.code] = (current.refused[frame.code] ?? 0) + 1;
}

/** An ack (`43<id>[]`) or, for anything else but a broadcast, nothing. */
function socketIoAck(data: Buffer): number | null {
  if (data[0] !== 0x34 || data[1] !== 0x33) return null;
  let id = 0;
  for (let i = 2; i < data.length; i += 1) {
    const digit = (data[i] ?? 0) - 0x30;
    if (digit < 0 || digit > 9) break;
    id = id * 10 + digit;
  }
  return id;
}

/** A frame from the reference server: a broadcast, an ack, or Engine.IO's ping. */
function receiveText(conn: Conn, data: Buffer): void {
  const now = performance.now();
  lastFrameAt = now;
  if (readSocketIoEvent(data, fields)) {
    onDelivery(fields.step, fields.sentAt, now);
    return;
  }
  if (data.length === 1 && data[0] === 0x32) {
    conn.socket.sendText('3'); // ping → pong, or the server drops the socket
    return;
  }
  const id = socketIoAck(data);
  if (id === null) return;
  const step = conn.pending.get(id);
  if (step === undefined) return;
  conn.pending.delete(id);
  if (current !== null && current.spec.step === step) current.acked += 1;
}

/**
 * Thousands of devices on one machine would be one client address, and the server refuses a
 * thousand upgrades a minute from one address (Limits.WS_UPGRADES_PER_MINUTE_PER_ADDRESS):
 * the sockets come from 200 loopback addresses (127.0.1.0–199; Linux answers the whole /8),
 * as people reach a real server from their own.
 */
let addresses = 0;
const nextAddress = () => `127.0.1.${addresses++ % 200}`;

function openSocket(origin: string, spec: SocketSpec): Promise<RawSocket> {
  return RawSocket.open(origin, '/api/ws', { cookie: spec.cookie, origin }, nextAddress());
}

/** Engine.IO's open packet, then a Socket.IO connect to the main namespace and its answer. */
async function openSocketIo(origin: string): Promise<RawSocket> {
  const socket = await RawSocket.open(origin, '/socket.io/?EIO=4&transport=websocket', {
    origin,
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no Socket.IO handshake in 15 s')), 15_000);
    socket.onClose = () => reject(new Error('closed during the Socket.IO handshake'));
    socket.onText = (data) => {
      if (data[0] === 0x30)
        socket.sendText('40'); // open → connect
      else if (data[0] === 0x34 && data[1] === 0x30) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  return socket;
}

async function connect(
  origin: string,
  sockets: SocketSpec[],
  concurrency: number,
  protocol: Protocol,
): Promise<ConnectResult> {
  const start = performance.now();
  const errors = new Set<string>();
  let opened = 0;
  let failed = 0;
  let next = 0;
  const lane = async () => {
    while (next < sockets.length) {
      const spec = sockets[next++];
      if (!spec) break;
      try {
        const socket =
          protocol === 'socketio' ? await openSocketIo(origin) : await openSocket(origin, spec);
        const conn: Conn = {
          socket,
          protocol,
          nextId: 1,
          pending: new Map(),
          recent: new Float64Array(DEVICE_RATE).fill(-Infinity),
          recentAt: 0,
          onReply: null,
        };
        socket.onMessage = (data) => receive(conn, data);
        socket.onText = (data) => receiveText(conn, data);
        socket.onClose = () => {
          if (open.delete(conn) && current) current.disconnects += 1;
        };
        open.add(conn);
        opened += 1;
      } catch (error) {
        failed += 1;
        errors.add(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  return { opened, failed, errors: [...errors], ms: performance.now() - start };
}

function sendFrame(
  conn: Conn,
  frame: Omit<Extract<ClientFrame, { t: 'send'; kind: 'message' }>, 'v' | 'id'>,
) {
  const id = conn.nextId++;
  conn.socket.send(encodeFrame({ ...frame, v: FRAME_VERSION, id }));
  return id;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until no frame has arrived for `quietMs` (at most `maxMs`). */
async function quiet(quietMs: number, maxMs: number): Promise<void> {
  const until = performance.now() + maxMs;
  while (performance.now() - lastFrameAt < quietMs && performance.now() < until) await sleep(20);
}

/**
 * Offer `count` sends at `rate` per second, round-robin over `senders`; `send` builds each
 * frame at its send time. A device that has sent DEVICE_RATE in the last second waits (after
 * a stall of this process, say), so the product's send limits never refuse one.
 * Resolves when the last one is written.
 */
async function paced(
  senders: Conn[],
  rate: number,
  count: number,
  send: (conn: Conn, index: number) => void,
): Promise<void> {
  const start = performance.now();
  let sent = 0;
  while (sent < count) {
    const now = performance.now();
    const due = Math.min(count, Math.floor(((now - start) / 1000) * rate) + 1);
    while (sent < due) {
      const conn = senders[sent % senders.length];
      if (!conn) break;
      if (now - (conn.recent[conn.recentAt] ?? -Infinity) < 1000) break;
      conn.recent[conn.recentAt] = now;
      conn.recentAt = (conn.recentAt + 1) % conn.recent.length;
      send(conn, sent);
      sent += 1;
    }
    if (sent < count) await sleep(1);
  }
}

async function step(spec: StepSpec): Promise<StepResult> {
  await quiet(300, 30_000);
  const senders = [...open];
  if (senders.length === 0) throw new Error('no open sockets');
  const state: StepState = {
    spec,
    sent: 0,
    acked: 0,
    refused: {},
    receivers: senders.length,
    deliveries: 0,
    disconnects: 0,
    lastDeliveryAt: 0,
    latency: new Histogram(),
  };
  current = state;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const total = Math.max(1, Math.round(spec.rate * spec.seconds));
  await paced(senders, spec.rate, total, (conn, index) => {
    let id: number;
    if (conn.protocol === 'socketio') {
      id = conn.nextId++;
      conn.socket.sendText(socketIoSend(id, spec.step, index, performance.now()));
    } else
      id = sendFrame(conn, {
        t: 'send',
        room: roomOf(spec.room),
        cmid: `${RUN}-${spec.step}-${index}`,
        kind: 'message',
        payload: benchPayload(spec.step, index, performance.now()),
      });
    conn.pending.set(id, spec.step);
    state.sent += 1;
  });
  const sendMs = performance.now() - start;
  // Drain: wait while deliveries still arrive (a backlog is late, not lost); what has not
  // come once they stop for drainMs (or after a minute) is lost.
  const settled = () =>
    state.acked + sumValues(state.refused) >= state.sent &&
    state.deliveries >= state.acked * state.receivers;
  const giveUp = performance.now() + 60_000;
  while (
    !settled() &&
    performance.now() < giveUp &&
    performance.now() - Math.max(lastFrameAt, start + sendMs) < spec.drainMs
  )
    await sleep(5);
  const used = process.cpuUsage(cpu);
  current = null;
  const summary = state.latency.summary();
  return {
    step: spec.step,
    sent: state.sent,
    acked: state.acked,
    refused: state.refused,
    receivers: state.receivers,
    deliveries: state.deliveries,
    lost: Math.max(0, state.acked * state.receivers - state.deliveries),
    disconnects: state.disconnects,
    sendMs,
    spanMs: Math.max(sendMs, state.lastDeliveryAt - start),
    latency: { p50: summary.p50, p99: summary.p99, max: summary.max, mean: summary.mean },
    cpuSeconds: (used.user + used.system) / 1e6,
  };
}

function sumValues(record: Record<string, number>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}

/** One request on a lone socket, answered by the frame with its id. */
function request(
  socket: RawSocket,
  frame: ClientFrame,
): Promise<Extract<ReturnType<typeof decodeServerFrame>, { ok: true }>['frame']> {
  return new Promise((resolve, reject) => {
    socket.onMessage = (data) => {
      const decoded = decodeServerFrame(data);
      if (!decoded.ok || !('id' in decoded.frame) || decoded.frame.id !== frame.id) return;
      socket.onMessage = () => undefined;
      if (decoded.frame.t === 'error') reject(new Error(decoded.frame.code));
      else resolve(decoded.frame);
    };
    socket.onClose = () => reject(new Error('the socket closed'));
    socket.send(encodeFrame(frame));
  });
}

/**
 * The offline device notes its position, goes away while the senders (this process's open
 * sockets) send `messages` events, then reconnects and resumes page by page, as the sdk does.
 */
async function catchup(spec: CatchupSpec & { origin: string }): Promise<CatchupResult> {
  const senders = [...open];
  if (senders.length === 0) throw new Error('no open sender sockets');
  let device = await openSocket(spec.origin, spec.offline);
  const latest = await request(device, {
    v: FRAME_VERSION,
    t: 'history',
    id: 1,
    room: roomOf(spec.room),
    limit: 1,
  });
  if (latest.t !== 'page') throw new Error(`history answered ${latest.t}`);
  const position = latest.events.at(-1)?.seq ?? 0;
  await device.close();

  // Offline: each sender sends its share one at a time, within the send limits; a refused
  // send is retried with the same client message id after a second, as the sdk would.
  const sendStart = performance.now();
  let next = 0;
  await Promise.all(
    senders.map(async (conn) => {
      while (next < spec.messages) {
        const index = next++;
        for (;;) {
          const wait = 1000 - (performance.now() - (conn.recent[conn.recentAt] ?? -Infinity));
          if (wait > 0) await sleep(wait);
          conn.recent[conn.recentAt] = performance.now();
          conn.recentAt = (conn.recentAt + 1) % conn.recent.length;
          const id = sendFrame(conn, {
            t: 'send',
            room: roomOf(spec.room),
            cmid: `${RUN}-c-${index}`,
            kind: 'message',
            payload: benchPayload(0, index, performance.now()),
          });
          const error = await new Promise<string | null>((resolve) => {
            conn.onReply = (replyId, code) => {
              if (replyId === id) resolve(code);
            };
          });
          if (error === null) break;
          if (error !== 'CHAT_ERR_RATE_LIMITED') throw new Error(`send refused: ${error}`);
          await sleep(1000);
        }
      }
      conn.onReply = null;
    }),
  );
  const sendMs = performance.now() - sendStart;
  await quiet(300, 30_000);

  // Back online: reconnect and resume until nothing more.
  const start = performance.now();
  device = await openSocket(spec.origin, spec.offline);
  const connectMs = performance.now() - start;
  let after = position;
  let received = 0;
  let pages = 0;
  let inOrder = true;
  let id = 1;
  for (;;) {
    const page = await request(device, {
      v: FRAME_VERSION,
      t: 'resume',
      id: id++,
      positions: [{ room: roomOf(spec.room), after: seqOf(after) }],
    });
    if (page.t !== 'page') throw new Error(`resume answered ${page.t}`);
    pages += 1;
    for (const event of page.events) {
      if (event.seq !== after + 1) inOrder = false;
      after = event.seq;
      received += 1;
    }
    if (!page.more) break;
  }
  const totalMs = performance.now() - start;
  await device.close();
  if (received !== spec.messages) inOrder = false;
  return { messages: received, totalMs, connectMs, pages, inOrder, sendMs };
}

serveRequests<LoadRequests>({
  connect: ({ origin, sockets, concurrency, protocol }) =>
    connect(origin, sockets, concurrency, protocol),
  step,
  catchup,
  close: async () => {
    const conns = [...open];
    await Promise.all(conns.map((c) => c.socket.close()));
    return { closed: conns.length };
  },
});
