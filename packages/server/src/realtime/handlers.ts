/**
 * What each client request does: one function per frame type, returning the one reply and
 * fanning out whatever the request caused (events to members, pushes to devices). The
 * gateway owns sockets; this file owns meaning. Errors are thrown as ChatError and become
 * the reply's error frame.
 */
import {
  ChatError,
  encodeFrame,
  FRAME_VERSION,
  type ClientFrame,
  type ClientFrameType,
  type PresenceStatus,
  type RoomSummary,
  type ServerFrame,
} from '@securechat/protocol';
import type { AuthContext } from '../domain/context.js';
// Who acts (senderOf). Their administrator role is not taken from it: access.ts reads it fresh.
import { publishEvents, senderOf, type Accepted } from '../domain/delivery.js';
import { userIdOf } from '../domain/ids.js';
import type { Changed } from '../domain/rooms.js';
import type { RealtimeLimit } from '../events/limits.js';
import type { Services } from '../plugins/services.js';

/** A reply without its version and id (the gateway adds them). */
type ReplyBody = ServerFrame extends infer F
  ? F extends { id: number | null }
    ? Omit<F, 'v' | 'id'>
    : never
  : never;

export interface RequestContext {
  auth: AuthContext;
  connectionId: string;
}

type Handler<T extends ClientFrameType> = (
  frame: Extract<ClientFrame, { t: T }>,
  context: RequestContext,
) => Promise<ReplyBody>;

export type Handlers = { [T in ClientFrameType]: Handler<T> };

