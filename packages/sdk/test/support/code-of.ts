import { ChatError } from '@securechat/protocol';

/** The ChatError code a promise rejects with, or 'resolved'. Any other error is rethrown. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ChatError) return error.code;
    throw error;
  }
  return 'resolved';
}
