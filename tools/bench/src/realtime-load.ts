/**
 * What the realtime benchmark's orchestrator (realtime.ts) asks of its load-generator
 * processes (realtime-worker.ts), and the payload they send. The server never looks inside a
 * payload, so ours carries what measuring needs: which step it belongs to and when it was
 * sent (the worker's own monotonic clock; the same process sends and receives).
 */
import { Limits } from '@securechat/protocol';

/** #general: every account is a member, so a server with N accounts has an N-member room. */
export const GENERAL_ROOM = 'GeneralRoom00000000000';

/**
 * The send limits the benchmark gives the server (RATE_LIMIT_SENDS_PER_SECOND_PER_DEVICE and
 * _PER_USER; BENCH_SENDS_PER_SECOND, default 1,000): an operator of busy rooms raises them, and
 * with one device per member the shipped 20/s would cap a 100-member room at 2,000 msgs/s.
 */
export const SENDS_PER_SECOND = Number(
  process.env.BENCH_SENDS_PER_SECOND ?? Math.max(1000, Limits.SENDS_PER_SECOND_PER_DEVICE),
);
/**
 * Sends per second per device and per user the generator keeps to: those limits less 10 %,
 * held over any sliding second, so the server's token buckets never refuse a send.
 */
export const DEVICE_RATE = Math.floor(SENDS_PER_SECOND * 0.9);

/** What the sockets speak: SecureChat's gateway, or the Socket.IO reference server. */
export type Protocol = 'securechat' | 'socketio';

/** One WebSocket to open: a device's session (the reference server needs none). */
export interface SocketSpec {
  cookie: string;
  userId: string;
}

export interface ConnectResult {
  opened: number;
  failed: number;
  /** Distinct failure reasons (HTTP status of a refused upgrade, socket errors). */
  errors: string[];
  ms: number;
}

export interface StepSpec {
  step: number;
  room: string;
  /** Offered messages per second, spread round-robin over every open socket. */
  rate: number;
  seconds: number;
  /** How long deliveries may stop arriving before those still missing count as lost. */
  drainMs: number;
}

export interface StepResult {
  step: number;
  /** Sends made, acknowledged and refused (error frames, by code). */
  sent: number;
  acked: number;
  refused: Record<string, number>;
  /** Open sockets when the step began: each acknowledged message should reach every one. */
  receivers: number;
  deliveries: number;
  /** Deliveries expected (acked × receivers) but not received when the drain ended. */
  lost: number;
  /** Sockets the server closed during the step. */
  disconnects: number;
  /** From the first send to the last send, and to the last delivery, in ms. */
  sendMs: number;
  spanMs: number;
  latency: { p50: number; p99: number; max: number; mean: number };
  /** CPU time this generator process used during the step, in seconds. */
  cpuSeconds: number;
}

export interface CatchupSpec {
  room: string;
  /** The device that goes offline and resumes. */
  offline: SocketSpec;
  /** Sent by this worker's open sockets (one at a time each) while the device is offline. */
  messages: number;
}

export interface CatchupResult {
  messages: number;
  /** Reconnect + every resume page until it has all of them. */
  totalMs: number;
  /** Of which the WebSocket upgrade. */
  connectMs: number;
  pages: number;
  /** Events received in order with no gap or duplicate. */
  inOrder: boolean;
  /** How long the senders took to get every message acknowledged. */
  sendMs: number;
}

export type LoadRequests = {
  connect: {
    message: { origin: string; sockets: SocketSpec[]; concurrency: number; protocol: Protocol };
    result: ConnectResult;
  };
  step: { message: StepSpec; result: StepResult };
  catchup: { message: CatchupSpec & { origin: string }; result: CatchupResult };
  close: { message: Record<string, never>; result: { closed: number } };
};

/** The fields: magic, step, index, send time (ms, float64) — 20 bytes, little-endian. */
const FIELDS_BYTES = 20;
/**
 * Bytes of each bench payload (BENCH_PAYLOAD_BYTES, at least 20): the fields at its end,
 * after zeros. 20 is the bare fields; an MLS application message carrying a 200-byte text is
 * about 330 bytes (X25519 suite) to 360 (X-Wing), which is what a real client sends.
 */
export const PAYLOAD_BYTES = Math.max(FIELDS_BYTES, Number(process.env.BENCH_PAYLOAD_BYTES ?? 20));
const MAGIC = 0x31424353; // 'SCB1'

export function benchPayload(step: number, index: number, sentAt: number): Uint8Array {
  const bytes = Buffer.alloc(PAYLOAD_BYTES);
  const at = PAYLOAD_BYTES - FIELDS_BYTES;
  bytes.writeUInt32LE(MAGIC, at);
  bytes.writeUInt32LE(step, at + 4);
  bytes.writeUInt32LE(index, at + 8);
  bytes.writeDoubleLE(sentAt, at + 12);
  return bytes;
}

/**
 * A reference-server event as the generator sends it: Engine.IO message (4), Socket.IO event
 * (2), the ack id, then `["m","step:index:sentAt"]` — read back from a broadcast without a
 * JSON parse.
 */
export function socketIoSend(id: number, step: number, index: number, sentAt: number): string {
  return `42${id}["m","${step}:${index}:${sentAt}"]`;
}

const SOCKET_IO_EVENT = Buffer.from('42["m","');

/** Read a reference broadcast (`42["m","step:index:sentAt"]`); false when it is not one. */
export function readSocketIoEvent(bytes: Buffer, out: PayloadFields): boolean {
  if (bytes.length < SOCKET_IO_EVENT.length + 2) return false;
  if (bytes.compare(SOCKET_IO_EVENT, 0, SOCKET_IO_EVENT.length, 0, SOCKET_IO_EVENT.length) !== 0)
    return false;
  const [step, , sentAt] = bytes
    .toString('latin1', SOCKET_IO_EVENT.length, bytes.length - 2)
    .split(':');
  out.step = Number(step);
  out.sentAt = Number(sentAt);
  return Number.isFinite(out.step) && Number.isFinite(out.sentAt);
}

export interface PayloadFields {
  step: number;
  sentAt: number;
}

/** Read the fields of a bench payload that ends at `end` of `bytes`; false when it is not one. */
export function readPayload(bytes: Buffer, end: number, out: PayloadFields): boolean {
  const offset = end - FIELDS_BYTES;
  if (offset < 0 || end > bytes.length) return false;
  if (bytes.readUInt32LE(offset) !== MAGIC) return false;
  out.step = bytes.readUInt32LE(offset + 4);
  out.sentAt = bytes.readDoubleLE(offset + 12);
  return true;
}

/**
 * The fast path for an event frame: as the gateway encodes it today the payload is the
 * frame's last field, a MessagePack bin 8 or bin 16 at the very end. Anything else
 * (another field order, an epoch after the payload) returns false and is decoded in full.
 */
export function readTrailingPayload(bytes: Buffer, out: PayloadFields): boolean {
  const start = bytes.length - PAYLOAD_BYTES;
  const header =
    PAYLOAD_BYTES <= 0xff
      ? start >= 2 && bytes[start - 2] === 0xc4 && bytes[start - 1] === PAYLOAD_BYTES
      : start >= 3 && bytes[start - 3] === 0xc5 && bytes.readUInt16BE(start - 2) === PAYLOAD_BYTES;
  if (!header) return false;
  return readPayload(bytes, bytes.length, out);
}
