import { describe, expect, it } from 'vitest';
import { ChatError, ERROR_CODES, ErrorCatalogue, isErrorCode } from '../src/errors.js';

describe('error catalogue', () => {
  it('uses stable CHAT_ERR_ codes with client or server error statuses', () => {
    for (const code of ERROR_CODES) {
      expect(code).toMatch(/^CHAT_ERR_[A-Z_]+$/);
      expect(ErrorCatalogue[code].status).toBeGreaterThanOrEqual(400);
      expect(ErrorCatalogue[code].status).toBeLessThan(600);
    }
  });

  it('serializes a ChatError to the wire body', () => {
    const error = new ChatError('CHAT_ERR_RATE_LIMITED', undefined, { retryAfter: 7 });
    expect(error.status).toBe(429);
    expect(error.toBody()).toEqual({
      code: 'CHAT_ERR_RATE_LIMITED',
      message: ErrorCatalogue.CHAT_ERR_RATE_LIMITED.message,
      retryAfter: 7,
    });
    expect(isErrorCode('CHAT_ERR_NOT_FOUND')).toBe(true);
    expect(isErrorCode('FST_ERR_NOT_FOUND')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });
});
