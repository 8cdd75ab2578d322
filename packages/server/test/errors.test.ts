/**
 * The error handler: every failure leaves as a catalogue code with its status, in words a person
 * can act on, and nothing that names the framework or shows a stack.
 */
import { ApiRoutes, ChatError, ErrorCatalogue } from '@securechat/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGES_CSS_PATH } from '../src/plugins/pages.js';
import { describeEachDialect } from './support/harness.js';
import {
  createPlatformApp,
  csrfFor,
  ORIGIN,
  portOf,
  rawExchange,
  rawHeaders,
  type PlatformApp,
} from './support/platform.js';

const FRAMEWORK =
  /fastify|FST_|find-my-way|ajv|avvio|must NOT|Route (GET|POST)|node_modules|\bat \//i;

function expectOurs(response: LightMyRequestResponse, code: keyof typeof ErrorCatalogue): void {
  expect(response.statusCode, response.body).toBe(ErrorCatalogue[code].status);
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  const body = response.json<Record<string, unknown>>();
  expect(body.code).toBe(code);
  expect(typeof body.message).toBe('string');
  expect(
    Object.keys(body).every((k) => ['code', 'message', 'retryAfter', 'field'].includes(k)),
  ).toBe(true);
  expect(response.body).not.toMatch(FRAMEWORK);
}

describeEachDialect('errors', (dialect) => {
  let t: PlatformApp;
  let csrf: { token: string; cookie: string };
  beforeAll(async () => {
    t = await createPlatformApp(dialect, {
      routes: (app) => {
        app.get('/api/test/crash', () => {
          throw new Error('db password is hunter2 at /srv/secret/path.ts');
        });
        app.get('/api/test/chat-error', () => {
          throw new ChatError('CHAT_ERR_RATE_LIMITED', undefined, { retryAfter: 7 });
        });
        app.get('/api/test/teapot', () => {
          throw Object.assign(new Error('I am a teapot from a library'), { statusCode: 418 });
        });
      },
    });
    csrf = await csrfFor(t.app);
  });
  afterAll(() => t.close());

  const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/json',
        origin: ORIGIN,
        cookie: csrf.cookie,
        'x-csrf-token': csrf.token,
        ...headers,
      },
      payload,
    });

  it('answers a ChatError with its status, code, message and retryAfter', async () => {
    const response = await t.app.inject({ url: '/api/test/chat-error' });
    expectOurs(response, 'CHAT_ERR_RATE_LIMITED');
    expect(response.json()).toEqual({
      code: 'CHAT_ERR_RATE_LIMITED',
      message: ErrorCatalogue.CHAT_ERR_RATE_LIMITED.message,
      retryAfter: 7,
    });
    expect(response.headers['retry-after']).toBe('7');
  });

  it('answers an unexpected error with 500 and logs it with the request id, telling the client nothing', async () => {
    const response = await t.app.inject({ url: '/api/test/crash' });
    expectOurs(response, 'CHAT_ERR_INTERNAL');
    expect(response.json()).toEqual({
      code: 'CHAT_ERR_INTERNAL',
      message: 'Something went wrong on the server.',
    });
    expect(response.body).not.toContain('hunter2');
    const logged = t.logs.records().find((r) => r.msg === 'request failed' && r.level === 50) as
      { reqId: string; err: { message: string; stack: string } } | undefined;
    expect(logged?.err.message).toContain('hunter2');
    expect(logged?.err.stack).toContain('errors.test.ts');
    expect(logged?.reqId).toMatch(/^[0-9a-f-]{36}$/);
    // The log line and the request's own lines share the id.
    expect(
      t.logs.records().some((r) => r.reqId === logged?.reqId && r.msg === 'incoming request'),
    ).toBe(true);
  });

  it('gives a browser the designed 500 page', async () => {
    const response = await t.app.inject({
      url: '/api/test/crash',
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    expect(response.statusCode).toBe(500);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('Something went wrong');
    expect(response.body).toContain(`<link rel="stylesheet" href="${PAGES_CSS_PATH}">`);
    expect(response.body).toContain('<a href="/">');
    expect(response.body).not.toMatch(/<script|style=|<style/i);
    expect(response.body).not.toContain('hunter2');
  });

  it('maps a library error with an odd status to a client error in our words', async () => {
    const response = await t.app.inject({ url: '/api/test/teapot' });
    expectOurs(response, 'CHAT_ERR_VALIDATION');
    expect(response.body).not.toContain('teapot');
  });

  it('names the field in validation errors, without validator jargon', async () => {
    const unknown = await post(
      ApiRoutes.loginStart,
      JSON.stringify({ username: 'alice', startLoginRequest: 'abc', admin: true }),
    );
    expectOurs(unknown, 'CHAT_ERR_VALIDATION');
    expect(unknown.json()).toEqual({
      code: 'CHAT_ERR_VALIDATION',
      message: 'The request is not valid: unknown field "admin".',
      field: 'admin',
    });

    const missing = await post(ApiRoutes.loginStart, JSON.stringify({ username: 'alice' }));
    expect(missing.json()).toEqual({
      code: 'CHAT_ERR_VALIDATION',
      message: 'The request is not valid: "startLoginRequest" is required.',
      field: 'startLoginRequest',
    });

    const wrongType = await post(
      ApiRoutes.loginStart,
      JSON.stringify({ username: 42, startLoginRequest: 'abc' }),
    );
    expect(wrongType.json()).toMatchObject({ field: 'username' });
    expect(wrongType.json<{ message: string }>().message).toContain('"username"');

    const tooLong = await post(
      ApiRoutes.loginStart,
      JSON.stringify({ username: 'alice', startLoginRequest: 'a'.repeat(5000) }),
    );
    expect(tooLong.json()).toEqual({
      code: 'CHAT_ERR_VALIDATION',
      message: 'The request is not valid: "startLoginRequest" is too long.',
      field: 'startLoginRequest',
    });

    const notAnObject = await post(ApiRoutes.loginStart, '[1,2]');
    expectOurs(notAnObject, 'CHAT_ERR_VALIDATION');
  });

  it('answers malformed JSON, an empty body and a poisoned prototype with 400', async () => {
    for (const payload of ['{"username":', '', '{"__proto__":{"admin":true}}']) {
      const response = await post(ApiRoutes.loginStart, payload);
      expectOurs(response, 'CHAT_ERR_VALIDATION');
    }
    expect((await post(ApiRoutes.loginStart, '{"username":')).json()).toEqual({
      code: 'CHAT_ERR_VALIDATION',
      message: 'The request body is not valid JSON.',
    });
  });

  it('answers a body over the limit with 413', async () => {
    const response = await post(
      ApiRoutes.loginStart,
      JSON.stringify({ username: 'alice', startLoginRequest: 'a'.repeat(70 * 1024) }),
    );
    expectOurs(response, 'CHAT_ERR_PAYLOAD_TOO_LARGE');
  });

  it('accepts only application/json: text/plain, forms and other types get 415', async () => {
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
    ]) {
      const response = await post(ApiRoutes.logout, '{}', { 'content-type': type });
      expectOurs(response, 'CHAT_ERR_UNSUPPORTED_MEDIA_TYPE');
    }
    // The same request as JSON goes through: the 415 is about the type, nothing else.
    expect((await post(ApiRoutes.logout, '{}')).statusCode).toBe(204);
  });

  it('answers unknown API paths with a JSON 404 that names no framework', async () => {
    for (const url of ['/api/does-not-exist', '/api', '/api/auth/login/start/extra']) {
      const response = await t.app.inject({ url, headers: { accept: 'application/json' } });
      expectOurs(response, 'CHAT_ERR_NOT_FOUND');
      expect(response.json()).toEqual({ code: 'CHAT_ERR_NOT_FOUND', message: 'Not found.' });
    }
  });

  it('gives browsers a designed HTML 404 page for API misses', async () => {
    const response = await t.app.inject({ url: '/api/missing', headers: { accept: 'text/html' } });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('Page not found');
    expect(response.body).toContain('<a href="/">');
    expect(response.body).not.toMatch(/<script|style=|<style/i);
    expect(response.body).not.toMatch(FRAMEWORK);
  });

  it('serves the error pages their stylesheet, light and dark', async () => {
    const response = await t.app.inject({ url: PAGES_CSS_PATH });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(response.body).toContain('prefers-color-scheme: dark');
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const get = await t.app.inject({ url: ApiRoutes.logout });
    expectOurs(get, 'CHAT_ERR_METHOD_NOT_ALLOWED');
    expect(get.headers.allow).toBe('POST');

    const post405 = await post(ApiRoutes.server, '{}');
    expectOurs(post405, 'CHAT_ERR_METHOD_NOT_ALLOWED');
    expect(post405.headers.allow).toBe('GET, HEAD');

    // A path with a parameter is matched as a pattern.
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/devices/some-device',
      headers: { origin: ORIGIN, cookie: csrf.cookie, 'x-csrf-token': csrf.token },
    });
    expectOurs(put, 'CHAT_ERR_METHOD_NOT_ALLOWED');
    expect(put.headers.allow).toContain('DELETE');
  });

  it('answers an undecodable URL in our format', async () => {
    const response = await t.app.inject({ url: '/api/%zz' });
    expectOurs(response, 'CHAT_ERR_VALIDATION');
    expect(response.json()).toEqual({
      code: 'CHAT_ERR_VALIDATION',
      message: 'The address is not valid.',
    });
  });
});

