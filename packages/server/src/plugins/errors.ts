/**
 * One error handler for the whole server. Every error leaves as `{ code, message }` with a
 * stable CHAT_ERR_* code and the catalogue's status; browsers asking for a page get designed
 * HTML 404/500 pages. Nothing that names the framework, and no stack trace, ever reaches a
 * client; unexpected errors are logged with the request id.
 */
import { ChatError, ErrorCatalogue, type ErrorBody, type ErrorCode } from '@securechat/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ERROR_PAGE, NOT_FOUND_PAGE, PAGES_CSS, PAGES_CSS_PATH } from './pages.js';

/** Fastify's own error codes, translated into ours. */
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'CHAT_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'CHAT_ERR_VALIDATION',
  FST_ERR_CTP_BODY_TOO_LARGE: 'CHAT_ERR_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'CHAT_ERR_VALIDATION',
  FST_ERR_CTP_INVALID_JSON_BODY: 'CHAT_ERR_VALIDATION',
  FST_ERR_CTP_EMPTY_TYPE: 'CHAT_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'CHAT_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_NOT_FOUND: 'CHAT_ERR_NOT_FOUND',
  FST_CSRF_INVALID_TOKEN: 'CHAT_ERR_CSRF',
  FST_CSRF_MISSING_SECRET: 'CHAT_ERR_CSRF',
};

function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('text/html');
}

function validationMessage(error: FastifyError): { message: string; field?: string } {
  const first = error.validation?.[0];
  if (!first) return { message: ErrorCatalogue.CHAT_ERR_VALIDATION.message };
  const path = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const params = first.params;
  const extra = typeof params.additionalProperty === 'string' ? params.additionalProperty : null;
  const missing = typeof params.missingProperty === 'string' ? params.missingProperty : null;
  const field = extra ?? missing ?? (path || undefined);
  let reason: string;
  if (extra) reason = `unknown field "${extra}"`;
  else if (missing) reason = `"${missing}" is required`;
  else if (first.keyword === 'maxLength') reason = `"${path}" is too long`;
  else if (first.keyword === 'minLength') reason = `"${path}" is too short`;
  else if (first.keyword === 'pattern') reason = `"${path}" has characters that are not allowed`;
  else if (first.keyword === 'type')
    reason = `"${path || error.validationContext}" has the wrong type`;
  else reason = `"${path || error.validationContext}" is not valid`;
  const where = error.validationContext === 'body' ? '' : ` in the ${error.validationContext}`;
  return { message: `The request is not valid: ${reason}${where}.`, ...(field ? { field } : {}) };
}

export function toErrorBody(error: unknown): ErrorBody & { status: number } {
  if (error instanceof ChatError) return { ...error.toBody(), status: error.status };
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    const { message, field } = validationMessage(fastifyError as FastifyError);
    return {
      code: 'CHAT_ERR_VALIDATION',
      message,
      ...(field ? { field } : {}),
      status: 400,
    };
  }
  const mapped = fastifyError.code ? FRAMEWORK_CODES[fastifyError.code] : undefined;
  if (mapped) {
    return {
      code: mapped,
      message: ErrorCatalogue[mapped].message,
      status: ErrorCatalogue[mapped].status,
    };
  }
  if (fastifyError.statusCode === 400 && error instanceof SyntaxError) {
    return {
      code: 'CHAT_ERR_VALIDATION',
      message: 'The request body is not valid JSON.',
      status: 400,
    };
  }
  if (fastifyError.statusCode === 413) {
    return {
      code: 'CHAT_ERR_PAYLOAD_TOO_LARGE',
      message: ErrorCatalogue.CHAT_ERR_PAYLOAD_TOO_LARGE.message,
      status: 413,
    };
  }
  if (fastifyError.statusCode === 503) {
    return {
      code: 'CHAT_ERR_UNAVAILABLE',
      message: ErrorCatalogue.CHAT_ERR_UNAVAILABLE.message,
      status: 503,
    };
  }
  if (
    fastifyError.statusCode !== undefined &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500
  ) {
    return {
      code: 'CHAT_ERR_VALIDATION',
      message: ErrorCatalogue.CHAT_ERR_VALIDATION.message,
      status: 400,
    };
  }
  return {
    code: 'CHAT_ERR_INTERNAL',
    message: ErrorCatalogue.CHAT_ERR_INTERNAL.message,
    status: 500,
  };
}

async function send(request: FastifyRequest, reply: FastifyReply, error: unknown): Promise<void> {
  const { status, ...body } = toErrorBody(error);
  if (status >= 500) {
    request.log.error({ err: error, reqId: request.id }, 'request failed');
  }
  reply.code(status);
  if (body.retryAfter !== undefined) reply.header('retry-after', String(body.retryAfter));
  if (wantsHtml(request) && (status === 404 || status >= 500)) {
    await reply.type('text/html; charset=utf-8').send(status === 404 ? NOT_FOUND_PAGE : ERROR_PAGE);
    return;
  }
  await reply.type('application/json; charset=utf-8').send(body);
}

async function errorsPlugin(app: FastifyInstance): Promise<void> {
  // JSON only: without the text/plain parser a cross-site form's body is refused with 415.
  app.removeContentTypeParser('text/plain');

  app.get(PAGES_CSS_PATH, async (_request, reply) => {
    await reply
      .type('text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(PAGES_CSS);
  });

  app.setErrorHandler(async (error, request, reply) => send(request, reply, error));
  app.setNotFoundHandler(async (request, reply) =>
    send(request, reply, new ChatError('CHAT_ERR_NOT_FOUND')),
  );
}

export default fp(errorsPlugin, { name: 'errors' });
