/**
 * The event, notice, send and room shapes of docs/decisions/0009-server-metadata.md: every
 * kind has exactly its fields — each required one is required, and a field of another kind is
 * refused.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  CreateFrame,
  Notice,
  RoomEvent,
  RoomSummary,
  SendFrame,
  SettingsFrame,
} from '../src/index.js';
import {
  parseEpoch,
  parseRoomId,
  parseSeq,
  type DeviceId,
  type Epoch,
  type RoomId,
  type Seq,
  type UserId,
} from '../src/ids.js';

const ROOM = 'AAAAAAAAAAAAAAAAAAAAAA';
const USER = 'BBBBBBBBBBBBBBBBBBBBBB';
const DEVICE = 'CCCCCCCCCCCCCCCCCCCCCC';
const bytes = new Uint8Array([1, 2, 3]);
const BLOB = 'DDDDDDDDDDDDDDDDDDDDDD';

type Example = Record<string, unknown>;

/** `example` passes; without any one of `required` it fails; with any one of `foreign` it fails. */
function exactly(schema: TSchema, example: Example, foreign: Example): void {
  expect(Value.Errors(schema, example).First()?.message, JSON.stringify(example)).toBeUndefined();
  for (const field of Object.keys(example)) {
    const without: Example = { ...example };
    delete without[field];
    expect(Value.Check(schema, without), `without ${field}`).toBe(false);
  }
  for (const [field, value] of Object.entries(foreign)) {
    expect(Value.Check(schema, { ...example, [field]: value }), `with ${field}`).toBe(false);
  }
}

const placed = { room: ROOM, seq: 5, sender: USER, device: DEVICE, at: 1_700_000_000_000 };
const sent = { ...placed, cmid: 'c-1', payload: bytes };
const aNotice = { type: 'join', user: USER, username: 'bob', awaitsCommit: true };

describe('room events: one shape per kind', () => {
  const cases: [string, Example, Example][] = [
    ['message', { ...sent, kind: 'message' }, { target: 3, epoch: 1, notice: aNotice }],
    ['edit', { ...sent, kind: 'edit', target: 3 }, { epoch: 1, notice: aNotice }],
    ['reaction', { ...sent, kind: 'reaction', target: 3 }, { epoch: 1, deleted: true }],
    ['commit', { ...sent, kind: 'commit', epoch: 2 }, { target: 3, deleted: true }],
    [
      'delete',
      { ...placed, kind: 'delete', target: 3 },
      { payload: bytes, cmid: 'c-1', epoch: 1, deleted: true, notice: aNotice },
    ],
    [
      'notice',
      { ...placed, kind: 'notice', notice: aNotice },
      { payload: bytes, cmid: 'c-1', target: 3, epoch: 1, deleted: true },
    ],
  ];
  for (const [kind, example, foreign] of cases) {
    it(`${kind}: its own fields, all required, and no other kind's`, () => {
      exactly(RoomEvent, example, foreign);
    });
  }

  it('marks deleted messages and edits only, with an empty payload', () => {
    const empty = new Uint8Array(0);
    expect(
      Value.Check(RoomEvent, { ...sent, payload: empty, kind: 'message', deleted: true }),
    ).toBe(true);
    expect(
      Value.Check(RoomEvent, { ...sent, payload: empty, kind: 'edit', target: 3, deleted: true }),
    ).toBe(true);
    expect(Value.Check(RoomEvent, { ...sent, kind: 'message', deleted: false })).toBe(false);
  });

  it('refuses a kind the delivery service does not know', () => {
    expect(Value.Check(RoomEvent, { ...sent, kind: 'rename' })).toBe(false);
  });
});

