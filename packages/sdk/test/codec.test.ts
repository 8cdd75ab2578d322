/** The content codec: every content type round-trips; nothing a payload holds makes it throw. */
import { encode } from '@msgpack/msgpack';
import { ChatError, Limits, type RoomEvent } from '@securechat/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONTENT_VERSION,
  TEXT_MAX_BYTES,
  decodeContent,
  decodeEvent,
  encodeContent,
  textBytes,
} from '../src/conversations/codec.js';
import type { Content } from '../src/conversations/content.js';
import { deviceId, roomId, seq as seqOf, userId } from '../../../test-support/ids.js';

const seq = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const content: fc.Arbitrary<Content> = fc.oneof(
  fc.record({ type: fc.constant('text' as const), text: fc.string() }),
  fc.record({ type: fc.constant('reply' as const), text: fc.string(), replyTo: seq }),
  fc.record({ type: fc.constant('edit' as const), target: seq, text: fc.string() }),
  fc.record({
    type: fc.constant('reaction' as const),
    target: seq,
    emoji: fc.constantFrom('👍', '🎉', '❤️'),
    on: fc.boolean(),
  }),
  fc.record({ type: fc.constant('delete' as const), target: seq }),
  fc.record(
    {
      type: fc.constant('room-profile' as const),
      name: fc.string({ minLength: 1 }),
      topic: fc.option(fc.string(), { nil: null }),
    },
    { requiredKeys: ['type'] },
  ),
);

/** An event as the wire may bring it: a message unless `extra` makes it another kind. */
const event = (payload: Uint8Array, extra: Record<string, unknown> = {}): RoomEvent => ({
  room: roomId('GeneralRoom00000000000'),
  seq: seqOf(7),
  kind: 'message',
  sender: userId('u'.repeat(22)),
  device: deviceId('d'.repeat(22)),
  cmid: 'c1',
  at: 1,
  payload,
  ...extra,
});

describe('the content codec', () => {
  it('round-trips every content type', () => {
    fc.assert(
      fc.property(content, (c) => {
        expect(decodeContent(encodeContent(c))).toEqual(c);
      }),
    );
  });

  it('turns any bytes into content or an unreadable item, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeContent(bytes);
        expect(typeof decoded.type).toBe('string');
      }),
    );
    fc.assert(
      fc.property(fc.anything(), (value) => {
        let bytes: Uint8Array;
        try {
          bytes = encode(value);
        } catch {
          return;
        }
        expect(() => decodeContent(bytes)).not.toThrow();
      }),
    );
  });

  it('names why a payload is unreadable', () => {
    expect(decodeContent(new Uint8Array([0xc1]))).toEqual({
      type: 'unreadable',
      reason: 'malformed',
    });
    expect(decodeContent(encode({ v: CONTENT_VERSION + 1, type: 'text', text: 'x' }))).toEqual({
      type: 'unreadable',
      reason: 'version',
    });
    expect(decodeContent(encode({ v: CONTENT_VERSION, type: 'poll' }))).toEqual({
      type: 'unreadable',
      reason: 'unknown-type',
    });
    expect(decodeContent(encode({ v: CONTENT_VERSION, type: 'text', text: 3 }))).toEqual({
      type: 'unreadable',
      reason: 'malformed',
    });
    // The old JSON payloads of the web app read as unreadable, not as a crash.
    expect(decodeContent(new TextEncoder().encode('{"text":"hi"}')).type).toBe('unreadable');
  });

  it('refuses text over the limit before anything is sent, and fits the limit exactly', () => {
    expect(TEXT_MAX_BYTES).toBeLessThan(Limits.PAYLOAD_MAX_BYTES);
    const fits = 'a'.repeat(TEXT_MAX_BYTES);
    expect(
      encodeContent({ type: 'reply', text: fits, replyTo: 2 ** 40 }).byteLength,
    ).toBeLessThanOrEqual(Limits.PAYLOAD_MAX_BYTES);
    const error = (() => {
      try {
        encodeContent({ type: 'text', text: `${fits}é` });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ChatError);
    expect((error as ChatError).code).toBe('CHAT_ERR_TOO_LARGE');
    expect(textBytes('é')).toBe(2);
  });

  it('trusts the server’s metadata over the payload', () => {
    const edit = encodeContent({ type: 'edit', target: 1, text: 'new' });
    expect(decodeEvent(event(edit, { kind: 'edit', target: 3 })).content).toEqual({
      type: 'edit',
      target: 3,
      text: 'new',
    });
    // An edit smuggled in as a message is not an edit.
    expect(decodeEvent(event(edit)).content).toEqual({ type: 'unreadable', reason: 'malformed' });
    expect(decodeEvent(event(new Uint8Array(), { kind: 'delete', target: 4 })).content).toEqual({
      type: 'delete',
      target: 4,
    });
    expect(decodeEvent(event(new Uint8Array(), { deleted: true })).content).toEqual({
      type: 'unreadable',
      reason: 'erased',
    });
    expect(
      decodeEvent(
        event(new Uint8Array(), {
          kind: 'notice',
          notice: { type: 'join', user: 'u'.repeat(22), username: 'u', awaitsCommit: true },
        }),
      ).content,
    ).toBeNull();
  });
});
