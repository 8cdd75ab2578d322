/**
 * Structured JSON logs (pino). Cookies, authorization headers, tokens and OPAQUE messages are
 * redacted wherever they appear, so a careless log call can't leak them.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.cookieSecret',
  '*.opaqueServerSetup',
  '*.registrationRecord',
  '*.registrationRequest',
  '*.startLoginRequest',
  '*.finishLoginRequest',
  '*.serverLoginState',
];

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
