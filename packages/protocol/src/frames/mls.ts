/**
 * What the server keeps for MLS, the end-to-end encryption layer above this one: key
 * packages, per-device inboxes (welcomes), each room's group-info blob and the directory of
 * users' identity keys. All opaque to it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Limits } from '../limits.js';
import {
  BlobId,
  Bytes,
  ClientMessageId,
  DeviceId,
  Epoch,
  Millis,
  Payload,
  RoomId,
  UserId,
  push,
  reply,
  req,
  strict,
} from './common.js';

export const InboxMessage = Type.Object(
  {
    id: Type.String(),
    room: RoomId,
    sender: UserId,
    device: DeviceId,
    cmid: ClientMessageId,
    at: Millis,
    payload: Payload,
  },
  strict,
);
export type InboxMessage = Static<typeof InboxMessage>;

export const ClaimedKeyPackage = Type.Object(
  {
    user: UserId,
    device: DeviceId,
    data: Bytes(Limits.KEY_PACKAGE_MAX_BYTES),
    /** The device's last-resort package: it was not used up; others should be preferred. */
    lastResort: Type.Boolean(),
  },
  strict,
);
export type ClaimedKeyPackage = Static<typeof ClaimedKeyPackage>;

/** One user's identity key (an Ed25519 public key), or null: unknown user or none set, alike. */
export const IdentityKeyEntry = Type.Object(
  {
    user: UserId,
    key: Type.Union([
      Type.Uint8Array({
        minByteLength: Limits.IDENTITY_KEY_BYTES,
        maxByteLength: Limits.IDENTITY_KEY_BYTES,
      }),
      Type.Null(),
    ]),
  },
  strict,
);
export type IdentityKeyEntry = Static<typeof IdentityKeyEntry>;

// ---- client → server -------------------------------------------------------------------

export const GroupInfoFrame = req('group-info', { room: RoomId });
export const KeyPackagesUploadFrame = req('kp-upload', {
  packages: Type.Array(Bytes(Limits.KEY_PACKAGE_MAX_BYTES), {
    maxItems: Limits.KEY_PACKAGE_BATCH_MAX,
  }),
  /** Replaces this device's last-resort package. */
  lastResort: Type.Optional(Bytes(Limits.KEY_PACKAGE_MAX_BYTES)),
});
export const KeyPackagesClaimFrame = req('kp-claim', {
  /** The room the devices are being added to: both sides must be members. */
  room: RoomId,
  users: Type.Array(UserId, { minItems: 1, maxItems: Limits.KEY_PACKAGE_CLAIM_DEVICES_MAX }),
});
export const InboxSendFrame = req('inbox-send', {
  room: RoomId,
  device: DeviceId,
  cmid: ClientMessageId,
  payload: Payload,
});
export const InboxFetchFrame = req('inbox-fetch', {});
/** The identity keys of these users: a public directory for any signed-in user. */
export const IdentityKeysFrame = req('identity-keys', {
  users: Type.Array(UserId, { minItems: 1, maxItems: Limits.IDENTITY_KEYS_PER_REQUEST_MAX }),
});
export const InboxAckFrame = req('inbox-ack', {
  ids: Type.Array(Type.String({ maxLength: 64 }), {
    minItems: 1,
    maxItems: Limits.HISTORY_PAGE_MAX,
  }),
});

// ---- server → client -------------------------------------------------------------------

/**
 * The room's current epoch and the id of its group-info blob (fetch it with GET
 * /api/rooms/:room/blobs/:id), or null when no accepted commit named one yet.
 */
export const GroupInfoReplyFrame = reply('group-info', {
  room: RoomId,
  epoch: Epoch,
  blob: Type.Union([BlobId, Type.Null()]),
});
export const KeyPackageCountFrame = reply('kp-count', {
  /** One-time packages this device has waiting. */
  available: Type.Integer({ minimum: 0 }),
});
export const KeyPackagesReplyFrame = reply('key-packages', {
  packages: Type.Array(ClaimedKeyPackage),
  /** Member devices that have no package at all (not even a last-resort one). */
  missing: Type.Array(DeviceId),
});
export const InboxReplyFrame = reply('inbox', {
  messages: Type.Array(InboxMessage, { maxItems: Limits.HISTORY_PAGE_MAX }),
  more: Type.Boolean(),
});
/** One entry per distinct user asked for, in the order asked. */
export const IdentityKeysReplyFrame = reply('identity-keys', {
  keys: Type.Array(IdentityKeyEntry, { maxItems: Limits.IDENTITY_KEYS_PER_REQUEST_MAX }),
});
export const InboxEventFrame = push('inbox-message', { message: InboxMessage });
