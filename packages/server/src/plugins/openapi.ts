/**
 * The HTTP API's description (OpenAPI 3.1), built by @fastify/swagger from the routes' own
 * TypeBox schemas (packages/protocol/src/http), so it cannot drift from what is validated.
 * Registered before any route (it learns them through `onRoute`); served as JSON at
 * ApiRoutes.openapi by `openapiRoute`. Routes that are not API — the web app's pages and
 * files, the error pages' stylesheet, /metrics and the API scope's catch-alls — say
 * `schema: { hide: true }`. The WebSocket upgrade (ApiRoutes.socket) is left out too
 * (@fastify/websocket hides it): OpenAPI describes requests and their answers, not a socket's
 * frames, which docs/protocol.md and the protocol's frame schemas do. No UI is served:
 * swagger-ui needs inline script, which the CSP forbids.
 */
import swagger from '@fastify/swagger';
import {
  ApiRoutes,
  BlobRoutes,
  CSRF_HEADER,
  ErrorResponse,
  FileRoutes,
  PRODUCT_NAME,
} from '@securechat/protocol';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { SESSION_COOKIE } from './auth.js';

/** Sections of the document, in order: every route takes one of these as its tag. */
export const API_TAGS = {
  server: 'The server itself: what it is, whether it is healthy, this document.',
  auth: 'Registration, sign-in (OPAQUE), sign-out and password-reset links.',
  account: 'The signed-in user: re-authentication, password, identity key, devices, activity.',
  admin: 'Administrators only: users, invitations, audit log, server figures.',
  files: 'Encrypted attachments and blobs (ciphertext only).',
} as const;

/** A response schema for an answer with no body (204). */
export const NO_CONTENT = { description: 'Done; no body.', type: 'null' } as const;

/** A response schema for raw bytes (ciphertext the clients decrypt). */
export const BINARY = {
  description: 'The bytes, as uploaded.',
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
} as const;

/**
 * Uploads whose body is raw bytes: Fastify's content parser hands them over as a Buffer, so
 * they have no body schema to describe them (a JSON Schema would be validated against it).
 */
const BINARY_UPLOADS = [BlobRoutes.upload, FileRoutes.upload].map((url) =>
  url.replace(/:(\w+)/g, '{$1}'),
);

async function openapiPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: `${PRODUCT_NAME} HTTP API`,
        version: '0.1.0',
        description:
          'JSON over HTTPS. State-changing requests need the CSRF token (GET /api/csrf) in ' +
          `the ${CSRF_HEADER} header and a same-site Origin. Errors answer with a stable code ` +
          '(ErrorResponse). Messages travel over the realtime WebSocket (GET /api/ws).',
      },
      servers: [{ url: opts.config.publicOrigin }],
      tags: Object.entries(API_TAGS).map(([name, description]) => ({ name, description })),
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          csrf: { type: 'apiKey', in: 'header', name: CSRF_HEADER },
        },
        schemas: { ErrorResponse: ErrorResponse as object },
      },
    },
    // Every answer that is not a success is an ErrorResponse (plugins/errors.ts).
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const { openapiObject } = document;
      for (const url of BINARY_UPLOADS) {
        const upload = openapiObject.paths?.[url]?.put;
        if (upload)
          upload.requestBody = {
            required: true,
            content: {
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
            },
          };
      }
      for (const path of Object.values(openapiObject.paths ?? {}))
        for (const operation of Object.values(path ?? {}))
          if (typeof operation === 'object' && 'responses' in operation)
            operation.responses = {
              ...operation.responses,
              default: {
                description: 'An error, with its stable code.',
                content: {
                  'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } },
                },
              },
            };
      return openapiObject;
    },
  });
}

/** GET ApiRoutes.openapi: the document, public and cacheable (it holds no secret). */
export async function openapiRoute(app: FastifyInstance): Promise<void> {
  app.get(
    ApiRoutes.openapi,
    {
      schema: {
        tags: ['server'],
        summary: 'This document: the HTTP API in OpenAPI 3.1.',
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(app.swagger()));
    },
  );
}

export default fp(openapiPlugin, { name: 'openapi' });
