/**
 * Slow and stuck clients on a real listening server, with the deadlines shrunk through the
 * environment: headers trickled in, a body that never completes, an idle keep-alive connection.
 */
import type { Socket } from 'node:net';
import { ApiRoutes } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPlatformApp,
  csrfFor,
  ORIGIN,
  portOf,
  rawExchange,
  rawHeaders,
  type PlatformApp,
} from './support/platform.js';

const HEADERS_MS = 1000;
const REQUEST_MS = 3000;
const KEEP_ALIVE_MS = 1000;

/** Write `text` one byte every `everyMs`, until the socket closes. */
function trickle(socket: Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) {
      clearInterval(timer);
      return;
    }
    socket.write(text[i] ?? '');
    i += 1;
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

describe('slow and stuck clients', () => {
  let t: PlatformApp;
  let port: number;
  let csrf: { token: string; cookie: string };
  beforeAll(async () => {
    t = await createPlatformApp('sqlite', {
      env: {
        HEADERS_TIMEOUT_MS: String(HEADERS_MS),
        REQUEST_TIMEOUT_MS: String(REQUEST_MS),
        KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS),
      },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = portOf(t.app);
    csrf = await csrfFor(t.app);
  });
  afterAll(() => t.close());

  it('serves a client that is slow but within the deadlines', async () => {
    const { received } = await rawExchange(port, (socket) => {
      socket.write('GET /api/server HTTP/1.1\r\nHost: localhost\r\n');
      setTimeout(() => socket.write('Connection: close\r\n\r\n'), 300);
    });
    expect(rawHeaders(received).status).toBe(200);
  });

  it('cuts off a client that trickles its headers (slowloris) at the headers deadline, with 408', async () => {
    // A byte every 200 ms keeps the socket busy, so only the headers deadline can stop it.
    const { received, closedAfterMs } = await rawExchange(port, (socket) => {
      socket.write('GET /api/server HTTP/1.1\r\nHost: localhost\r\n');
      trickle(socket, `X-Slow: ${'a'.repeat(1000)}`, 200);
    });
    expect(closedAfterMs).toBeGreaterThanOrEqual(HEADERS_MS - 100);
    expect(closedAfterMs).toBeLessThan(HEADERS_MS + 1500);
    const { status, headers } = rawHeaders(received);
    expect(status).toBe(408);
    expect(headers.server).toBe('SecureChat');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(received).not.toMatch(/fastify|Client Timeout/i);
  });

  it('cuts off a client that trickles its body at the request deadline', async () => {
    const head =
      `POST ${ApiRoutes.loginStart} HTTP/1.1\r\nHost: localhost\r\nOrigin: ${ORIGIN}\r\n` +
      `Cookie: ${csrf.cookie}\r\nX-CSRF-Token: ${csrf.token}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n';
    const { received, closedAfterMs } = await rawExchange(port, (socket) => {
      socket.write(head);
      trickle(socket, `{"username":"${'a'.repeat(990)}`, 200);
    });
    expect(closedAfterMs).toBeGreaterThanOrEqual(REQUEST_MS - 100);
    expect(closedAfterMs).toBeLessThan(REQUEST_MS + 1500);
    expect(rawHeaders(received).status).toBe(408);
  });

  it('cuts off a client that stops sending its body', async () => {
    const { closedAfterMs } = await rawExchange(port, (socket) =>
      socket.write(
        `POST ${ApiRoutes.loginStart} HTTP/1.1\r\nHost: localhost\r\nOrigin: ${ORIGIN}\r\n` +
          `Cookie: ${csrf.cookie}\r\nX-CSRF-Token: ${csrf.token}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"user',
      ),
    );
    expect(closedAfterMs).toBeLessThan(REQUEST_MS + 1500);
  });

  it('closes an idle keep-alive connection', async () => {
    const { received, closedAfterMs } = await rawExchange(port, (socket) =>
      socket.write('GET /api/server HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    );
    expect(rawHeaders(received).status).toBe(200);
    expect(received.toLowerCase()).toContain(`keep-alive: timeout=${KEEP_ALIVE_MS / 1000}`);
    expect(closedAfterMs).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 100);
    expect(closedAfterMs).toBeLessThan(KEEP_ALIVE_MS + 2500);
  });
});
