/**
 * The realtime gateway: one authenticated WebSocket per device at /api/ws.
 *
 * The upgrade is refused unless the session cookie is valid and the Origin is ours (no
 * cross-site WebSocket hijacking). Frames are binary MessagePack (packages/protocol); each
 * request gets exactly one reply; malformed input gets an error frame, never a crash. Sends
 * are rate-limited per device and per user, every other frame against its type's per-user
 * budget (events/limits.ts FRAME_BUDGETS), always with an answer; a user's connections are
 * capped over all nodes (a slot is reserved atomically before the upgrade goes ahead);
 * upgrades have their own per-address budget, apart from the API's; a dead peer is
 * dropped after a missed heartbeat; a client too slow to drain its buffer is disconnected
 * (it resumes later without loss); a socket whose session ends is closed within seconds.
 */
import websocket from '@fastify/websocket';
import {
  ApiRoutes,
  ChatError,
  decodeClientFrame,
  encodeFrame,
  errorFrameFor,
  FRAME_VERSION,
  Limits,
  type ClientFrame,
  type ErrorCode,
  type ServerFrame,
} from '@securechat/protocol';
import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import * as wsLibrary from 'ws';
import type { RawData, WebSocket } from 'ws';
import type { Config } from '../config.js';
import type { AuthContext } from '../domain/accounts.js';
import { authOf } from '../plugins/auth.js';
import { newId } from '../domain/crypto.js';
import { senderOf } from '../domain/delivery.js';
import { epochOf } from '../domain/ids.js';
import { createMemoryConnections } from '../events/connections.js';
import { FRAME_BUDGETS } from '../events/limits.js';
import { createRedisConnections } from '../events/redis.js';
import { createHandlers } from './handlers.js';
import { isSameOrigin } from '../plugins/csrf.js';

export const WS_PATH = ApiRoutes.socket;
const BINARY_OPCODE = 2;
/** ws's frame builder (exported by ws, missing from its type declarations). */
const { Sender } = wsLibrary as unknown as {
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
};
const HEARTBEAT_MS = 30_000;
const SESSION_CHECK_MS = 5_000;
/**
 * Node keeps a socket's idle timer (and the callback bound for it) after `setTimeout(0)`
 * cleared it, as `ws` does on upgrade: drop it when it is cleared, about 200 bytes a socket.
 */
function forgetClearedTimer(socket: Socket): void {
  const holder = socket as unknown as Record<symbol, { _idleTimeout?: number } | null>;
  const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'timeout');
  if (key !== undefined && holder[key]?._idleTimeout === -1) holder[key] = null;
}

/** A connection with more than this queued and unsent is too slow: drop it, it will resume. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

interface Connection {
  id: string;
  socket: WebSocket;
  auth: AuthContext;
  alive: boolean;
  unsubscribe: () => void;
  /** Settles once the user is in #general and shown online: requests wait for it. */
  ready: Promise<unknown>;
  /** The requests of this connection, one after the other (the last one's handling). */
  queue: Promise<unknown>;
  /** Requests received and not yet answered. */
  inFlight: number;
  /** Its slot under the per-user cap is freed when it closes (not by the raw socket's close). */
  holdsSlot: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Close, now, the sockets of sessions that ended (other nodes do at their next check). */
    recheckSessions(): void;
    /** Open WebSocket connections on this node. */
    openConnections(): number;
  }
}

export interface GatewayOptions {
  config: Config;
  heartbeatMs?: number;
  sessionCheckMs?: number;
}

