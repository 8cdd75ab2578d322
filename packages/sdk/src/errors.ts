/**
 * Every sdk method rejects with a ChatError. Failures that are not already one (a WebAssembly
 * module that failed to load, an OPAQUE message the library refuses) become CHAT_ERR_INTERNAL
 * (or the code given), keeping the original as `cause` for debugging; its text is never shown
 * to users.
 */
import { ChatError, type ErrorCode } from '@securechat/protocol';

export function asChatError(
  error: unknown,
  code: ErrorCode = 'CHAT_ERR_INTERNAL',
  message = 'Something went wrong in this app.',
): ChatError {
  if (error instanceof ChatError) return error;
  const wrapped = new ChatError(code, message);
  wrapped.cause = error;
  return wrapped;
}

/** Run `work`, turning whatever it throws into a ChatError. */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asChatError(error);
  }
}
