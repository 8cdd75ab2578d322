/**
 * Branded ids and positions for tests, made through the protocol's parsers (never cast): a
 * literal that is not a valid id fails the test at once.
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

function parsed<T, V>(parse: (value: unknown) => T | undefined, what: string) {
  return (value: V): T => {
    const result = parse(value);
    if (result === undefined) throw new Error(`not a valid ${what}: ${String(value)}`);
    return result;
  };
}

export const roomId = parsed<RoomId, string>(parseRoomId, 'room id');
export const userId = parsed<UserId, string>(parseUserId, 'user id');
export const deviceId = parsed<DeviceId, string>(parseDeviceId, 'device id');
export const seq = parsed<Seq, number>(parseSeq, 'seq');
export const epoch = parsed<Epoch, number>(parseEpoch, 'epoch');
