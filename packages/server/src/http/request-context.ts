import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../domain/context.js';

/** What the domain may know of a request: the client's address and its User-Agent. */
export const requestContext = (request: FastifyRequest): RequestContext => ({
  ip: request.ip,
  userAgent: request.headers['user-agent'],
});
