/**
 * @securechat/sdk — the SecureChat client for browsers and Node.
 */
export { createClient } from './client.js';
export type { ClientOptions, LoginResult, RegisterInput, SecureChatClient } from './client.js';
export { checkPassword } from './accounts/password-policy.js';
export type { PasswordCheck, PasswordScore } from './accounts/password-policy.js';
export {
  ChatError,
  GENERAL_ROOM_ID,
  type RoomEvent,
  type RoomSummary,
  type DirectoryEntry,
  type Member,
  type InboxMessage,
  type Notice,
  type PresenceStatus,
  type UserRef,
  type Visibility,
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
export { RealtimeConnection } from './transport/realtime.js';
export type {
  ConnectionState,
  PresenceEvent,
  SendInput,
  SocketLike,
  TypingEvent,
} from './transport/realtime.js';
export type { ConnectOptions, WebSocketConstructor } from './client.js';