describe('errors below the router', () => {
  let t: PlatformApp;
  let port: number;
  beforeAll(async () => {
    t = await createPlatformApp('sqlite');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = portOf(t.app);
  });
  afterAll(() => t.close());

  it('answers a malformed request in our format, naming no framework', async () => {
    const { received } = await rawExchange(port, (s) => s.write('NONSENSE\r\n\r\n'));
    const { status, headers } = rawHeaders(received);
    expect(status).toBe(400);
    expect(headers['content-type']).toBe('application/json; charset=utf-8');
    expect(received).toContain('"code":"CHAT_ERR_VALIDATION"');
    expect(received).not.toMatch(FRAMEWORK);
  });

  it('answers headers over 16 KiB with 413 in our format', async () => {
    const { received } = await rawExchange(port, (s) =>
      s.write(`GET /api/server HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`),
    );
    expect(rawHeaders(received).status).toBe(413);
    expect(received).toContain('"code":"CHAT_ERR_PAYLOAD_TOO_LARGE"');
    expect(received).not.toMatch(FRAMEWORK);
  });

  it('answers an undecodable URL on the wire without the framework code', async () => {
    const { received } = await rawExchange(port, (s) =>
      s.write('GET /api/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    );
    expect(rawHeaders(received).status).toBe(400);
    expect(received).toContain('"code":"CHAT_ERR_VALIDATION"');
    expect(received).not.toMatch(FRAMEWORK);
  });
});
