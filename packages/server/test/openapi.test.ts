/**
 * The OpenAPI document (plugins/openapi.ts) against the routes the server really registers:
 * every API route is documented, every documented operation exists, each has a tag and a
 * summary, and the document is valid OpenAPI 3.1. Serving it weakens no header.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { ApiRoutes } from '@securechat/protocol';
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_PATH } from '../src/plugins/metrics.js';
import { API_TAGS } from '../src/plugins/openapi.js';
import { PAGES_CSS_PATH } from '../src/plugins/pages.js';
import { baselineHeaders } from '../src/plugins/security.js';
import { createTestApp, type TestApp } from './support/harness.js';
import { fakeWebBuild } from './support/platform.js';

interface Operation {
  tags?: string[];
  summary?: string;
  responses?: Record<string, unknown>;
}
interface Document {
  openapi: string;
  servers: { url: string }[];
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
}

/**
 * Registered routes that are not in the document, and why:
 * - outside /api: the web app's pages and files, the error pages' stylesheet and /metrics
 *   (operations, not API; it may not even answer) — asserted to be absent below;
 * - `/api` and `/api/*`: the API scope's catch-alls, which only answer 404 or 405;
 * - the WebSocket upgrade: not a request and answer (docs/protocol.md describes its frames).
 */
const NOT_API = new Set(['/api', '/api/*', ApiRoutes.socket]);

/** `/api/devices/:deviceId` as OpenAPI writes it: `/api/devices/{deviceId}`. */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

describe('the OpenAPI document', () => {
  let t: TestApp;
  const routes: { method: string; url: string }[] = [];
  let document: Document;

  beforeAll(async () => {
    t = await createTestApp('sqlite', {
      env: { METRICS_TOKEN: 'm'.repeat(40) },
      // With a (fake) web build, so the static files' routes exist too.
      webRoot: fakeWebBuild(),
      onRoute: (route: RouteOptions) => {
        for (const method of [route.method].flat()) routes.push({ method, url: route.url });
      },
    });
    const response = await t.app.inject({ url: ApiRoutes.openapi });
    expect(response.statusCode).toBe(200);
    document = response.json<Document>();
  });
  afterAll(() => t.close());

  const documented = () =>
    Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );

  it('documents every API route the server registers, and no other', () => {
    const api = routes.filter(
      (r) => r.method !== 'HEAD' && r.url.startsWith('/api/') && !NOT_API.has(r.url),
    );
    expect(api.length).toBeGreaterThan(30);
    const registered = new Set(api.map((r) => `${r.method} ${openapiPath(r.url)}`));
    expect(new Set(documented())).toEqual(registered);
  });

  it('leaves out what is not API: pages, files, stylesheet, metrics, catch-alls, the socket', () => {
    const paths = Object.keys(document.paths);
    for (const left of [
      METRICS_PATH,
      PAGES_CSS_PATH,
      '/',
      '/*',
      '/api',
      '/api/*',
      ApiRoutes.socket,
    ])
      expect(paths).not.toContain(left);
    // They are registered all the same: the exclusion is deliberate, not an accident.
    const urls = new Set(routes.map((r) => r.url));
    for (const url of [METRICS_PATH, PAGES_CSS_PATH, '/*', '/api/*', ApiRoutes.socket])
      expect(urls).toContain(url);
    expect(paths.every((path) => path.startsWith('/api/'))).toBe(true);
  });

  it('gives every operation a declared tag, a summary, a success answer and the error answer', () => {
    const declared = new Set(document.tags.map((tag) => tag.name));
    expect(declared).toEqual(new Set(Object.keys(API_TAGS)));
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(operation.tags, where).toHaveLength(1);
        expect(declared.has(operation.tags?.[0] ?? ''), where).toBe(true);
        expect(operation.summary?.length, where).toBeGreaterThan(10);
        const statuses = Object.keys(operation.responses ?? {});
        expect(
          statuses.some((s) => /^2\d\d$/.test(s)),
          where,
        ).toBe(true);
        expect(statuses, where).toContain('default');
      }
    }
  });

  it('describes requests and answers from the protocol’s schemas', () => {
    const register = document.paths['/api/auth/register/start']?.post as {
      requestBody: { content: Record<string, { schema: { properties: object } }> };
      responses: Record<string, { content: Record<string, { schema: { properties: object } }> }>;
    };
    expect(
      Object.keys(register.requestBody.content['application/json']?.schema.properties ?? {}),
    ).toContain('registrationRequest');
    expect(
      Object.keys(register.responses['200']?.content['application/json']?.schema.properties ?? {}),
    ).toContain('registrationResponse');
    const device = document.paths['/api/devices/{deviceId}']?.delete as {
      parameters: { in: string; name: string }[];
    };
    expect(device.parameters).toContainEqual(
      expect.objectContaining({ in: 'path', name: 'deviceId' }),
    );
    const upload = document.paths['/api/rooms/{room}/files']?.put as {
      requestBody: { content: Record<string, unknown> };
    };
    expect(Object.keys(upload.requestBody.content)).toEqual(['application/octet-stream']);
  });

  it('is valid OpenAPI 3.1', async () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.servers).toEqual([{ url: t.config.publicOrigin }]);
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('is public and cacheable, and keeps every security header', async () => {
    // No cookie, no session.
    const response = await t.app.inject({ url: ApiRoutes.openapi });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['cache-control']).toBe('public, max-age=300');
    for (const [name, value] of Object.entries(baselineHeaders(t.config)))
      if (name !== 'cache-control')
        expect({ name, value: response.headers[name] }).toEqual({ name, value });
    // It documents no secret of this server's.
    for (const secret of [
      t.secrets.cookieSecret,
      t.secrets.opaqueServerSetup,
      t.config.metrics.token ?? '',
    ])
      expect(response.body).not.toContain(secret);
  });

  it('serves no documentation UI or other swagger routes', async () => {
    const swaggerish = routes.filter((r) => /doc|swagger|static\/|json$/i.test(r.url));
    expect(swaggerish.map((r) => r.url)).toEqual([ApiRoutes.openapi, ApiRoutes.openapi]);
    for (const url of ['/documentation', '/documentation/json', '/api/docs'])
      expect(
        (await t.app.inject({ url, headers: { accept: 'application/json' } })).statusCode,
      ).toBe(404);
  });
});
