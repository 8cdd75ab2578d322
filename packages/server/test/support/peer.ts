/** A raw WebSocket peer for gateway tests: sends typed requests, keeps every frame received. */
import {
  decodeServerFrame,
  encodeFrame,
  type ClientFrame,
  type ServerFrame,
} from '@securechat/protocol';
import { WebSocket } from 'ws';

/** A client frame without its version and id, which the peer fills in. */
export type Request = ClientFrame extends infer F
  ? F extends ClientFrame
    ? Omit<F, 'v' | 'id'>
    : never
  : never;

/** A test peer: a socket plus its received frames. */
export class Peer {
  readonly frames: ServerFrame[] = [];
  private nextId = 1;
  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const decoded = decodeServerFrame(data);
      if (!decoded.ok) throw new Error(`undecodable server frame: ${decoded.code}`);
      this.frames.push(decoded.frame);
    });
  }

  static async open(url: string, headers: Record<string, string>): Promise<Peer> {
    const socket = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) =>
        reject(new Error(`HTTP ${res.statusCode}`)),
      );
    });
    return new Peer(socket);
  }

  async request<T extends ServerFrame['t']>(
    frame: Request,
  ): Promise<Extract<ServerFrame, { t: T }> | Extract<ServerFrame, { t: 'error' }>> {
    return this.reply(this.post(frame)) as never;
  }

  /** Write a request without waiting for its reply; its id, for `reply`. */
  post(frame: Request): number {
    const id = this.nextId++;
    this.socket.send(encodeFrame({ ...frame, v: 1, id }));
    return id;
  }

  async reply(id: number): Promise<ServerFrame> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = this.frames.find((f) => 'id' in f && f.id === id);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no reply to ${id}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async events(count: number): Promise<Extract<ServerFrame, { t: 'event' }>[]> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const events = this.frames.filter(
        (f): f is Extract<ServerFrame, { t: 'event' }> => f.t === 'event',
      );
      if (events.length >= count) return events;
      if (Date.now() > deadline) throw new Error(`only ${events.length} of ${count} events`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.close();
  }
}
