/**
 * Prometheus metrics (prom-client). Each app has a registry of its own (several apps share a
 * process in tests), never prom-client's global one. Counted here: HTTP requests by route
 * pattern and status, database queries by operation, refusals by limit name; the gateway and
 * services report sends, deliveries, sockets and the Redis bus (see `Metrics`).
 *
 * Who may read them (docs/decisions/0018-metrics-and-openapi.md): with METRICS_TOKEN,
 * `GET /metrics` on the main address answers a request bearing that token (compared in
 * constant time); with METRICS_LISTEN, a second small HTTP server on that address serves
 * only /metrics (asking for the token too when one is set). With neither, /metrics is a 404:
 * nothing is public by default.
 *
 * Every label takes a bounded set of values (route patterns, never URLs; limit and operation
 * names; status codes), and nothing names a user, a room or an address. On the hot paths a
 * count is a plain number turned into a counter when scraped.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatError } from '@securechat/protocol';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { OperationNodeKind } from 'kysely';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { RedisBusStats } from '../events/redis.js';
import type { Storage } from '../storage/db.js';

export const METRICS_PATH = '/metrics';

/** Values read when the metrics are scraped, from whoever owns them. */
interface Probes {
  /** Open WebSocket connections on this node. */
  openSockets: () => number;
  /** Bytes written to this node's sockets and not yet sent: the fan-out's queue. */
  queuedBytes: () => number;
  /** The Redis bus: its counts and whether each connection is ready. */
  redis: { stats: RedisBusStats; ready: (connection: 'commands' | 'subscriber') => boolean };
}

export interface Metrics {
  readonly registry: Registry;
  /** Something refused by the limit of this name (the limits' own names: a bounded set). */
  readonly refused: (limit: string) => void;
  /** A `send` acknowledged; `receivedAt` is performance.now() when its frame arrived. */
  acked(receivedAt: number): void;
  /** Sends committed in one transaction (group commit: those of one event-loop turn). */
  readonly sendBatch: (size: number) => void;
  /** A `send` answered with an error: refused (a ChatError) or failed (a bug, an outage). */
  sendFailed(outcome: 'refused' | 'failed'): void;
  /** Counts bumped on the hottest paths, read into counters when scraped. */
  readonly counts: { deliveries: number };
  /** Say where a value comes from; its series appear from then on. */
  probe<K extends keyof Probes>(name: K, read: Probes[K]): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
    /** Where METRICS_LISTEN's server listens, once the app is ready (null without it). */
    metricsAddress(): AddressInfo | null;
  }
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Kysely's root node of a query, as an operation label (begin/commit and raw SQL are other). */
const OPERATIONS: Partial<Record<OperationNodeKind, string>> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
};

function createMetrics(exposed: boolean): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // Event-loop lag, heap, GC, CPU, handles. Its event-loop monitor runs until the process
  // ends, so only an app that shows its metrics starts one.
  if (exposed) collectDefaultMetrics({ register: registry });

  const probes: Partial<Probes> = {};
  const counts = { deliveries: 0 };

  const refusals = new Counter({
    name: 'securechat_rate_limit_refusals_total',
    help: 'Requests and frames refused by a limit, by limit name.',
    labelNames: ['limit'] as const,
    registers,
  });
  const sends = new Counter({
    name: 'securechat_sends_total',
    help: 'Realtime sends answered, by result (acked, refused, failed).',
    labelNames: ['result'] as const,
    registers,
  });
  // Every result from the start, so a rate over them exists before the first send.
  for (const result of ['acked', 'refused', 'failed']) sends.inc({ result }, 0);
  const ackSeconds = new Histogram({
    name: 'securechat_send_ack_seconds',
    help: 'From a send frame arriving to its ack being written (stored before the ack).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const batchSizes = new Histogram({
    name: 'securechat_send_batch_size',
    help: 'Sends committed together in one transaction (those arriving in one event-loop turn).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers,
  });
  new Counter({
    name: 'securechat_deliveries_total',
    help: 'Frames the fan-out handed to sockets on this node.',
    registers,
    collect() {
      this.reset();
      this.inc(counts.deliveries);
    },
  });
  new Gauge({
    name: 'securechat_ws_connections',
    help: 'Open WebSocket connections on this node.',
    registers,
    collect() {
      this.set(probes.openSockets?.() ?? 0);
    },
  });
  new Gauge({
    name: 'securechat_fanout_queued_bytes',
    help: 'Bytes written to sockets on this node and not yet sent.',
    registers,
    collect() {
      this.set(probes.queuedBytes?.() ?? 0);
    },
  });

  const redisMetrics = () => {
    new Gauge({
      name: 'securechat_redis_connected',
      help: 'Whether each Redis connection of this node is ready (1) or not (0).',
      labelNames: ['connection'] as const,
      registers,
      collect() {
        for (const connection of ['commands', 'subscriber'] as const)
          this.set({ connection }, probes.redis?.ready(connection) ? 1 : 0);
      },
    });
    new Counter({
      name: 'securechat_redis_publish_errors_total',
      help: 'Fan-out publishes to Redis that failed (other nodes missed them until a resume).',
      registers,
      collect() {
        this.reset();
        this.inc(probes.redis?.stats.failed ?? 0);
      },
    });
    new Gauge({
      name: 'securechat_fanout_redis_pending',
      help: 'Fan-out publishes sent to Redis and not yet answered.',
      registers,
      collect() {
        this.set(probes.redis?.stats.pending ?? 0);
      },
    });
  };

  return {
    registry,
    counts,
    refused: (limit) => refusals.inc({ limit }),
    acked(receivedAt) {
      sends.inc({ result: 'acked' });
      ackSeconds.observe((performance.now() - receivedAt) / 1000);
    },
    sendBatch: (size) => batchSizes.observe(size),
    sendFailed: (result) => sends.inc({ result }),
    probe(name, read) {
      if (name === 'redis' && probes.redis === undefined) redisMetrics();
      probes[name] = read;
    },
  };
}

