/**
 * One error handler for the whole server. Every error leaves as `{ code, message }` with a
 * stable CHAT_ERR_* code and the catalogue's status; browsers asking for a page get designed
 * HTML 404/500 pages. Nothing that names the framework, and no stack trace, ever reaches a
 * client; unexpected errors are logged with the request id.
 *
 * Three kinds of answer are written before any route or hook runs, so they have their own
 * entry points here, wired in app.ts: `frameworkErrorHandler` (a URL the router cannot decode)
 * and `clientErrorHandler` (a request the HTTP parser refuses: malformed, headers too large,
 * too slow).
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ChatError, ErrorCatalogue, type ErrorBody, type ErrorCode } from '@securechat/protocol';
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { ERROR_PAGE, NOT_FOUND_PAGE, PAGES_CSS, PAGES_CSS_PATH } from './pages.js';
import { baselineHeaders } from './security.js';

export type ErrorAnswer = ErrorBody & { status: number };

function answer(code: ErrorCode, message: string = ErrorCatalogue[code].message): ErrorAnswer {
  return { code, message, status: ErrorCatalogue[code].status };
}

/** Fastify's own error codes, translated into ours (with a message a person can act on). */
const FRAMEWORK_CODES: Record<string, ErrorAnswer> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: answer('CHAT_ERR_UNSUPPORTED_MEDIA_TYPE'),
  FST_ERR_CTP_EMPTY_TYPE: answer('CHAT_ERR_UNSUPPORTED_MEDIA_TYPE'),
  FST_ERR_CTP_INVALID_TYPE: answer('CHAT_ERR_UNSUPPORTED_MEDIA_TYPE'),
  FST_ERR_CTP_BODY_TOO_LARGE: answer('CHAT_ERR_PAYLOAD_TOO_LARGE'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: answer(
    'CHAT_ERR_VALIDATION',
    'The request body does not match its Content-Length.',
  ),
  FST_ERR_CTP_EMPTY_JSON_BODY: answer(
    'CHAT_ERR_VALIDATION',
    'The request body is empty: send a JSON object.',
  ),
  FST_ERR_CTP_INVALID_JSON_BODY: answer(
    'CHAT_ERR_VALIDATION',
    'The request body is not valid JSON.',
  ),
  FST_ERR_BAD_URL: answer('CHAT_ERR_VALIDATION', 'The address is not valid.'),
  FST_ERR_MAX_PARAM_LENGTH: answer('CHAT_ERR_VALIDATION', 'The address is too long.'),
  FST_ERR_NOT_FOUND: answer('CHAT_ERR_NOT_FOUND'),
  FST_CSRF_INVALID_TOKEN: answer('CHAT_ERR_CSRF'),
  FST_CSRF_MISSING_SECRET: answer('CHAT_ERR_CSRF'),
};

/** Any other client error, by its HTTP status; the message is always ours. */
const BY_STATUS: Record<number, ErrorCode> = {
  401: 'CHAT_ERR_UNAUTHENTICATED',
  403: 'CHAT_ERR_FORBIDDEN',
  404: 'CHAT_ERR_NOT_FOUND',
  405: 'CHAT_ERR_METHOD_NOT_ALLOWED',
  413: 'CHAT_ERR_PAYLOAD_TOO_LARGE',
  415: 'CHAT_ERR_UNSUPPORTED_MEDIA_TYPE',
  429: 'CHAT_ERR_RATE_LIMITED',
  503: 'CHAT_ERR_UNAVAILABLE',
};

function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

const PLACES: Record<string, string> = {
  querystring: ' in the query string',
  params: ' in the address',
  headers: ' in the headers',
};

/** A validation failure in words, naming the field, without the validator's jargon. */
function validationAnswer(error: FastifyError): ErrorAnswer {
  const first = error.validation?.[0];
  if (!first) return answer('CHAT_ERR_VALIDATION');
  const path = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const params = first.params;
  const extra = typeof params.additionalProperty === 'string' ? params.additionalProperty : null;
  const missing = typeof params.missingProperty === 'string' ? params.missingProperty : null;
  const field = extra ?? missing ?? (path || undefined);
  const name = `"${path || error.validationContext || 'body'}"`;
  let reason: string;
  if (extra) reason = `unknown field "${extra}"`;
  else if (missing) reason = `"${missing}" is required`;
  else if (first.keyword === 'maxLength' || first.keyword === 'maxItems')
    reason = `${name} is too long`;
  else if (first.keyword === 'minLength' || first.keyword === 'minItems')
    reason = `${name} is too short`;
  else if (first.keyword === 'maximum') reason = `${name} is too large`;
  else if (first.keyword === 'minimum') reason = `${name} is too small`;
  else if (first.keyword === 'pattern' || first.keyword === 'format')
    reason = `${name} has characters that are not allowed`;
  else if (first.keyword === 'type') reason = `${name} has the wrong type`;
  else reason = `${name} is not valid`;
  const where = PLACES[error.validationContext ?? 'body'] ?? '';
  return {
    ...answer('CHAT_ERR_VALIDATION', `The request is not valid: ${reason}${where}.`),
    ...(field ? { field } : {}),
  };
}

