/**
 * A deliberately small WebSocket client (RFC 6455) for the load generator: the upgrade by
 * node:http, then frames parsed straight off the TCP stream with no copy and no per-frame
 * event. A generator pinned to one core has to read hundreds of thousands of frames a
 * second; `ws` spends several microseconds on each, this a fraction of one, so the numbers
 * measure the server rather than the generator. Only what the benchmark needs: binary
 * frames (SecureChat), text frames (the Socket.IO reference server), ping → pong, close. Frames from the server are never masked or fragmented
 * (`ws` sends each message as one final frame); anything else closes the socket.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';

const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export class RawSocket {
  /** Called with each binary message; the buffer is only valid during the call. */
  onMessage: (data: Buffer) => void = () => undefined;
  /** Called with each text message's bytes (UTF-8); only valid during the call. */
  onText: (data: Buffer) => void = () => undefined;
  onClose: () => void = () => undefined;
  closed = false;
  private pending: Buffer | null = null;
  private readonly mask = Buffer.alloc(4);

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.onClose();
    });
    socket.on('error', () => socket.destroy());
  }

  /**
   * Upgrade `${origin}${path}` with these headers, from `localAddress` if given (a loopback
   * address of its own); rejects with the HTTP status if refused.
   */
  static open(
    origin: string,
    path: string,
    headers: Record<string, string>,
    localAddress?: string,
  ): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const req = request(`${origin}${path}`, {
        ...(localAddress === undefined ? {} : { localAddress }),
        headers: {
          ...headers,
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': randomBytes(16).toString('base64'),
        },
      });
      const timer = setTimeout(
        () => req.destroy(new Error('upgrade timed out after 15 s')),
        15_000,
      );
      req.on('close', () => clearTimeout(timer));
      req.on('upgrade', (_response, socket, head) => {
        clearTimeout(timer);
        const raw = new RawSocket(socket);
        resolve(raw);
        // Frames that came with the upgrade (Engine.IO's open packet) go to the handlers the
        // caller sets once it has the socket, not to the defaults.
        if (head.length > 0) setImmediate(() => raw.receive(head));
      });
      req.on('response', (response) => {
        response.resume();
        reject(new Error(`upgrade refused: HTTP ${response.statusCode}`));
      });
      req.on('error', reject);
      req.end();
    });
  }

  send(payload: Uint8Array): void {
    this.write(OP_BINARY, payload);
  }

  sendText(text: string): void {
    this.write(OP_TEXT, Buffer.from(text));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.write(OP_CLOSE, Buffer.from([0x03, 0xe8])); // 1000: normal closure
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2_000).unref();
    return done;
  }

  private write(opcode: number, payload: Uint8Array): void {
    if (this.closed || this.socket.destroyed) return;
    const length = payload.length;
    const extra = length < 126 ? 0 : length < 65_536 ? 2 : 8;
    const frame = Buffer.allocUnsafe(2 + extra + 4 + length);
    frame[0] = 0x80 | opcode;
    if (extra === 0) frame[1] = 0x80 | length;
    else if (extra === 2) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(length), 2);
    }
    randomFillSync(this.mask);
    const start = 2 + extra;
    this.mask.copy(frame, start);
    for (let i = 0; i < length; i += 1)
      frame[start + 4 + i] = (payload[i] ?? 0) ^ (this.mask[i & 3] ?? 0);
    this.socket.write(frame);
  }

  private receive(chunk: Buffer): void {
    const data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let at = 0;
    while (data.length - at >= 2) {
      const b0 = data[at] ?? 0;
      const b1 = data[at + 1] ?? 0;
      if ((b0 & 0x80) === 0 || (b1 & 0x80) !== 0) {
        this.socket.destroy(); // fragmented or masked: not what the server sends
        return;
      }
      let length = b1 & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length - at < 4) break;
        length = data.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (data.length - at < 10) break;
        length = Number(data.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (data.length - at < header + length) break;
      const payload = data.subarray(at + header, at + header + length);
      at += header + length;
      switch (b0 & 0x0f) {
        case OP_BINARY:
          this.onMessage(payload);
          break;
        case OP_TEXT:
          this.onText(payload);
          break;
        case OP_PING:
          this.write(OP_PONG, payload);
          break;
        case OP_CLOSE:
          this.write(OP_CLOSE, payload.subarray(0, 2));
          this.socket.end();
          return;
        default:
          break; // pong frames: never asked for
      }
    }
    if (at < data.length) {
      // Keep the partial frame (a copy: a view would pin the whole chunk).
      this.pending = Buffer.from(data.subarray(at));
    }
  }
}
