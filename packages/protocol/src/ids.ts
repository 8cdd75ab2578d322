/**
 * Branded identifiers. A `UserId` and a `DeviceId` are both strings on the wire, a `Seq` and an
 * `Epoch` both integers, but none can be mixed up in code: create them only through the parsers
 * here, at the boundary. The frame schemas carry the brands, so a decoded frame has them.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type UserId = Brand<string, 'UserId'>;
export type DeviceId = Brand<string, 'DeviceId'>;
export type InviteId = Brand<string, 'InviteId'>;
export type RoomId = Brand<string, 'RoomId'>;
/** A room's event sequence number: 1, 2, 3, … per room, with no gaps (0: before the first). */
export type Seq = Brand<number, 'Seq'>;
/** A room's MLS epoch: 0 at creation, one more per accepted commit. */
export type Epoch = Brand<number, 'Epoch'>;
/** A username after normalization (see `normalizeUsername`). */
export type Username = Brand<string, 'Username'>;

/** Ids are 16 random bytes as 22 base64url characters. */
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

function parseId<T>(value: unknown): T | undefined {
  return typeof value === 'string' && ID_PATTERN.test(value) ? (value as T) : undefined;
}

export const parseUserId = (value: unknown): UserId | undefined => parseId<UserId>(value);
export const parseDeviceId = (value: unknown): DeviceId | undefined => parseId<DeviceId>(value);
export const parseInviteId = (value: unknown): InviteId | undefined => parseId<InviteId>(value);
export const parseRoomId = (value: unknown): RoomId | undefined => parseId<RoomId>(value);

function parseCounter<T>(value: unknown): T | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as T) : undefined;
}

export const parseSeq = (value: unknown): Seq | undefined => parseCounter<Seq>(value);
export const parseEpoch = (value: unknown): Epoch | undefined => parseCounter<Epoch>(value);

export const ID_REGEX_SOURCE = ID_PATTERN.source;

/** #general, the room every account is in. Fixed, so every node and client agrees. */
export const GENERAL_ROOM_ID = 'GeneralRoom00000000000' as RoomId;
