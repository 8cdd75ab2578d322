/**
 * The connection's public methods take the ids and positions an app holds as plain values
 * (from its URL, its store, its UI) and parse them here, once, into the branded types the
 * frames carry: a malformed one is refused as CHAT_ERR_VALIDATION before anything is sent.
 */
import {
  ChatError,
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

function parsing<T>(parse: (value: unknown) => T | undefined, what: string) {
  return (value: string | number): T => {
    const parsed = parse(value);
    if (parsed === undefined) throw new ChatError('CHAT_ERR_VALIDATION', `That is not a ${what}.`);
    return parsed;
  };
}

export const roomIdOf = parsing<RoomId>(parseRoomId, 'room id');
export const userIdOf = parsing<UserId>(parseUserId, 'user id');
export const deviceIdOf = parsing<DeviceId>(parseDeviceId, 'device id');
export const seqOf = parsing<Seq>(parseSeq, 'sequence number');
export const epochOf = parsing<Epoch>(parseEpoch, 'epoch');
