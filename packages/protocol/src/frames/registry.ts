/**
 * Every frame type, by its `t`: what the codec checks each decoded frame against, and the
 * unions the server and the sdk switch over.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ErrorFrame, OkFrame, PingFrame, PongFrame } from './connection.js';
import {
  AckFrame,
  CodeReplyFrame,
  DeleteCodeFrame,
  DeleteFrame,
  EventFrame,
  HistoryFrame,
  PageFrame,
  PresenceEventFrame,
  PresenceFrame,
  ReceiptEventFrame,
  ReceiptFrame,
  ReceiptsFrame,
  ReceiptsReplyFrame,
  ResumeFrame,
  SendFrame,
  TypingEventFrame,
  TypingFrame,
} from './delivery.js';
import {
  GroupInfoFrame,
  GroupInfoReplyFrame,
  IdentityKeysFrame,
  IdentityKeysReplyFrame,
  InboxAckFrame,
  InboxEventFrame,
  InboxFetchFrame,
  InboxReplyFrame,
  InboxSendFrame,
  KeyPackageCountFrame,
  KeyPackagesClaimFrame,
  KeyPackagesReplyFrame,
  KeyPackagesUploadFrame,
} from './mls.js';
import {
  BlockFrame,
  BlockedFrame,
  CreateFrame,
  DirectFrame,
  DirectoryFrame,
  DirectoryReplyFrame,
  InviteFrame,
  JoinFrame,
  KickFrame,
  LeaveFrame,
  MembersFrame,
  MembersReplyFrame,
  MuteFrame,
  RoomReplyFrame,
  RoomsFrame,
  RoomsReplyFrame,
  SetRoleFrame,
  SettingsFrame,
  TransferFrame,
  UsersFrame,
  UsersReplyFrame,
} from './rooms.js';

/** Every client request, by type. */
export const CLIENT_FRAMES = {
  send: SendFrame,
  history: HistoryFrame,
  resume: ResumeFrame,
  typing: TypingFrame,
  ping: PingFrame,
  presence: PresenceFrame,
  receipt: ReceiptFrame,
  receipts: ReceiptsFrame,
  rooms: RoomsFrame,
  directory: DirectoryFrame,
  create: CreateFrame,
  direct: DirectFrame,
  join: JoinFrame,
  leave: LeaveFrame,
  invite: InviteFrame,
  kick: KickFrame,
  role: SetRoleFrame,
  transfer: TransferFrame,
  settings: SettingsFrame,
  members: MembersFrame,
  users: UsersFrame,
  block: BlockFrame,
  blocked: BlockedFrame,
  mute: MuteFrame,
  'delete-code': DeleteCodeFrame,
  delete: DeleteFrame,
  'group-info': GroupInfoFrame,
  'kp-upload': KeyPackagesUploadFrame,
  'kp-claim': KeyPackagesClaimFrame,
  'inbox-send': InboxSendFrame,
  'inbox-fetch': InboxFetchFrame,
  'inbox-ack': InboxAckFrame,
  'identity-keys': IdentityKeysFrame,
} as const;

export const ClientFrame = Type.Union(Object.values(CLIENT_FRAMES));
export type ClientFrame = Static<(typeof CLIENT_FRAMES)[keyof typeof CLIENT_FRAMES]>;
export type ClientFrameType = keyof typeof CLIENT_FRAMES;
export const CLIENT_FRAME_TYPES = Object.keys(CLIENT_FRAMES) as ClientFrameType[];

/** Every server frame, by type. */
export const SERVER_FRAMES = {
  ack: AckFrame,
  page: PageFrame,
  ok: OkFrame,
  pong: PongFrame,
  rooms: RoomsReplyFrame,
  room: RoomReplyFrame,
  directory: DirectoryReplyFrame,
  members: MembersReplyFrame,
  users: UsersReplyFrame,
  code: CodeReplyFrame,
  receipts: ReceiptsReplyFrame,
  'group-info': GroupInfoReplyFrame,
  'kp-count': KeyPackageCountFrame,
  'key-packages': KeyPackagesReplyFrame,
  inbox: InboxReplyFrame,
  'identity-keys': IdentityKeysReplyFrame,
  error: ErrorFrame,
  event: EventFrame,
  typing: TypingEventFrame,
  presence: PresenceEventFrame,
  receipt: ReceiptEventFrame,
  'inbox-message': InboxEventFrame,
} as const;

export const ServerFrame = Type.Union(Object.values(SERVER_FRAMES));
export type ServerFrame = Static<(typeof SERVER_FRAMES)[keyof typeof SERVER_FRAMES]>;
export type ServerFrameType = keyof typeof SERVER_FRAMES;
/** Pushes: server frames that answer no request. */
export type PushFrame = Extract<
  ServerFrame,
  { t: 'event' | 'typing' | 'presence' | 'receipt' | 'inbox-message' }
>;