async function gatewayPlugin(app: FastifyInstance, opts: GatewayOptions): Promise<void> {
  const { delivery, bus, accounts, limiter, redis } = app.services;
  const { metrics } = app;
  const connections = new Map<string, Set<Connection>>();
  const connectionOf = new WeakMap<WebSocket, Connection>();
  /** Slots under the per-user cap, on every node. */
  const slots = redis ? createRedisConnections(redis, app.log) : createMemoryConnections();
  /** The connection id an upgrade reserved its slot under, and what frees the slot. */
  const reserved = new WeakMap<FastifyRequest, { id: string; release: () => void }>();
  const releaseSlot = (userId: string, id: string) => {
    slots.release(userId, id).catch((error: unknown) => {
      app.log.warn({ err: error, connection: id }, 'releasing a connection slot failed');
    });
  };

  await app.register(websocket, {
    options: { maxPayload: Limits.FRAME_MAX_BYTES, perMessageDeflate: false },
  });

  /** Frames ready for the wire, by the encoded bytes they carry (one per fanned-out event). */
  const framed = new WeakMap<Uint8Array, Buffer>();
  function wireFrame(bytes: Uint8Array): Buffer {
    let wire = framed.get(bytes);
    if (!wire) {
      const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const parts = Sender.frame(data, {
        fin: true,
        opcode: BINARY_OPCODE,
        mask: false,
        readOnly: true,
        rsv1: false,
      });
      wire = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      framed.set(bytes, wire);
    }
    return wire;
  }

  // Everything written to one socket in one turn of the event loop leaves in one system call:
  // a socket is corked at its first frame and uncorked once the turn's work is done.
  const corked = new Set<Duplex>();
  const uncorkAll = () => {
    for (const raw of corked) raw.uncork();
    corked.clear();
  };
  const send = (socket: WebSocket, frame: ServerFrame) => deliver(socket, encodeFrame(frame));
  function deliver(socket: WebSocket, bytes: Uint8Array): void {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      socket.close(1013, 'too slow: reconnect and resume');
      return;
    }
    const raw = (socket as unknown as { _socket?: Duplex })._socket;
    if (!raw) {
      socket.send(bytes, { binary: true });
      return;
    }
    if (!corked.has(raw)) {
      if (corked.size === 0) setImmediate(uncorkAll);
      raw.cork();
      corked.add(raw);
    }
    // The same WebSocket frame for every recipient: framed once (by ws's own framing), then
    // written as is. Safe because this server's sender never queues (no compression, no Blobs).
    raw.write(wireFrame(bytes));
  }
  const fail = (
    socket: WebSocket,
    id: number | null,
    code: ErrorCode,
    extra: { retryAfter?: number; message?: string } = {},
  ) =>
    send(socket, {
      ...errorFrameFor({ id, code, message: extra.message ?? new ChatError(code).message }),
      ...(extra.retryAfter === undefined ? {} : { retryAfter: extra.retryAfter }),
    });

  const handlers = createHandlers(app.services);

  /** Charge the frame to its type's per-user budget (sends are charged by their handler). */
  async function charge(connection: Connection, frame: ClientFrame): Promise<void> {
    const budget = FRAME_BUDGETS[frame.t];
    if (budget === 'send') return;
    const retryAfter = await limiter.consume(budget, connection.auth.user.id);
    if (retryAfter !== null)
      throw new ChatError('CHAT_ERR_RATE_LIMITED', undefined, { retryAfter });
  }

  /** Answer one frame; `receivedAt` (performance.now()) times a send to its ack. */
  async function handle(
    connection: Connection,
    frame: ClientFrame,
    receivedAt: number,
  ): Promise<void> {
    await charge(connection, frame);
    const reply = await handlers.handle(frame, {
      auth: connection.auth,
      connectionId: connection.id,
    });
    send(connection.socket, { v: FRAME_VERSION, id: frame.id, ...reply });
    if (frame.t === 'send') metrics.acked(receivedAt);
  }

  app.get(
    WS_PATH,
    {
      websocket: true,
      // Not the per-address API budget (after a restart a whole office behind one address
      // reconnects at once): upgrades have their own, and each user's connections are capped.
      config: {
        rateLimit: { max: Limits.WS_UPGRADES_PER_MINUTE_PER_ADDRESS, timeWindow: 60_000 },
      },
      preValidation: async (request) => {
        if (!isSameOrigin(request.headers, opts.config.publicOrigin))
          throw new ChatError('CHAT_ERR_CSRF');
        const auth = authOf(request);
        // A plain GET (no upgrade) is answered 404 by the route: it takes no slot.
        if (!request.ws) return;
        const id = newId();
        if (!(await slots.reserve(auth.user.id, id, Limits.CONNECTIONS_PER_USER_MAX))) {
          metrics.refused('connectionsPerUser');
          throw new ChatError('CHAT_ERR_TOO_MANY_CONNECTIONS');
        }
        // Freed when the socket closes, whether the upgrade completed or not (once it has,
        // by the connection's close: see onClose). Holds neither the request nor its reply.
        const userId = auth.user.id;
        const release = () => releaseSlot(userId, id);
        const raw = request.raw.socket;
        if (raw.destroyed) {
          release();
          throw new ChatError('CHAT_ERR_UNAVAILABLE');
        }
        raw.once('close', release);
        reserved.set(request, { id, release });
      },
    },
    (socket, request) => {
      const auth = authOf(request);
      // Only what a connection needs outlives the upgrade. The plugin's error listener closes
      // over the upgrade's request and reply, the raw socket still points at the unused HTTP
      // response and keeps its cleared idle timer, and the request's logger is a child logger
      // of its own: let them all go (a few KB per idle connection; logs name the connection).
      const reservation = reserved.get(request);
      const id = reservation?.id ?? newId();
      socket.removeAllListeners('error');
      const upgraded = (socket as unknown as { _socket?: Socket & { _httpMessage?: unknown } })
        ._socket;
      if (upgraded?._httpMessage instanceof ServerResponse)
        upgraded._httpMessage.detachSocket(upgraded);
      if (upgraded) forgetClearedTimer(upgraded);
      // The connection frees its slot when it closes: no listener of its own on the raw socket.
      const holdsSlot = reservation !== undefined && upgraded !== undefined;
      if (holdsSlot) upgraded.removeListener('close', reservation.release);
      // Listen at once (frames may already be arriving); handle them once the user is in #general.
      const ready = delivery.joinGeneral(senderOf(auth)).then(async (joined) => {
        if (joined) handlers.fanOut([joined]);
        await handlers.setPresence(auth, id, 'online');
      });
      const connection: Connection = {
        id,
        socket,
        auth,
        alive: true,
        unsubscribe: bus.subscribe(auth.user.id, auth.device.id, deliveryTo(socket)),
        ready,
        queue: ready,
        inFlight: 0,
        holdsSlot,
      };
      let set = connections.get(auth.user.id);
      if (!set) {
        set = new Set();
        connections.set(auth.user.id, set);
      }
      set.add(connection);
      connectionOf.set(socket, connection);
      // Shared listeners that find the connection by its socket: an idle connection holds no
      // closures of its own.
      socket.on('error', onError);
      socket.on('pong', onPong);
      socket.on('message', onMessage);
      socket.on('close', onClose);
    },
  );

  /** What the fan-out calls for one socket: a frame for it. */
  const deliveryTo = (socket: WebSocket) => (bytes: Uint8Array) => {
    metrics.counts.deliveries += 1;
    deliver(socket, bytes);
  };

  function onError(this: WebSocket, error: Error): void {
    app.log.debug({ err: error, connection: connectionOf.get(this)?.id }, 'websocket error');
    this.terminate();
  }

  function onPong(this: WebSocket): void {
    const connection = connectionOf.get(this);
    if (connection) connection.alive = true;
  }

  function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    const connection = connectionOf.get(this);
    if (!connection) return;
    const { socket } = connection;
    const bytes = isBinary && Buffer.isBuffer(data) ? data : null;
    if (!bytes) {
      fail(socket, null, 'CHAT_ERR_FRAME_MALFORMED', {
        message: 'Frames are binary MessagePack.',
      });
      return;
    }
    const decoded = decodeClientFrame(bytes);
    if (!decoded.ok) {
      send(socket, errorFrameFor(decoded));
      return;
    }
    const frame = decoded.frame;
    const receivedAt = frame.t === 'send' ? performance.now() : 0;
    // One at a time, in arrival order: a device's sends are stored in the order it sent them.
    if (connection.inFlight >= Limits.REQUESTS_IN_FLIGHT_PER_CONNECTION) {
      metrics.refused('requestsInFlight');
      fail(socket, frame.id, 'CHAT_ERR_RATE_LIMITED', {
        retryAfter: 1,
        message: 'Too many requests waiting on this connection. Wait for replies.',
      });
      return;
    }
    connection.inFlight += 1;
    connection.queue = connection.queue
      .then(() => handle(connection, frame, receivedAt))
      .catch((error: unknown) => {
        if (frame.t === 'send')
          metrics.sendFailed(error instanceof ChatError ? 'refused' : 'failed');
        if (error instanceof ChatError) {
          send(socket, {
            ...errorFrameFor({ id: frame.id, code: error.code, message: error.message }),
            ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
            ...(error.field === undefined ? {} : { field: error.field }),
            ...(error.epoch === undefined ? {} : { epoch: epochOf(error.epoch) }),
          });
        } else {
          app.log.error({ err: error, connection: connection.id }, 'realtime request failed');
          fail(socket, frame.id, 'CHAT_ERR_INTERNAL');
        }
      })
      .finally(() => {
        connection.inFlight -= 1;
      });
  }

  function onClose(this: WebSocket): void {
    const connection = connectionOf.get(this);
    if (!connection) return;
    connectionOf.delete(this);
    const { auth, id } = connection;
    if (connection.holdsSlot) releaseSlot(auth.user.id, id);
    connection.unsubscribe();
    void connection.ready
      .then(() => handlers.setPresence(auth, id, null))
      .catch((error: unknown) =>
        app.log.warn({ err: error, connection: id }, 'presence update failed'),
      );
    const set = connections.get(auth.user.id);
    set?.delete(connection);
    if (set?.size === 0) connections.delete(auth.user.id);
  }

  // Fan-out from other nodes may have been lost (a Redis outage ended): every client
  // reconnects and resumes from storage, so nothing stays missing.
  const offMissed = bus.onMissed(() => {
    app.log.warn('live events may have been missed: asking every client to resume');
    for (const set of connections.values())
      for (const c of set) c.socket.close(1012, 'catch up: reconnect and resume');
  });

  // Heartbeat: a peer that missed a whole interval is gone.
  const heartbeat = setInterval(() => {
    for (const set of connections.values()) {
      for (const connection of set) {
        if (!connection.alive) {
          connection.socket.terminate();
          continue;
        }
        connection.alive = false;
        connection.socket.ping();
      }
    }
  }, opts.heartbeatMs ?? HEARTBEAT_MS);

  // Sessions that ended (logout, revoked device, password change, suspension) lose their
  // sockets: every open socket's session is re-checked in a few batched queries, on a timer
  // and at once when an action on this node ended sessions (`app.recheckSessions`).
  let checking = false;
  let again = false;
  const checkSessions = () => {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    const open = [...connections.values()].flatMap((set) => [...set]);
    accounts
      .stillValid([...new Set(open.map((c) => c.auth.sessionId))])
      .then((valid) => {
        for (const c of open)
          if (!valid.has(c.auth.sessionId)) c.socket.close(4001, 'session ended');
      })
      .catch((error: unknown) => app.log.warn({ err: error }, 'session re-check failed'))
      .finally(() => {
        checking = false;
        if (again) {
          again = false;
          checkSessions();
        }
      });
  };
  const sessionCheck = setInterval(checkSessions, opts.sessionCheckMs ?? SESSION_CHECK_MS);
  app.decorate('recheckSessions', checkSessions);
  app.decorate('openConnections', () => {
    let open = 0;
    for (const set of connections.values()) open += set.size;
    return open;
  });
  metrics.probe('openSockets', () => app.openConnections());
  metrics.probe('queuedBytes', () => {
    let bytes = 0;
    for (const set of connections.values()) for (const c of set) bytes += c.socket.bufferedAmount;
    return bytes;
  });

  app.addHook('onClose', async () => {
    offMissed();
    clearInterval(heartbeat);
    clearInterval(sessionCheck);
    for (const set of connections.values())
      for (const c of set) c.socket.close(1001, 'server shutting down');
    await slots.close();
  });
}

export default fp(gatewayPlugin, {
  name: 'gateway',
  dependencies: ['services', 'auth', 'metrics'],
});