/** Any thrown value → the status and body the client gets. Never the error's own message. */
export function toErrorAnswer(error: unknown): ErrorAnswer {
  if (error instanceof ChatError) return { ...error.toBody(), status: error.status };
  const fastifyError = error as Partial<FastifyError> | null;
  if (fastifyError?.validation) return validationAnswer(fastifyError as FastifyError);
  const mapped = fastifyError?.code === undefined ? undefined : FRAMEWORK_CODES[fastifyError.code];
  if (mapped) return mapped;
  const status = fastifyError?.statusCode;
  if (status === 400 && error instanceof SyntaxError) {
    // The JSON parser's own error (bad syntax, or a __proto__ key it refuses).
    return answer('CHAT_ERR_VALIDATION', 'The request body is not valid JSON.');
  }
  if (status !== undefined && status >= 400 && status < 600) {
    const code = BY_STATUS[status];
    if (code) return answer(code);
    if (status < 500) return answer('CHAT_ERR_VALIDATION');
  }
  return answer('CHAT_ERR_INTERNAL');
}

async function send(request: FastifyRequest, reply: FastifyReply, error: unknown): Promise<void> {
  const { status, ...body } = toErrorAnswer(error);
  if (status >= 500) {
    // The child logger carries the request id; the client gets none of this.
    request.log.error({ err: error }, 'request failed');
  }
  reply.code(status);
  if (body.retryAfter !== undefined) reply.header('retry-after', String(body.retryAfter));
  if (wantsHtml(request) && (status === 404 || status >= 500)) {
    await reply.type('text/html; charset=utf-8').send(status === 404 ? NOT_FOUND_PAGE : ERROR_PAGE);
    return;
  }
  await reply.type('application/json; charset=utf-8').send(body);
}

/**
 * The routes the server has, so a request for a known path with a method it does not take gets
 * 405 (with Allow) instead of 404. Catch-all routes (the web app's `/*`) are left out: they would
 * make every path "known".
 */
class RouteTable {
  private readonly routes: { pattern: RegExp; methods: Set<string> }[] = [];

  add(url: string, method: string | string[]): void {
    if (url.includes('*')) return;
    const source = url
      .split('/')
      .map((segment) =>
        segment.includes(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    const methods = new Set(Array.isArray(method) ? method : [method]);
    if (methods.has('GET')) methods.add('HEAD');
    const pattern = new RegExp(`^${source}$`);
    const known = this.routes.find((r) => r.pattern.source === pattern.source);
    if (known) for (const m of methods) known.methods.add(m);
    else this.routes.push({ pattern, methods });
  }

  /** The methods some route takes at this path (empty when no route matches it). */
  allowed(path: string): Set<string> {
    const methods = new Set<string>();
    for (const route of this.routes) {
      if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    }
    return methods;
  }
}

async function errorsPlugin(app: FastifyInstance): Promise<void> {
  // JSON only: without the text/plain parser a cross-site form's body is refused with 415.
  app.removeContentTypeParser('text/plain');

  const routes = new RouteTable();
  app.addHook('onRoute', (route) => routes.add(route.url, route.method));

  app.get(PAGES_CSS_PATH, { schema: { hide: true } }, async (_request, reply) => {
    await reply
      .type('text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(PAGES_CSS);
  });

  app.setErrorHandler(async (error, request, reply) => send(request, reply, error));

  app.setNotFoundHandler(async (request, reply) => {
    const allowed = routes.allowed(request.url.split('?', 1)[0] ?? '');
    if (allowed.size > 0 && !allowed.has(request.method)) {
      reply.header('allow', [...allowed].sort().join(', '));
      return send(request, reply, new ChatError('CHAT_ERR_METHOD_NOT_ALLOWED'));
    }
    return send(request, reply, new ChatError('CHAT_ERR_NOT_FOUND'));
  });
}

export default fp(errorsPlugin, { name: 'errors' });

/**
 * Fastify's `frameworkErrors` option: a URL the router cannot decode (`/%zz`) or an oversized
 * parameter. No hook has run, so the security headers are set here.
 */
export function frameworkErrorHandler(
  config: Config,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  const headers = baselineHeaders(config);
  return (error, _request, reply) => {
    const { status, ...body } = toErrorAnswer(error);
    void reply.headers(headers).code(status).type('application/json; charset=utf-8').send(body);
  };
}

interface ConnectionError extends Error {
  code?: string;
}

/** What the parser's refusals become. A timed-out client gets no body: it is not listening. */
function clientErrorAnswer(code: string | undefined): { status: number; body: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, body: '' };
  if (code === 'HPE_HEADER_OVERFLOW') {
    const { status, message } = answer(
      'CHAT_ERR_PAYLOAD_TOO_LARGE',
      'The request headers are too large.',
    );
    return { status, body: JSON.stringify({ code: 'CHAT_ERR_PAYLOAD_TOO_LARGE', message }) };
  }
  const message = 'The request could not be read.';
  return { status: 400, body: JSON.stringify({ code: 'CHAT_ERR_VALIDATION', message }) };
}

/**
 * Fastify's `clientErrorHandler` option: the HTTP parser refused a request (malformed, headers
 * over the limit, headers or body too slow). Answer in our format with our headers, then close.
 */
export function clientErrorHandler(
  config: Config,
  logger: FastifyBaseLogger,
): (error: ConnectionError, socket: Socket) => void {
  const headers = Object.entries(baselineHeaders(config))
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    logger.debug({ code: error.code }, 'client connection refused');
    // A response already under way (say, a refusal sent before a slow body finished) must not
    // get a second status line written into it.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && inFlight?.headersSent !== true) {
      const { status, body } = clientErrorAnswer(error.code);
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${headers}` +
          (body ? 'content-type: application/json; charset=utf-8\r\n' : '') +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}
