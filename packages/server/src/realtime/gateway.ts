/**
 * The realtime gateway: one authenticated WebSocket per device at /api/ws.
 *
 * The upgrade is refused unless the session cookie is valid and the Origin is ours (no
 * cross-site WebSocket hijacking). Frames are binary MessagePack (packages/protocol); each
 * request gets exactly one reply; malformed input gets an error frame, never a crash. Sends
 * are rate-limited per device and per user; a user's connections are capped; a dead peer is
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
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { WebSocket } from 'ws';
import type { Config } from '../config.js';
import type { AuthContext } from '../domain/accounts.js';
import { SESSION_COOKIE, authOf } from '../plugins/auth.js';
import { isSameOrigin } from '../plugins/csrf.js';

export const WS_PATH = ApiRoutes.socket;
const HEARTBEAT_MS = 30_000;
const SESSION_CHECK_MS = 5_000;
/** A connection with more than this queued and unsent is too slow: drop it, it will resume. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

interface Connection {
  socket: WebSocket;
  auth: AuthContext;
  token: string;
  alive: boolean;
  unsubscribe: () => void;
}

export interface GatewayOptions {
  config: Config;
  heartbeatMs?: number;
  sessionCheckMs?: number;
}

async function gatewayPlugin(app: FastifyInstance, opts: GatewayOptions): Promise<void> {
  const { delivery, bus, accounts, limiter } = app.services;
  const connections = new Map<string, Set<Connection>>();

  await app.register(websocket, {
    options: { maxPayload: Limits.FRAME_MAX_BYTES, perMessageDeflate: false },
  });

  const send = (socket: WebSocket, frame: ServerFrame) => deliver(socket, encodeFrame(frame));
  function deliver(socket: WebSocket, bytes: Uint8Array): void {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      socket.close(1013, 'too slow: reconnect and resume');
      return;
    }
    socket.send(bytes, { binary: true });
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

  async function limit(connection: Connection): Promise<number | null> {
    return (
      (await limiter.consume('sendDevice', connection.auth.device.id)) ??
      (await limiter.consume('sendUser', connection.auth.user.id))
    );
  }

  async function handle(connection: Connection, frame: ClientFrame): Promise<void> {
    const { socket, auth } = connection;
    switch (frame.t) {
      case 'ping':
        send(socket, { v: FRAME_VERSION, t: 'pong', id: frame.id, at: Date.now() });
        return;
      case 'send': {
        const retryAfter = await limit(connection);
        if (retryAfter !== null) {
          fail(socket, frame.id, 'CHAT_ERR_RATE_LIMITED', { retryAfter });
          return;
        }
        const accepted = await delivery.send(
          { userId: auth.user.id, deviceId: auth.device.id },
          {
            room: frame.room,
            cmid: frame.cmid,
            kind: frame.kind,
            payload: frame.payload,
            epoch: frame.epoch,
          },
        );
        // Persisted: now acknowledge, then fan out (a retry is acknowledged again, not re-sent).
        send(socket, {
          v: FRAME_VERSION,
          t: 'ack',
          id: frame.id,
          room: accepted.event.room,
          seq: accepted.event.seq,
          at: accepted.event.at,
        });
        if (!accepted.duplicate) {
          bus.publish(
            accepted.recipients,
            encodeFrame({ v: FRAME_VERSION, t: 'event', event: accepted.event }),
          );
        }
        return;
      }
      case 'history': {
        const page = await delivery.history(auth.user.id, frame.room, frame.before, frame.limit);
        send(socket, { v: FRAME_VERSION, t: 'page', id: frame.id, ...page });
        return;
      }
      case 'resume': {
        const page = await delivery.resume(auth.user.id, frame.positions);
        send(socket, { v: FRAME_VERSION, t: 'page', id: frame.id, ...page });
        return;
      }
      case 'typing': {
        // Ephemeral: never stored, sent to the other members who are connected now.
        const members = await delivery.members(auth.user.id, frame.room);
        send(socket, { v: FRAME_VERSION, t: 'ok', id: frame.id });
        bus.publish(
          members.filter((m) => m !== auth.user.id),
          encodeFrame({
            v: FRAME_VERSION,
            t: 'typing',
            room: frame.room,
            user: auth.user.id,
            on: frame.on,
          }),
        );
        return;
      }
    }
  }

  app.get(
    WS_PATH,
    {
      websocket: true,
      preValidation: async (request) => {
        if (!isSameOrigin(request.headers, opts.config.publicOrigin))
          throw new ChatError('CHAT_ERR_CSRF');
        const auth = authOf(request);
        const open = connections.get(auth.user.id)?.size ?? 0;
        if (open >= Limits.CONNECTIONS_PER_USER_MAX)
          throw new ChatError('CHAT_ERR_TOO_MANY_CONNECTIONS');
      },
    },
    (socket, request) => {
      const auth = authOf(request);
      const connection: Connection = {
        socket,
        auth,
        token: request.cookies[SESSION_COOKIE] ?? '',
        alive: true,
        unsubscribe: bus.subscribe(auth.user.id, auth.device.id, (bytes) => deliver(socket, bytes)),
      };
      let set = connections.get(auth.user.id);
      if (!set) {
        set = new Set();
        connections.set(auth.user.id, set);
      }
      set.add(connection);
      // Listen at once (frames may already be arriving); handle them once the user is in #general.
      const ready = delivery.joinGeneral(auth.user.id);

      socket.on('pong', () => {
        connection.alive = true;
      });
      socket.on('message', (data, isBinary) => {
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
        ready
          .then(() => handle(connection, frame))
          .catch((error: unknown) => {
            if (error instanceof ChatError) {
              fail(socket, frame.id, error.code, { message: error.message });
            } else {
              request.log.error({ err: error }, 'realtime request failed');
              fail(socket, frame.id, 'CHAT_ERR_INTERNAL');
            }
          });
      });
      socket.on('close', () => {
        connection.unsubscribe();
        set.delete(connection);
        if (set.size === 0) connections.delete(auth.user.id);
      });
    },
  );

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

  // Sessions that ended (logout, revoked device, password change, suspension) lose their sockets.
  const sessionCheck = setInterval(() => {
    void (async () => {
      for (const set of connections.values()) {
        for (const connection of set) {
          const still = await accounts.authenticate(connection.token).catch(() => null);
          if (still === null) connection.socket.close(4001, 'session ended');
        }
      }
    })();
  }, opts.sessionCheckMs ?? SESSION_CHECK_MS);

  app.addHook('onClose', async () => {
    clearInterval(heartbeat);
    clearInterval(sessionCheck);
    for (const set of connections.values())
      for (const c of set) c.socket.close(1001, 'server shutting down');
  });
}

export default fp(gatewayPlugin, { name: 'gateway', dependencies: ['services', 'auth'] });
