/**
 * Branded ids for what the server reads back from its own storage (ids it made, seqs and
 * epochs it counted) or from a session: parsed once where they become wire values, never
 * cast. A value that does not parse is a bug or a tampered database, not a user's mistake.
 */
import {
  parseDeviceId,
  parseEpoch,
  parseRoomId,
  parseSeq,
  parseUserId,
  type DeviceId,
  type Epoch,
  type RoomId,
  type Seq,
  type UserId,
} from '@securechat/protocol';

function trusted<T>(parse: (value: unknown) => T | undefined, what: string) {
  return (value: unknown): T => {
    const parsed = parse(value);
    if (parsed === undefined) throw new Error(`not a valid ${what}: ${String(value)}`);
    return parsed;
  };
}

/** Counters may come back from PostgreSQL as strings (bigint columns): read as numbers. */
const counter = (value: unknown): unknown =>
  typeof value === 'string' || typeof value === 'bigint' ? Number(value) : value;

export const roomIdOf = trusted<RoomId>(parseRoomId, 'room id');
export const userIdOf = trusted<UserId>(parseUserId, 'user id');
export const deviceIdOf = trusted<DeviceId>(parseDeviceId, 'device id');
export const seqOf = trusted<Seq>((v) => parseSeq(counter(v)), 'seq');
export const epochOf = trusted<Epoch>((v) => parseEpoch(counter(v)), 'epoch');