describe('notices: one shape per type', () => {
  const subject = { user: USER, username: 'bob' };
  const cases: [string, Example, Example][] = [
    [
      'create (channel)',
      { type: 'create', kind: 'channel', name: 'lobby', protected: false },
      { topic: 'hi', user: USER },
    ],
    ['join', { type: 'join', ...subject, awaitsCommit: true }, { role: 'member', name: 'x' }],
    ['invite', { type: 'invite', ...subject, awaitsCommit: true }, { device: DEVICE }],
    ['leave', { type: 'leave', ...subject, awaitsCommit: true }, { role: 'member' }],
    ['kick', { type: 'kick', ...subject, awaitsCommit: true }, { change: 'added' }],
    ['role', { type: 'role', ...subject, role: 'moderator' }, { awaitsCommit: true }],
    ['transfer', { type: 'transfer', ...subject }, { awaitsCommit: true, role: 'owner' }],
    [
      'devices',
      { type: 'devices', ...subject, device: DEVICE, change: 'added', awaitsCommit: true },
      { role: 'member', name: 'x' },
    ],
  ];
  for (const [type, example, foreign] of cases) {
    it(`${type}: its own fields, all required, and no other type's`, () => {
      exactly(Notice, example, foreign);
    });
  }

  it('a group or direct room is created without a name or topic', () => {
    exactly(Notice, { type: 'create', kind: 'group' }, { name: 'family', topic: 'us' });
    exactly(Notice, { type: 'create', kind: 'direct' }, { name: 'bob', protected: false });
  });

  it('awaits a commit for exactly the changes to the MLS group', () => {
    const awaiting = ['join', 'invite', 'leave', 'kick'];
    for (const type of awaiting)
      expect(Value.Check(Notice, { type, ...subject, awaitsCommit: false }), type).toBe(false);
    expect(
      Value.Check(Notice, { type: 'devices', ...subject, device: DEVICE, change: 'lost' }),
    ).toBe(false);
  });

  it('settings: every field optional, a name only as a channel name, nothing else', () => {
    expect(Value.Check(Notice, { type: 'settings' })).toBe(true);
    expect(
      Value.Check(Notice, {
        type: 'settings',
        name: 'lobby',
        topic: null,
        visibility: 'joined',
        protected: true,
      }),
    ).toBe(true);
    expect(Value.Check(Notice, { type: 'settings', name: 'Our family' })).toBe(false);
    expect(Value.Check(Notice, { type: 'settings', user: USER })).toBe(false);
  });
});

describe('sends: one shape per kind', () => {
  const base = { v: 1, t: 'send', id: 1, room: ROOM, cmid: 'c-1', payload: bytes };
  it('each kind with its fields, all required, and no other kind’s', () => {
    exactly(SendFrame, { ...base, kind: 'message' }, { target: 3, groupInfo: BLOB });
    exactly(SendFrame, { ...base, kind: 'edit', target: 3 }, { groupInfo: BLOB });
    // A message may name the file it carries (an id; the key and hash are in the payload).
    expect(Value.Check(SendFrame, { ...base, kind: 'message', file: BLOB })).toBe(true);
    expect(Value.Check(SendFrame, { ...base, kind: 'message', file: bytes })).toBe(false);
    expect(Value.Check(SendFrame, { ...base, kind: 'edit', target: 3, file: BLOB })).toBe(false);
    exactly(SendFrame, { ...base, kind: 'reaction', target: 3 }, { groupInfo: BLOB });
    // An application message may name the epoch it was encrypted in (a stale one is refused).
    for (const send of [
      { ...base, kind: 'message' },
      { ...base, kind: 'edit', target: 3 },
      { ...base, kind: 'reaction', target: 3 },
    ]) {
      expect(Value.Check(SendFrame, { ...send, epoch: 1 })).toBe(true);
      expect(Value.Check(SendFrame, { ...send, epoch: -1 })).toBe(false);
    }
    exactly(SendFrame, { ...base, kind: 'commit', epoch: 0 }, { target: 3 });
    expect(Value.Check(SendFrame, { ...base, kind: 'commit', epoch: 0, groupInfo: BLOB })).toBe(
      true,
    );
    // The group info is a blob uploaded beforehand, named by its id: never bytes in the frame.
    expect(Value.Check(SendFrame, { ...base, kind: 'commit', epoch: 0, groupInfo: bytes })).toBe(
      false,
    );
    expect(
      Value.Check(SendFrame, { ...base, kind: 'commit', epoch: 0, groupInfo: 'not-a-blob-id' }),
    ).toBe(false);
  });

  it('refuses the kinds only the server writes', () => {
    expect(Value.Check(SendFrame, { ...base, kind: 'delete', target: 3 })).toBe(false);
    expect(Value.Check(SendFrame, { ...base, kind: 'notice' })).toBe(false);
  });
});

