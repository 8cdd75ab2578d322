/**
 * Property: over random interleavings of sends, other people's events, lost pushes (gaps),
 * dropped sockets, sockets gone silent without a close, failed resumes, expiring sends, leaves and kicks — against the in-process
 * stand-in server, step by step — every event the device may read reaches it exactly once
 * and in order per room, every room it can no longer read is reported gone and no longer
 * resumed, every send is acknowledged exactly once or fails visibly, and the state reads
 * `open` only while a socket is open.
 */
import { ChatError, type ErrorCode, type RoomEvent } from '@securechat/protocol';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { PING_INTERVAL_MS } from '../src/transport/liveness.js';
import { OUTBOX_ENTRY_MAX_AGE_MS } from '../src/transport/outbox.js';
import { RealtimeConnection } from '../src/transport/realtime.js';
import {
  id,
  ME,
  settle,
  UnsafeTestingClock,
  UnsafeTestingServer,
} from './support/unsafe-testing-server.js';

const ROOMS = [id('room0'), id('room1'), id('room2')];

const room = fc.integer({ min: 0, max: ROOMS.length - 1 });
const action = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ t: 'process' as const }) },
  { weight: 6, arbitrary: fc.constant({ t: 'deliver' as const }) },
  // Two frames handed over before the client's promise continuations run.
  { weight: 2, arbitrary: fc.constant({ t: 'deliver-two' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'accept' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant('other' as const), room, lost: fc.boolean() }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('send' as const), room }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('remove' as const),
      room,
      type: fc.constantFrom('kick' as const, 'leave' as const),
      lost: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('leave-here' as const), room }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('invite' as const), room, lost: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'drop' as const }) },
  // The socket dies without a close: only the client's liveness check can find out.
  { weight: 1, arbitrary: fc.constant({ t: 'silence' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('fail-resume' as const),
      code: fc.constantFrom<ErrorCode>(
        'CHAT_ERR_INTERNAL',
        'CHAT_ERR_RATE_LIMITED',
        'CHAT_ERR_UNAVAILABLE',
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'rate-limit' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('tick' as const),
      ms: fc.constantFrom(50, 300, 2000, PING_INTERVAL_MS, OUTBOX_ENTRY_MAX_AGE_MS),
    }),
  },
);

const scenario = fc.record({
  goneMode: fc.constantFrom('name' as const, 'fail' as const),
  /** History visibility when this user is added back to a room. */
  visibility: fc.constantFrom('shared' as const, 'joined' as const),
  pageSize: fc.integer({ min: 1, max: 5 }),
  /** Per room: events already stored, and how many of them this device has. */
  start: fc.array(
    fc
      .integer({ min: 0, max: 4 })
      .chain((stored) => fc.tuple(fc.constant(stored), fc.integer({ min: 0, max: stored }))),
    { minLength: ROOMS.length, maxLength: ROOMS.length },
  ),
  actions: fc.array(action, { maxLength: 60 }),
});

interface SendRecord {
  room: string;
  cmid: string;
  outcome: { ack: { room: string; seq: number } } | { error: ChatError } | null;
  settled: number;
}