/** True when the Authorization header bears the token; constant time in the token's value. */
function bearerOf(expected: string): (header: string | undefined) => boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  const want = digest(expected);
  return (header) => {
    const given = /^Bearer ([^\s]+)$/i.exec(header ?? '')?.[1];
    // Hashes of equal length, so the comparison takes the same time whatever was sent.
    return timingSafeEqual(digest(given ?? ''), want) && given !== undefined;
  };
}

/** METRICS_LISTEN's server: GET /metrics and nothing else. */
async function listenForScrapes(
  app: FastifyInstance,
  listen: { host: string; port: number },
  authorized: ((header: string | undefined) => boolean) | null,
): Promise<Server> {
  const { registry } = app.metrics;
  const answer = (request: IncomingMessage): Promise<[number, string, string]> => {
    const path = (request.url ?? '').split('?', 1)[0];
    if (path !== METRICS_PATH) return Promise.resolve([404, 'text/plain', 'Not found.\n']);
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return Promise.resolve([405, 'text/plain', 'Method not allowed.\n']);
    if (authorized && !authorized(request.headers.authorization))
      return Promise.resolve([401, 'text/plain', 'Unauthorized.\n']);
    return registry.metrics().then((text) => [200, registry.contentType, text]);
  };
  const server = createServer(
    { headersTimeout: 5_000, requestTimeout: 10_000, keepAliveTimeout: 5_000 },
    (request, response) => {
      answer(request)
        .catch((error: unknown) => {
          app.log.error({ err: error }, 'collecting metrics failed');
          return [500, 'text/plain', 'Internal error.\n'] as [number, string, string];
        })
        .then(([status, type, body]) => {
          response.writeHead(status, {
            'content-type': type,
            'cache-control': 'no-store',
            'x-content-type-options': 'nosniff',
            ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
          });
          response.end(request.method === 'HEAD' ? undefined : body);
        })
        .catch(() => response.destroy());
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

async function metricsPlugin(
  app: FastifyInstance,
  opts: { config: Config; storage: Storage },
): Promise<void> {
  const { token, listen } = opts.config.metrics;
  const metrics = createMetrics(token !== null || listen !== null);
  app.decorate('metrics', metrics);
  const registers = [metrics.registry];

  const httpRequests = new Counter({
    name: 'securechat_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpSeconds = new Histogram({
    name: 'securechat_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route's pattern (never the URL); a request no route matched is "none".
    const route = request.routeOptions.url ?? 'none';
    const method = HTTP_METHODS.has(request.method) ? request.method : 'OTHER';
    httpRequests.inc({ method, route, status: String(reply.statusCode) });
    httpSeconds.observe({ method, route }, reply.elapsedTime / 1000);
  });

  const querySeconds = new Histogram({
    name: 'securechat_db_query_seconds',
    help: 'Database query time, by operation (select, insert, update, delete, other).',
    labelNames: ['operation'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const queryErrors = new Counter({
    name: 'securechat_db_query_errors_total',
    help: 'Database queries that failed.',
    registers,
  });
  opts.storage.observeQueries((event) => {
    const operation = OPERATIONS[event.query.query.kind] ?? 'other';
    querySeconds.observe({ operation }, event.queryDurationMillis / 1000);
    if (event.level === 'error') queryErrors.inc();
  });

  let server: Server | null = null;
  app.decorate('metricsAddress', () => (server?.address() as AddressInfo | null) ?? null);
  // Ready means serving: a METRICS_LISTEN that can't be bound stops the start.
  if (listen) {
    app.addHook('onReady', async () => {
      server = await listenForScrapes(app, listen, token === null ? null : bearerOf(token));
      app.log.info({ metrics: `${listen.host}:${app.metricsAddress()?.port}` }, 'metrics ready');
    });
  }
  app.addHook('onClose', async () => {
    opts.storage.observeQueries(null);
    if (!server) return;
    const closing = server;
    await new Promise<void>((resolve) => {
      closing.close(() => resolve());
      closing.closeAllConnections();
    });
  });
}

/**
 * `GET /metrics` on the main address: for the METRICS_TOKEN bearer only; a 404 without one,
 * as for any path that isn't there. Registered at the root, after the limits (it counts
 * against the per-address budget like every request) and outside the API scope.
 */
export async function metricsRoute(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { token } = opts.config.metrics;
  const authorized = token === null ? null : bearerOf(token);
  app.get(METRICS_PATH, { schema: { hide: true } }, async (request, reply) => {
    if (!authorized) return reply.callNotFound();
    if (!authorized(request.headers.authorization)) {
      reply.header('www-authenticate', 'Bearer');
      throw new ChatError('CHAT_ERR_UNAUTHENTICATED');
    }
    const text = await app.metrics.registry.metrics();
    return reply.type(app.metrics.registry.contentType).send(text);
  });
}

export default fp(metricsPlugin, { name: 'metrics' });
