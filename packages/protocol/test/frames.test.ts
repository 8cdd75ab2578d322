import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';
import { Limits } from '../src/limits.js';
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeFrame,
  errorFrameFor,
} from '../src/frames/codec.js';
import type { ClientFrame } from '../src/frames/registry.js';
import { epoch, roomId, seq, userId } from '../../../test-support/ids.js';

const ROOM = roomId('AAAAAAAAAAAAAAAAAAAAAA');

const send: ClientFrame = {
  v: 1,
  t: 'send',
  id: 7,
  room: ROOM,
  cmid: 'c-1',
  kind: 'message',
  payload: new Uint8Array([1, 2, 3]),
};

describe('frame codec', () => {
  it('round-trips every client frame type', () => {
    const frames: ClientFrame[] = [
      send,
      { ...send, kind: 'commit', epoch: epoch(3) },
      { ...send, kind: 'commit', epoch: epoch(4), groupInfo: 'BBBBBBBBBBBBBBBBBBBBBB' },
      { v: 1, t: 'identity-keys', id: 6, users: [userId('CCCCCCCCCCCCCCCCCCCCCC')] },
      { v: 1, t: 'history', id: 2, room: ROOM, limit: 50, before: seq(100) },
      { v: 1, t: 'resume', id: 3, positions: [{ room: ROOM, after: seq(41) }] },
      { v: 1, t: 'typing', id: 4, room: ROOM, on: true },
      { v: 1, t: 'ping', id: 5 },
    ];
    for (const frame of frames) {
      const decoded = decodeClientFrame(encodeFrame(frame));
      expect(decoded, frame.t).toEqual({ ok: true, frame });
    }
  });

  it('round-trips server frames, including error frames for failed decodes', () => {
    const failure = decodeClientFrame(new Uint8Array([0xc1]));
    expect(failure.ok).toBe(false);
    if (failure.ok) return;
    const frame = errorFrameFor(failure);
    expect(decodeServerFrame(encodeFrame(frame))).toEqual({ ok: true, frame });
  });

  it('names what is wrong and keeps the request id when it can be read', () => {
    const unknownField = decodeClientFrame(encode({ ...send, admin: true }));
    expect(unknownField).toMatchObject({ ok: false, code: 'CHAT_ERR_FRAME_MALFORMED', id: 7 });
    const wrongVersion = decodeClientFrame(encode({ ...send, v: 2 }));
    expect(wrongVersion).toMatchObject({ ok: false, code: 'CHAT_ERR_PROTOCOL_VERSION', id: 7 });
    const unknownType = decodeClientFrame(encode({ v: 1, t: 'rm -rf', id: 9 }));
    expect(unknownType).toMatchObject({ ok: false, code: 'CHAT_ERR_FRAME_MALFORMED', id: 9 });
    const notAMap = decodeClientFrame(encode([1, 2, 3]));
    expect(notAMap).toMatchObject({ ok: false, code: 'CHAT_ERR_FRAME_MALFORMED', id: null });
  });

  it('refuses oversized frames and payloads', () => {
    const big = new Uint8Array(Limits.FRAME_MAX_BYTES + 1);
    expect(decodeClientFrame(big)).toMatchObject({ ok: false, code: 'CHAT_ERR_FRAME_TOO_LARGE' });
    const fat = encode({ ...send, payload: new Uint8Array(Limits.PAYLOAD_MAX_BYTES + 1) });
    expect(decodeClientFrame(fat)).toMatchObject({
      ok: false,
      code: 'CHAT_ERR_FRAME_MALFORMED',
      id: 7,
    });
    const manyRooms = encode({
      v: 1,
      t: 'resume',
      id: 1,
      positions: Array.from({ length: Limits.RESUME_ROOMS_MAX + 1 }, () => ({
        room: ROOM,
        after: 1,
      })),
    });
    expect(decodeClientFrame(manyRooms).ok).toBe(false);
  });

  it('never throws on random bytes, and always gives a catalogue code', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const result = decodeClientFrame(bytes);
        if (!result.ok) expect(ERROR_CODES).toContain(result.code);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated valid frames', () => {
    const valid = encodeFrame(send);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(valid.length),
        (edits, cut) => {
          const bytes = valid.slice(0, Math.max(1, cut));
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          const result = decodeClientFrame(bytes);
          if (result.ok) expect(result.frame.v).toBe(1);
          else expect(ERROR_CODES).toContain(result.code);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never throws on arbitrary MessagePack values', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 3 }), (value) => {
        let bytes: Uint8Array;
        try {
          bytes = encode(value);
        } catch {
          return; // not representable in MessagePack
        }
        expect(decodeClientFrame(bytes).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('identity keys', () => {
  const user = (i: number) => userId(`user${String(i).padStart(18, '0')}`);
  const ask = (users: unknown[]) =>
    decodeClientFrame(encode({ v: 1, t: 'identity-keys', id: 3, users }));

  it(`asks for 1 to ${Limits.IDENTITY_KEYS_PER_REQUEST_MAX} users, each a user id`, () => {
    expect(ask([user(1)]).ok).toBe(true);
    const most = Array.from({ length: Limits.IDENTITY_KEYS_PER_REQUEST_MAX }, (_, i) => user(i));
    expect(ask(most).ok).toBe(true);
    expect(ask([])).toMatchObject({ ok: false, code: 'CHAT_ERR_FRAME_MALFORMED', id: 3 });
    expect(ask([...most, user(999)])).toMatchObject({
      ok: false,
      code: 'CHAT_ERR_FRAME_MALFORMED',
    });
    expect(ask(['not an id'])).toMatchObject({ ok: false, code: 'CHAT_ERR_FRAME_MALFORMED' });
  });

  it(`answers keys of exactly ${Limits.IDENTITY_KEY_BYTES} bytes, or null`, () => {
    const answer = (key: unknown) =>
      decodeServerFrame(
        encode({ v: 1, t: 'identity-keys', id: 3, keys: [{ user: user(1), key }] }),
      );
    expect(answer(new Uint8Array(Limits.IDENTITY_KEY_BYTES)).ok).toBe(true);
    expect(answer(null).ok).toBe(true);
    expect(answer(new Uint8Array(Limits.IDENTITY_KEY_BYTES - 1)).ok).toBe(false);
    expect(answer(new Uint8Array(Limits.IDENTITY_KEY_BYTES + 1)).ok).toBe(false);
  });
});
