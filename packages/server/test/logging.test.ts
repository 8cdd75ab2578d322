/**
 * Structured logs: every request line carries our request id; cookies, CSRF tokens, passwords
 * and OPAQUE messages never reach the log, even through a careless log call.
 */
import { ApiRoutes } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, SECRET_KEYS } from '../src/logger.js';
import { describeEachDialect } from './support/harness.js';
import {
  createPlatformApp,
  csrfFor,
  LogCapture,
  ORIGIN,
  type PlatformApp,
} from './support/platform.js';

const PASSWORD = 'my very secret passphrase 77';
const RECORD = 'cmVnaXN0cmF0aW9uUmVjb3JkLXNob3VsZC1uZXZlci1iZS1sb2dnZWQ';
const SESSION = 'session-cookie-value-that-must-not-leak';

describeEachDialect('request logs', (dialect) => {
  let t: PlatformApp;
  beforeAll(async () => {
    t = await createPlatformApp(dialect, {
      routes: (app) => {
        // A careless route: logs the whole body and all headers, then fails.
        app.post('/api/test/careless', (request) => {
          request.log.info({ body: request.body, headers: request.headers }, 'careless');
          throw new Error('careless route failed');
        });
      },
    });
  });
  afterAll(() => t.close());

  it('carry a request id and never the cookie, the CSRF token, a password or an OPAQUE record', async () => {
    const csrf = await csrfFor(t.app);
    const csrfCookieValue = csrf.cookie.split('=').slice(1).join('=');
    const headers = {
      'content-type': 'application/json',
      origin: ORIGIN,
      cookie: `${csrf.cookie}; __Host-sc_session=${SESSION}`,
      'x-csrf-token': csrf.token,
    };
    const payload = JSON.stringify({
      username: 'loggeduser',
      password: PASSWORD,
      registrationRecord: RECORD,
    });
    const requests = [
      // Refused by validation (unknown field "password").
      await t.app.inject({ method: 'POST', url: ApiRoutes.registerFinish, headers, payload }),
      // Logged carelessly, then a 500.
      await t.app.inject({ method: 'POST', url: '/api/test/careless', headers, payload }),
    ];
    expect(requests.map((r) => r.statusCode)).toEqual([400, 500]);

    const records = t.logs.records();
    const completed = records.filter((r) => r.msg === 'request completed');
    expect(completed.length).toBeGreaterThanOrEqual(3);
    for (const record of completed) {
      expect(record.reqId).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
    }
    // The careless line was written — with the secrets censored.
    const careless = records.find((r) => r.msg === 'careless') as
      { body: Record<string, string>; headers: Record<string, string> } | undefined;
    expect(careless?.body.username).toBe('loggeduser');
    expect(careless?.body.password).toBe('[redacted]');
    expect(careless?.body.registrationRecord).toBe('[redacted]');
    expect(careless?.headers.cookie).toBe('[redacted]');
    expect(careless?.headers['x-csrf-token']).toBe('[redacted]');
    expect(records.some((r) => r.msg === 'request failed')).toBe(true);

    for (const secret of [
      PASSWORD,
      RECORD,
      SESSION,
      csrf.token,
      csrfCookieValue,
      t.secrets.cookieSecret,
      t.secrets.opaqueServerSetup,
    ]) {
      expect(t.logs.text).not.toContain(secret);
    }
  });

  it('ignore a request id the client sends and make their own', async () => {
    const response = await t.app.inject({
      url: ApiRoutes.server,
      headers: { 'request-id': 'forged-id', 'x-request-id': 'forged-id' },
    });
    expect(response.statusCode).toBe(200);
    expect(t.logs.text).not.toContain('forged-id');
  });
});

describe('the logger', () => {
  it('censors every secret key at the top level and two levels down', () => {
    const logs = new LogCapture();
    const logger = createLogger('info', logs.stream);
    for (const key of SECRET_KEYS) {
      const value = `value-of-${key}`;
      logger.info({ [key]: value, a: { [key]: value }, b: { c: { [key]: value } } }, key);
    }
    expect(logs.lines).toHaveLength(SECRET_KEYS.length);
    expect(logs.text).not.toMatch(/value-of-/);
    expect(logs.text).toContain('[redacted]');
  });

  it('writes JSON lines with level, time, service and message', () => {
    const logs = new LogCapture();
    createLogger('warn', logs.stream).warn({ count: 2 }, 'hello');
    createLogger('warn', logs.stream).info('not written');
    expect(logs.records()).toEqual([
      expect.objectContaining({ level: 40, service: 'securechat', count: 2, msg: 'hello' }),
    ]);
    expect(logs.records()[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
