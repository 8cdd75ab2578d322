/**
 * A stand-in for the realtime connection, for facade tests: it stores sends as a server would
 * (one seq per room, idempotent per cmid), pushes their events back, answers history from
 * that log and counts the history requests.
 */
import type { RoomEvent, RoomSummary } from '@securechat/protocol';
import type { ConversationTransport } from '../../src/conversations/conversations.js';
import type { ConnectionState } from '../../src/transport/realtime.js';
import { deviceId, epoch, roomId, seq, userId } from '../../../../test-support/ids.js';

/** A room event before the log places it: every kind's shape without `seq` and `at`. */
export type Unplaced = RoomEvent extends infer E
  ? E extends RoomEvent
    ? Omit<E, 'seq' | 'at'>
    : never
  : never;

export interface UnsafeTestingTransport extends ConversationTransport {
  /** The room logs. */
  log: Map<string, RoomEvent[]>;
  historyCalls: { room: string; before: number | undefined }[];
  positions: Map<string, number>;
  /** Store an event from someone else and push it. */
  deliver(event: Unplaced): RoomEvent;
  setState(state: ConnectionState): void;
  /** The server says this user can no longer read `room`. */
  gone(room: string): void;
  /** Make the next sends fail with this error (null: succeed). */
  failSends: Error | null;
}

export function unsafeTestingTransport(
  me: string,
  positions: Map<string, number>,
  log = new Map<string, RoomEvent[]>(),
): UnsafeTestingTransport {
  const eventListeners = new Set<(event: RoomEvent) => void>();
  const stateListeners = new Set<(state: ConnectionState) => void>();
  const goneListeners = new Set<(room: string) => void>();
  const acks = new Map<string, { room: string; seq: number; at: number }>();
  const append = (event: Unplaced): RoomEvent => {
    const events = log.get(event.room) ?? [];
    const stored: RoomEvent = { ...event, seq: seq(events.length + 1), at: 1_000 + events.length };
    log.set(event.room, [...events, stored]);
    return stored;
  };
  const push = (event: RoomEvent) => {
    positions.set(event.room, event.seq);
    for (const listener of eventListeners) listener(event);
  };
  const unsupported = () => Promise.reject(new Error('not in this test'));
  const summary = (id: string): RoomSummary => ({
    id: roomId(id),
    kind: 'channel',
    name: id,
    topic: null,
    visibility: 'shared',
    protected: false,
    role: 'member',
    muted: false,
    lastSeq: seq(log.get(id)?.length ?? 0),
    epoch: epoch(0),
    memberCount: 2,
    closedAt: null,
  });
  const transport: UnsafeTestingTransport = {
    log,
    positions,
    historyCalls: [],
    failSends: null,
    state: 'open',
    setState(state) {
      Object.assign(transport, { state });
      for (const listener of stateListeners) listener(state);
    },
    deliver(event) {
      const stored = append(event);
      push(stored);
      return stored;
    },
    onEvent: (l) => (eventListeners.add(l), () => eventListeners.delete(l)),
    onState: (l) => (stateListeners.add(l), () => stateListeners.delete(l)),
    onTyping: () => () => undefined,
    onPresence: () => () => undefined,
    onReceipt: () => () => undefined,
    receipt: () => Promise.resolve(undefined),
    receipts: () => Promise.resolve({ enabled: false, receipts: [] }),
    onGone: (l) => (goneListeners.add(l), () => goneListeners.delete(l)),
    gone(room) {
      positions.delete(room);
      for (const listener of goneListeners) listener(room);
    },
    async send(input) {
      if (transport.failSends) throw transport.failSends;
      const cmid = input.cmid ?? 'x';
      const known = acks.get(cmid);
      if (known) return known;
      const sent = {
        room: roomId(input.room),
        sender: userId(me),
        device: deviceId('D'.repeat(22)),
        cmid,
      };
      const stored = append(
        input.kind === 'message'
          ? { ...sent, kind: 'message', payload: input.payload }
          : { ...sent, kind: input.kind, payload: input.payload, target: seq(input.target) },
      );
      const ack = { room: stored.room, seq: stored.seq, at: stored.at };
      acks.set(cmid, ack);
      push(stored);
      return ack;
    },
    async history(room, limit, before) {
      transport.historyCalls.push({ room, before });
      const events = (log.get(room) ?? []).filter((e) => before === undefined || e.seq < before);
      const page = events.slice(-limit);
      return { events: page, more: page.length < events.length };
    },
    typing: async () => ({}),
    setPresence: async () => ({}),
    rooms: async () => [...log.keys()].map(summary),
    directory: unsupported,
    createChannel: unsupported,
    createGroup: unsupported,
    direct: unsupported,
    join: async (room) => summary(room),
    leave: async () => undefined,
    invite: unsupported,
    kick: unsupported,
    setRole: unsupported,
    transfer: unsupported,
    settings: unsupported,
    members: unsupported,
    findUsers: unsupported,
    block: unsupported,
    blocked: unsupported,
    mute: unsupported,
    deleteCode: async () => ({ code: '1234', expiresAt: 0 }),
    async deleteMessage(room, target) {
      push(
        append({
          room: roomId(room),
          kind: 'delete',
          sender: userId(me),
          device: deviceId('D'.repeat(22)),
          target: seq(target),
        }),
      );
      return {};
    },
    close: () => undefined,
  };
  return transport;
}
