/**
 * @securechat/sdk — the SecureChat client for browsers and Node.
 */
export { createClient } from './client.js';
export type { ClientOptions, LoginResult, RegisterInput, SecureChatClient } from './client.js';
export { checkPassword } from './accounts/password-policy.js';
export type { PasswordCheck, PasswordScore } from './accounts/password-policy.js';
export {
  ChatError,
  Limits,
  normalizeUsername,
  type DeviceInfo,
  type ErrorCode,
  type InviteCreateResponse,
  type InviteInfo,
  type PublicUser,
  type ServerInfo,
  type SessionResponse,
} from '@securechat/protocol';
