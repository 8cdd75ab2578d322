/**
 * Frame codec micro-benchmark: the protocol's MessagePack codec (encode, decode + schema
 * check) against JSON with base64 payloads, on a typical event frame with a 200-byte
 * ciphertext. See docs/decisions/0006-frame-codec.md.
 */
import {
  decodeServerFrame,
  encodeFrame,
  parseDeviceId,
  parseRoomId,
  parseSeq,
  parseUserId,
  type RoomEvent,
  type ServerFrame,
} from '@securechat/protocol';
import { printTable } from './stats.js';

const ID = 'AAAAAAAAAAAAAAAAAAAAAA';
const parsed = <T>(value: T | undefined): T => {
  if (value === undefined) throw new Error('not a valid id');
  return value;
};

function rate(iterations: number, work: () => void): number {
  for (let i = 0; i < 20_000; i += 1) work();
  const start = performance.now();
  for (let i = 0; i < iterations; i += 1) work();
  return Math.round(iterations / ((performance.now() - start) / 1000));
}

export function codecBenchmark(iterations = 200_000): Record<string, string | number>[] {
  const frame: Extract<ServerFrame, { t: 'event' }> & {
    event: Extract<RoomEvent, { kind: 'message' }>;
  } = {
    v: 1,
    t: 'event',
    event: {
      room: parsed(parseRoomId(ID)),
      seq: parsed(parseSeq(123_456)),
      kind: 'message',
      sender: parsed(parseUserId(ID)),
      device: parsed(parseDeviceId(ID)),
      cmid: 'm-8f2k3j',
      at: Date.now(),
      payload: new Uint8Array(200).map((_, i) => i),
    },
  };
  const packed = encodeFrame(frame);
  const asJson = () =>
    JSON.stringify({
      ...frame,
      event: { ...frame.event, payload: Buffer.from(frame.event.payload).toString('base64') },
    });
  const json = asJson();
  const rows = [
    {
      codec: 'MessagePack (@msgpack/msgpack) + schema check',
      bytes: packed.byteLength,
      'encode/s': rate(iterations, () => encodeFrame(frame)),
      'decode/s': rate(iterations, () => decodeServerFrame(packed)),
    },
    {
      codec: 'JSON + base64 payload, no check',
      bytes: Buffer.byteLength(json),
      'encode/s': rate(iterations, asJson),
      'decode/s': rate(iterations, () => {
        const parsed = JSON.parse(json) as { event: { payload: string } };
        Buffer.from(parsed.event.payload, 'base64');
      }),
    },
  ];
  printTable(rows);
  return rows;
}
