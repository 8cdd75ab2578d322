/**
 * Structured JSON logs (pino). Cookies, authorization headers, tokens and OPAQUE messages are
 * redacted wherever they appear, so a careless log call can't leak them.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** Keys whose values never reach a log, wherever they sit (up to two levels down). */
export const SECRET_KEYS = [
  'cookie',
  'set-cookie',
  'authorization',
  'x-csrf-token',
  'password',
  'token',
  'inviteToken',
  'setupToken',
  'cookieSecret',
  'opaqueServerSetup',
  'registrationRecord',
  'registrationRequest',
  'registrationResponse',
  'startLoginRequest',
  'finishLoginRequest',
  'loginResponse',
  'serverLoginState',
  'sessionKey',
  'exportKey',
] as const;

export const REDACT_PATHS = SECRET_KEYS.flatMap((key) => {
  const prop = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`;
  return [prop.startsWith('.') ? key : `${prop}`, `*${prop}`, `*.*${prop}`];
});

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'securechat' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