describe('room names and topics: public for channels only', () => {
  it('creates a group with no name or topic', () => {
    const group = { v: 1, t: 'create', id: 1, kind: 'group' };
    expect(Value.Check(CreateFrame, group)).toBe(true);
    expect(Value.Check(CreateFrame, { ...group, visibility: 'joined' })).toBe(true);
    expect(Value.Check(CreateFrame, { ...group, name: 'Family' })).toBe(false);
    expect(Value.Check(CreateFrame, { ...group, topic: 'Sundays' })).toBe(false);
  });

  it('creates a channel with its public name', () => {
    const channel = { v: 1, t: 'create', id: 1, kind: 'channel', name: 'lobby' };
    expect(Value.Check(CreateFrame, { ...channel, topic: 'hello' })).toBe(true);
    expect(Value.Check(CreateFrame, { ...channel, name: undefined })).toBe(false);
  });

  it('settings take a channel name only', () => {
    const settings = { v: 1, t: 'settings', id: 1, room: ROOM };
    expect(Value.Check(SettingsFrame, { ...settings, name: 'lobby', topic: null })).toBe(true);
    expect(Value.Check(SettingsFrame, { ...settings, name: 'Our family' })).toBe(false);
  });

  const summary = {
    id: ROOM,
    visibility: 'shared',
    role: 'member',
    muted: false,
    lastSeq: 4,
    epoch: 0,
    memberCount: 2,
    closedAt: null,
  };
  it('a group summary has null name and topic, and is never protected', () => {
    exactly(
      RoomSummary,
      { ...summary, kind: 'group', name: null, topic: null, protected: false },
      { peer: { id: USER, username: 'bob' } },
    );
    const group = { ...summary, kind: 'group', name: null, topic: null, protected: false };
    expect(Value.Check(RoomSummary, { ...group, name: 'Family' })).toBe(false);
    expect(Value.Check(RoomSummary, { ...group, topic: 'Sundays' })).toBe(false);
    expect(Value.Check(RoomSummary, { ...group, protected: true })).toBe(false);
  });

  it('a direct summary names the other person and nothing else', () => {
    const peer = { id: USER, username: 'bob' };
    exactly(
      RoomSummary,
      { ...summary, kind: 'direct', name: null, topic: null, protected: false, peer },
      {},
    );
    expect(
      Value.Check(RoomSummary, {
        ...summary,
        kind: 'direct',
        name: 'bob',
        topic: null,
        protected: false,
        peer,
      }),
    ).toBe(false);
  });

  it('a channel summary has its name, and no peer', () => {
    exactly(
      RoomSummary,
      { ...summary, kind: 'channel', name: 'lobby', topic: null, protected: true },
      { peer: { id: USER, username: 'bob' } },
    );
  });
});

describe('branded ids', () => {
  it('the schemas carry the brands', () => {
    type Event = Static<typeof RoomEvent>;
    expectTypeOf<Event['room']>().toEqualTypeOf<RoomId>();
    expectTypeOf<Event['seq']>().toEqualTypeOf<Seq>();
    expectTypeOf<Event['sender']>().toEqualTypeOf<UserId>();
    expectTypeOf<Event['device']>().toEqualTypeOf<DeviceId>();
    expectTypeOf<Extract<Event, { kind: 'commit' }>['epoch']>().toEqualTypeOf<Epoch>();
    expectTypeOf<string>().not.toMatchTypeOf<RoomId>();
    expectTypeOf<number>().not.toMatchTypeOf<Seq>();
    expectTypeOf<Seq>().not.toMatchTypeOf<Epoch>();
  });

  it('parsers accept what the wire allows and nothing else', () => {
    expect(parseRoomId(ROOM)).toBe(ROOM);
    for (const bad of ['', 'short', `${ROOM}A`, 'AAAAAAAAAAAAAAAAAAAAA/', 22, null])
      expect(parseRoomId(bad), String(bad)).toBeUndefined();
    for (const parse of [parseSeq, parseEpoch]) {
      expect(parse(0)).toBe(0);
      expect(parse(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
      for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, '3', null])
        expect(parse(bad), String(bad)).toBeUndefined();
    }
  });
});