export function createHandlers(services: Services) {
  const { accounts, delivery, rooms, mls, bus, presence, limiter, files } = services;

  /** Persisted: fan the events out to everyone they concern, on every node. */
  function fanOut(accepted: readonly Accepted[]): void {
    publishEvents(bus, accepted);
  }

  async function limit(name: RealtimeLimit, key: string): Promise<void> {
    const retryAfter = await limiter.consume(name, key);
    if (retryAfter !== null)
      throw new ChatError('CHAT_ERR_RATE_LIMITED', undefined, { retryAfter });
  }

  const roomReply = (room: RoomSummary | null): ReplyBody => {
    if (room === null) throw new ChatError('CHAT_ERR_NOT_FOUND');
    return { t: 'room', room };
  };
  /** A room change: fan out its notices, answer with the room as the actor now sees it. */
  const changedReply = (changed: Changed): ReplyBody => {
    fanOut(changed.notices);
    return roomReply(changed.room);
  };

  /** Tell whoever shares a room with this user that their status changed. */
  async function announce(userId: string, status: PresenceStatus): Promise<void> {
    const audience = await rooms.presenceAudience(userId);
    if (audience.length === 0) return;
    bus.publish(
      audience,
      encodeFrame({ v: FRAME_VERSION, t: 'presence', user: userIdOf(userId), status }),
    );
  }

  /** Set this connection's status; announce when the user's overall status changed. */
  async function setPresence(
    auth: AuthContext,
    connectionId: string,
    status: 'online' | 'away' | null,
  ): Promise<void> {
    const userId = auth.user.id;
    const before = (await presence.statuses([userId])).get(userId) ?? 'offline';
    const after =
      status === null
        ? await presence.remove(userId, connectionId)
        : await presence.set(userId, connectionId, status);
    if (after !== before) await announce(userId, after);
  }

  const handlers: Handlers = {
    ping: () => Promise.resolve({ t: 'pong', at: Date.now() }),

    async send(frame, { auth }) {
      await limit('sendDevice', auth.device.id);
      await limit('sendUser', auth.user.id);
      const accepted = await delivery.send(senderOf(auth), {
        room: frame.room,
        cmid: frame.cmid,
        kind: frame.kind,
        payload: frame.payload,
        target: 'target' in frame ? frame.target : undefined,
        epoch: frame.epoch,
        groupInfo: frame.kind === 'commit' ? frame.groupInfo : undefined,
        file: frame.kind === 'message' ? frame.file : undefined,
      });
      // Acknowledged after it is stored; a retry is acknowledged again, not re-sent.
      fanOut([accepted]);
      return {
        t: 'ack',
        room: accepted.event.room,
        seq: accepted.event.seq,
        at: accepted.event.at,
      };
    },

    async history(frame, { auth }) {
      const page = await delivery.history(auth.user.id, frame.room, frame.before, frame.limit);
      return { t: 'page', ...page };
    },

    async resume(frame, { auth }) {
      return { t: 'page', ...(await delivery.resume(auth.user.id, frame.positions)) };
    },

    async typing(frame, { auth }) {
      // Ephemeral: never stored, sent to the other members who are connected now.
      const members = await delivery.members(auth.user.id, frame.room);
      bus.publish(
        members.filter((m) => m !== auth.user.id),
        encodeFrame({
          v: FRAME_VERSION,
          t: 'typing',
          room: frame.room,
          user: userIdOf(auth.user.id),
          on: frame.on,
        }),
      );
      return { t: 'ok' };
    },

    async receipt(frame, { auth }) {
      const shared = await delivery.receipt(auth.user.id, frame.room, {
        delivered: frame.delivered,
        read: frame.read,
      });
      // Ephemeral fan-out like typing: a member offline now asks for receipts when they look.
      if (shared && shared.audience.length > 0)
        bus.publish(
          shared.audience,
          encodeFrame({
            v: FRAME_VERSION,
            t: 'receipt',
            room: frame.room,
            receipt: shared.receipt,
          }),
        );
      return { t: 'ok' };
    },

    async receipts(frame, { auth }) {
      return {
        t: 'receipts',
        room: frame.room,
        ...(await delivery.receipts(auth.user.id, frame.room)),
      };
    },

    async presence(frame, { auth, connectionId }) {
      await setPresence(auth, connectionId, frame.status);
      return { t: 'ok' };
    },

    async rooms(_frame, { auth }) {
      return { t: 'rooms', rooms: await rooms.list(auth.user.id) };
    },

    async directory(frame, { auth }) {
      return {
        t: 'directory',
        channels: await rooms.directory(auth.user.id, frame.query, frame.limit),
      };
    },

    async create(frame, { auth }) {
      return changedReply(
        await rooms.create(
          senderOf(auth),
          frame.kind === 'channel'
            ? {
                kind: 'channel',
                name: frame.name,
                topic: frame.topic,
                visibility: frame.visibility,
                password: frame.password,
              }
            : // A group's name and topic are end-to-end content: the server never has them.
              { kind: 'group', visibility: frame.visibility },
        ),
      );
    },

    async direct(frame, { auth }) {
      return changedReply(await rooms.direct(senderOf(auth), frame.username));
    },

    async join(frame, { auth }) {
      return changedReply(await rooms.join(senderOf(auth), frame.room, frame.password));
    },

    async leave(frame, { auth }) {
      fanOut((await rooms.leave(senderOf(auth), frame.room)).notices);
      return { t: 'ok' };
    },

    async invite(frame, { auth }) {
      return changedReply(await rooms.invite(senderOf(auth), frame.room, frame.username));
    },

    async kick(frame, { auth }) {
      return changedReply(await rooms.kick(senderOf(auth), frame.room, frame.user));
    },

    async role(frame, { auth }) {
      return changedReply(await rooms.setRole(senderOf(auth), frame.room, frame.user, frame.role));
    },

    async transfer(frame, { auth }) {
      return changedReply(await rooms.transfer(senderOf(auth), frame.room, frame.user));
    },

    async settings(frame, { auth }) {
      return changedReply(
        await rooms.settings(senderOf(auth), frame.room, {
          name: frame.name,
          topic: frame.topic,
          visibility: frame.visibility,
          password: frame.password,
        }),
      );
    },

    async members(frame, { auth }) {
      const { members, total } = await rooms.members(auth.user.id, frame.room);
      const statuses = await presence.statuses(members.map((m) => m.id));
      return {
        t: 'members',
        total,
        members: members.map((m) => ({
          user: userIdOf(m.id),
          username: m.username,
          role: m.role,
          presence: statuses.get(m.id) ?? 'offline',
        })),
      };
    },

    async users(frame, { auth }) {
      return { t: 'users', users: await rooms.findUsers(auth.user.id, frame.query) };
    },

    async block(frame, { auth }) {
      await rooms.block(auth.user.id, frame.username, frame.on);
      return { t: 'ok' };
    },

    async blocked(_frame, { auth }) {
      return { t: 'users', users: await rooms.blocked(auth.user.id) };
    },

    async mute(frame, { auth }) {
      return roomReply(await rooms.mute(auth.user.id, frame.room, frame.on));
    },

    async 'delete-code'(frame, { auth }) {
      await limit('deleteCode', auth.user.id);
      const { code, expiresAt } = await delivery.deleteCode(senderOf(auth), frame.room, frame.seq);
      return { t: 'code', code, expiresAt };
    },

    async delete(frame, { auth }) {
      const accepted = await delivery.delete(senderOf(auth), frame.room, frame.seq, frame.code);
      fanOut([accepted]);
      // The deleted message's file is due now: remove it without waiting for the next pass.
      files.collectSoon();
      return {
        t: 'ack',
        room: accepted.event.room,
        seq: accepted.event.seq,
        at: accepted.event.at,
      };
    },

    async 'group-info'(frame, { auth }) {
      return { t: 'group-info', ...(await mls.groupInfo(auth.user.id, frame.room)) };
    },

    async 'kp-upload'(frame, { auth }) {
      const available = await mls.upload(senderOf(auth), frame.packages, frame.lastResort);
      return { t: 'kp-count', available };
    },

    async 'kp-claim'(frame, { auth }) {
      await limit('keyPackageClaims', auth.user.id);
      return { t: 'key-packages', ...(await mls.claim(senderOf(auth), frame.room, frame.users)) };
    },

    async 'inbox-send'(frame, { auth }) {
      await limit('sendDevice', auth.device.id);
      const { message, duplicate } = await mls.inboxSend(senderOf(auth), frame);
      if (!duplicate) {
        bus.publishToDevice(
          frame.device,
          encodeFrame({ v: FRAME_VERSION, t: 'inbox-message', message }),
        );
      }
      return { t: 'ok' };
    },

    async 'inbox-fetch'(_frame, { auth }) {
      return { t: 'inbox', ...(await mls.inboxFetch(senderOf(auth))) };
    },

    async 'inbox-ack'(frame, { auth }) {
      await mls.inboxAck(senderOf(auth), frame.ids);
      return { t: 'ok' };
    },

    // A public directory: any signed-in user may look up anyone's identity key.
    async 'identity-keys'(frame) {
      return { t: 'identity-keys', keys: await accounts.identityKeys(frame.users) };
    },
  };

  return {
    /** Answer one request: the reply body, or a thrown ChatError. */
    handle(frame: ClientFrame, context: RequestContext): Promise<ReplyBody> {
      const handler = handlers[frame.t] as Handler<ClientFrameType>;
      return handler(frame, context);
    },
    /** A connection opened (online) or closed (null). */
    setPresence,
    fanOut,
  };
}
