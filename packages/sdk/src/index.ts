/**
 * @securechat/sdk — the SecureChat client for browsers and Node.
 */
export { createClient, normalizeRecoveryCode } from './client.js';
export type {
  ClientOptions,
  LoginResult,
  PendingSignIn,
  RegisterInput,
  SecondFactorProof,
  SecureChatClient,
  SignInOutcome,
  TotpSetup,
} from './client.js';
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
  type ActivityEntry,
  type AdminRoom,
  type AdminUser,
  type ServerStats,
  type AuditEntry,
  type AuditQuery,
  type DeviceInfo,
  type ErrorCode,
  type InviteCreateResponse,
  type InviteInfo,
  type PublicUser,
  type ServerInfo,
  type SessionResponse,
  type TwoFactorStatus,
  type PasskeyInfo,
  type PasskeyAssertion,
  type PasskeyRegistration,
} from '@securechat/protocol';
// The transport is internal: apps talk to rooms through `Conversations`. Tests and tools that
// drive the wire protocol itself use the `@securechat/sdk/raw` entry.
export type { ConnectionState, PresenceEvent, TypingEvent } from './transport/realtime.js';
export type { WebSocketConstructor } from './client.js';
export { Conversations, openConversations } from './conversations/conversations.js';
export type {
  ConversationTransport,
  ConversationView,
  ConversationsOptions,
  FileTransport,
  OpenedFile,
  PendingMessage,
} from './conversations/conversations.js';
export type { FileSource } from './files/seal.js';
export { detectType, safeFileName, type RealType } from './files/types.js';
export type {
  Content,
  ContentType,
  Decoded,
  DeleteContent,
  EditContent,
  FileContent,
  ReactionContent,
  ReplyContent,
  RoomProfileContent,
  TextContent,
  Unreadable,
} from './conversations/content.js';
export { TEXT_MAX_BYTES, textBytes } from './conversations/codec.js';
export {
  RICH_COLOURS,
  isPlainRich,
  normalizeRich,
  richBytes,
  richToText,
  safeHref,
  type RichBlock,
  type RichColour,
  type RichDocument,
  type RichMarks,
  type RichText,
} from './conversations/rich.js';
export { highlightRanges } from './conversations/search.js';
export {
  deliveryState,
  type DeliveryState,
  type MemberReceipt,
  type RoomReceipts,
} from './conversations/receipts.js';
export type {
  HighlightRange,
  SearchHit,
  SearchOptions,
  SearchResults,
} from './conversations/search.js';
export type { DecodedEvent } from './conversations/codec.js';
export type {
  FileRef,
  MessageItem,
  NoticeItem,
  PersonProfile,
  ProfileItem,
  Quote,
  Reaction,
  RoomProfile,
  TimelineItem,
} from './conversations/timeline.js';
export {
  transcriptEntries,
  transcriptJson,
  type TranscriptEntry,
  type TranscriptRange,
} from './conversations/transcript.js';
export type { RoomSecurity, SecurityWarning } from './mls/types.js';
export type { TrustState } from './mls/trust.js';
export { safetyNumberPayload } from './mls/identity.js';
export type { UnreadableReason } from './conversations/content.js';
export type { ConversationStore, PendingSend, RoomRecord } from './store/store.js';
export { openMemoryStore } from './store/memory.std.js';
export { deleteIndexedDbStore, openIndexedDbStore } from './store/indexeddb.dom.js';