it('never loses, repeats or reorders an event, and settles every send once', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ goneMode, visibility, pageSize, start, actions }) => {
      const server = new UnsafeTestingServer({ goneMode, pageSize });
      const clock = new UnsafeTestingClock();
      const positions = new Map<string, number>();
      ROOMS.forEach((r, i) => {
        const [stored, known] = start[i]!;
        server.addRoom(r, stored);
        positions.set(r, known);
      });
      const initial = new Map(positions);
      const conn = new RealtimeConnection({
        url: 'ws://stand-in',
        openSocket: server.openSocket,
        headers: () => Promise.resolve({}),
        positions,
        userId: ME,
        clock,
        random: () => 0.5,
        minBackoffMs: 100,
        maxBackoffMs: 2000,
      });
      const seen = new Map<string, number[]>(ROOMS.map((r) => [r, []]));
      const gone = new Map<string, number>();
      const problems: string[] = [];
      conn.onEvent((event: RoomEvent) => seen.get(event.room)!.push(event.seq));
      conn.onGone((r) => gone.set(r, (gone.get(r) ?? 0) + 1));
      const checkState = () => {
        if ((conn.state === 'open' || conn.state === 'stalled') && !server.isOpen)
          problems.push(`state ${conn.state} without an open socket`);
      };
      conn.onState(checkState);
      const sends: SendRecord[] = [];

      conn.start();
      for (const step of actions) {
        await settle();
        switch (step.t) {
          case 'process':
            server.process();
            break;
          case 'deliver':
            server.deliver();
            break;
          case 'deliver-two':
            server.deliver();
            server.deliver();
            break;
          case 'accept':
            server.accept();
            break;
          case 'other':
            server.other(ROOMS[step.room]!, step.lost);
            break;
          case 'send': {
            const record: SendRecord = {
              room: ROOMS[step.room]!,
              cmid: `send-${sends.length}`,
              outcome: null,
              settled: 0,
            };
            sends.push(record);
            conn
              .send({
                room: record.room,
                kind: 'message',
                payload: new TextEncoder().encode(record.cmid),
                cmid: record.cmid,
              })
              .then(
                (ack) => {
                  record.settled += 1;
                  record.outcome = { ack };
                },
                (error: unknown) => {
                  record.settled += 1;
                  if (error instanceof ChatError) record.outcome = { error };
                  else problems.push(`send rejected with ${String(error)}`);
                },
              );
            break;
          }
          case 'remove':
            server.remove(ROOMS[step.room]!, step.type, step.lost);
            break;
          case 'invite':
            server.invite(ROOMS[step.room]!, step.lost, visibility);
            break;
          case 'leave-here':
            conn.leave(ROOMS[step.room]!).catch(() => undefined);
            break;
          case 'drop':
            server.drop();
            break;
          case 'silence':
            server.silence();
            break;
          case 'fail-resume':
            server.failNextResume = step.code;
            break;
          case 'rate-limit':
            server.rateLimitNextSend = true;
            break;
          case 'tick':
            await clock.advance(step.ms);
            break;
        }
        checkState();
      }

      /** Run both sides (and time, when nothing else moves) until all is caught up. */
      const quiesce = async () => {
        for (let i = 0; i < 5000; i += 1) {
          await settle();
          checkState();
          if (server.connecting) server.accept();
          else if (server.process() || server.deliver()) continue;
          else if (conn.state === 'open' && conn.pendingSends === 0 && !server.isSilenced) return;
          else if (!clock.fireNext(60_000)) throw new Error(`stuck in state ${conn.state}`);
        }
        throw new Error('never caught up');
      };
      await quiesce();
      // Without a reconnect: every room it still follows is filled up to the last event it
      // was pushed (a lost push with nothing after it can only be found by a resume).
      for (const r of ROOMS) {
        const pushed = server.pushedMax.get(r) ?? 0;
        if (positions.has(r)) expect(conn.position(r)).toBeGreaterThanOrEqual(pushed);
      }
      // One more reconnect: whatever was missed (pushes lost, removals) is found by a resume.
      server.drop();
      await quiesce();
      // And one more: rooms found gone are no longer named.
      const before = server.resumed.length;
      server.drop();
      await quiesce();
      await settle();
      const lastResumes = server.resumed.slice(before).flat();

      expect(problems).toEqual([]);
      for (const r of ROOMS) {
        const seqs = seen.get(r)!;
        const from = initial.get(r)!;
        if (visibility === 'shared') {
          // Once each, in order, nothing skipped.
          expect(seqs).toEqual(seqs.map((_, i) => from + 1 + i));
        } else {
          // Once each, in order (what it may no longer read is skipped).
          seqs.forEach((seq, i) => expect(seq).toBeGreaterThan(i === 0 ? from : seqs[i - 1]!));
        }
        if (server.isMember(r) && positions.has(r)) {
          // Everything it may read.
          const readable = server.rooms
            .get(r)!
            .events.map((e) => e.seq)
            .filter((seq) => seq > Math.max(from, server.rooms.get(r)!.readableAfter));
          expect(seqs.filter((seq) => seq > server.rooms.get(r)!.readableAfter)).toEqual(readable);
          expect(conn.position(r)).toBe(server.lastSeq(r));
        } else if (server.isMember(r)) {
          // Added back while the news was lost: it was told the room was gone, and the app
          // learns of the room again from the rooms list.
          expect(gone.get(r)).toBeGreaterThanOrEqual(1);
        } else {
          // Reported gone, and no longer resumed.
          expect(gone.get(r)).toBeGreaterThanOrEqual(1);
          expect(positions.has(r)).toBe(false);
          expect(lastResumes).not.toContain(r);
        }
      }
      for (const send of sends) {
        expect(send.settled).toBe(1);
        const outcome = send.outcome!;
        if ('ack' in outcome) {
          const stored = server.rooms.get(send.room)!.events[outcome.ack.seq - 1];
          expect(stored).toMatchObject({ cmid: send.cmid });
        } else {
          expect(['CHAT_ERR_NOT_FOUND', 'CHAT_ERR_SEND_EXPIRED']).toContain(outcome.error.code);
          if (outcome.error.code === 'CHAT_ERR_NOT_FOUND') expect(gone.has(send.room)).toBe(true);
        }
        // Stored at most once, whatever the retries.
        const copies = server.rooms
          .get(send.room)!
          .events.filter((e) => 'cmid' in e && e.cmid === send.cmid);
        expect(copies.length).toBeLessThanOrEqual(1);
      }
      expect(conn.state).toBe('open');
      conn.close();
    }),
    { numRuns: 1000 },
  );
}, 120_000);
