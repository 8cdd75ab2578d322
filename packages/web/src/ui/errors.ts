import { ChatError } from '@securechat/sdk';
import { t } from '../strings';

/** The sentence to show a person for a failed call. */
export function errorMessage(error: unknown): string {
  if (error instanceof ChatError) {
    if (error.code === 'CHAT_ERR_RATE_LIMITED') return t.auth.rateLimited(error.retryAfter ?? 60);
    return error.message;
  }
  return t.errors.generic;
}
