/**
 * The realtime state of the signed-in tab, outside React: whether this tab owns the device (one
 * tab at a time opens its store), the conversations (the sdk's facade over the connection and
 * this device's local store), the rooms list, who is typing, presence and the usernames learned
 * so far. Unread counts and timelines come from the facade. React reads it with
 * useSyncExternalStore (see RealtimeProvider).
 */
import type {
  ConnectionState,
  Conversations,
  PresenceStatus,
  RoomProfile,
  RoomSummary,
} from '@securechat/sdk';
import { openConversations, type DeviceOwner } from '../../sdk/client';
import { t } from '../../strings';
import { onPrivacySettings, privacySettings } from '../settings/privacy';
import {
  holdDevice,
  openTabChannel,
  type HeldDevice,
  type TabChannel,
  type TabMessage,
} from '../../sdk/deviceLock';

/** `idle`: signed out, no connection. */
export type LinkState = ConnectionState | 'idle';

/**
 * Whether this tab owns the device (see sdk/deviceLock): `checking` until it knows, `owner`
 * when it opens the conversations, `elsewhere` when another tab has them, `taking` while it
 * waits for that tab to hand them over.
 */
export type TabRole = 'checking' | 'owner' | 'elsewhere' | 'taking';

export interface RealtimeSnapshot {
  state: LinkState;
  tab: TabRole;
  /** null while signed out, and while this device's store opens. */
  conversations: Conversations | null;
  /** The signed-in user's id. */
  me: string | null;
  /** null until the first list arrives. */
  rooms: readonly RoomSummary[] | null;
  /** Unread messages from others per room (from the local store). */
  unread: ReadonlyMap<string, number>;
  /** User id → username, from every list and notice seen. */
  names: ReadonlyMap<string, string>;
  /** Room id → ids of the people typing there now. */
  typing: ReadonlyMap<string, readonly string[]>;
  /** User id → presence, from member lists and presence pushes. */
  presence: ReadonlyMap<string, PresenceStatus>;
  /**
   * The room profiles (names and topics of groups and DMs, which are content) as one key, so a
   * profile change re-renders the rooms list.
   */
  profiles: string;
}

const initial: RealtimeSnapshot = {
  state: 'idle',
  tab: 'checking',
  conversations: null,
  me: null,
  rooms: null,
  unread: new Map(),
  names: new Map(),
  typing: new Map(),
  presence: new Map(),
  profiles: '',
};

/** One string naming every room's profile, compared to notice a change. */
function profilesKey(conversations: Conversations, rooms: readonly RoomSummary[] | null): string {
  return (rooms ?? [])
    .map((room) => {
      const profile = conversations.profile(room.id);
      return `${room.id}\u0000${profile?.name ?? ''}\u0000${profile?.topic ?? ''}`;
    })
    .join('\u0001');
}

/** A typing indicator nobody turned off goes away after this long. */
const TYPING_TTL_MS = 6_000;

const ORDER: Record<RoomSummary['kind'], number> = { general: 0, channel: 1, group: 2, direct: 3 };

/**
 * The name people know a room by: `general`, a channel's name, a group's name as its members
 * set it (in content), a DM's peer.
 */
export function roomName(room: RoomSummary, profile?: RoomProfile): string {
  if (room.kind !== 'channel' && room.kind !== 'general' && profile?.name) return profile.name;
  if (room.kind === 'direct') return room.peer.username;
  // A private group's name is end-to-end content: until this device can read it, say what it is.
  return room.name ?? t.rooms.unnamedGroup;
}

function sortRooms(rooms: readonly RoomSummary[]): RoomSummary[] {
  return [...rooms].sort(
    (a, b) => ORDER[a.kind] - ORDER[b.kind] || roomName(a).localeCompare(roomName(b)),
  );
}

/** Who is signed in, on which device, and the channel to this device's other tabs. */
interface SignedIn {
  owner: DeviceOwner;
  channel: TabChannel;
}

export class RealtimeStore {
  private snapshot: RealtimeSnapshot = initial;
  private readonly listeners = new Set<() => void>();
  private readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private teardown: (() => void)[] = [];
  /** Bumped whenever this tab lets the device go: an open that finishes late is not shown. */
  private generation = 0;
  private signedIn: SignedIn | null = null;
  /** While this tab owns the device: its lock, and its conversations as they open. */
  private device: { held: HeldDevice; opening: Promise<Conversations | null> } | null = null;
  /** Aborts this tab's wait for another to hand the device over. */
  private waiting: AbortController | null = null;
  /** This tab's claims and releases of the device's lock, in order. */
  private lockWork: Promise<void> = Promise.resolve();
  private refreshing = false;
  private refreshAgain = false;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  readonly getSnapshot = (): RealtimeSnapshot => this.snapshot;

  /**
   * Open this user's conversations on this device (closing any earlier ones), if no other tab
   * has them open; otherwise this tab shows that they are open elsewhere.
   */
  start(me: { id: string; username: string }, owner: DeviceOwner): void {
    this.stop();
    const channel = openTabChannel(owner, (message) => this.onTabMessage(message));
    this.signedIn = { owner, channel };
    this.set({ me: me.id, names: new Map([[me.id, me.username]]) });
    this.claim(this.signedIn, null);
  }

  /** "Use it here": ask the tab that has the conversations open to hand them over, and open. */
  takeOver(): void {
    if (!this.signedIn || this.snapshot.tab !== 'elsewhere') return;
    this.set({ tab: 'taking' });
    this.signedIn.channel.post({ type: 'hand-over' });
    this.waiting = new AbortController();
    this.claim(this.signedIn, this.waiting);
  }

  /**
   * Take the device's lock, at once or (with `waiting`) once its owner lets go, and open the
   * conversations. Claims and releases run one after the other, so a claim never meets this
   * tab's own lock on its way out.
   */
  private claim(signedIn: SignedIn, waiting: AbortController | null): void {
    const generation = this.generation;
    this.serially(async () => {
      if (generation !== this.generation) return;
      const held = await holdDevice(signedIn.owner, {
        wait: waiting !== null,
        signal: waiting?.signal,
      });
      if (this.waiting === waiting) this.waiting = null;
      if (generation !== this.generation) {
        await held?.release();
        return;
      }
      if (!held) {
        this.set({ tab: 'elsewhere' });
        return;
      }
      signedIn.channel.post({ type: 'taken' });
      this.set({ tab: 'owner', state: 'connecting' });
      const opening = openConversations(signedIn.owner).then(
        (conversations) => {
          if (generation === this.generation) this.attach(conversations);
          return conversations;
        },
        () => {
          if (generation === this.generation) this.set({ state: 'closed' });
          return null;
        },
      );
      this.device = { held, opening };
    });
  }

  private serially(work: () => Promise<void>): void {
    this.lockWork = this.lockWork.then(work).catch(() => undefined);
  }

  private onTabMessage(message: TabMessage): void {
    switch (message.type) {
      case 'hand-over':
        // Another tab of this device wants it: close here, and show that it is open there.
        if (this.snapshot.tab === 'owner') {
          const { me, names } = this.snapshot;
          this.letGo();
          this.set({ ...initial, me, names, tab: 'elsewhere' });
        }
        return;
      case 'taken':
        // Another tab got it first: stop waiting, it is open there.
        this.waiting?.abort();
        return;
    }
  }

  private attach(conversations: Conversations): void {
    this.set({
      conversations,
      state: conversations.state,
      unread: conversations.unreadCounts(),
    });
    const onVisibility = () => {
      if (conversations.state === 'open')
        conversations.setPresence(document.hidden ? 'away' : 'online').catch(() => undefined);
    };
    document.addEventListener('visibilitychange', onVisibility);
    conversations.setReadReceipts(privacySettings().readReceipts);
    this.teardown = [
      onPrivacySettings(() => conversations.setReadReceipts(privacySettings().readReceipts)),
      conversations.onState((state) => {
        this.set({ state });
        if (state === 'open') {
          void this.refreshRooms();
          onVisibility();
        }
      }),
      conversations.subscribe(() => {
        const unread = conversations.unreadCounts();
        if (unread !== this.snapshot.unread) this.set({ unread });
        const profiles = profilesKey(conversations, this.snapshot.rooms);
        if (profiles !== this.snapshot.profiles) this.set({ profiles });
      }),
      conversations.onEvent((event) => {
        const { rooms } = this.snapshot;
        if (event.kind === 'notice') {
          const { notice } = event;
          if (notice && 'user' in notice)
            this.learnNames([{ id: notice.user, username: notice.username }]);
          // Membership, names, topics and roles change with notices; a new room appears with one.
          void this.refreshRooms();
        } else if (rooms && !rooms.some((room) => room.id === event.room)) {
          void this.refreshRooms();
        }
        if (event.kind === 'message') this.setTyping(event.room, event.sender, false);
      }),
      conversations.onTyping(({ room, user, on }) => {
        if (user !== this.snapshot.me) this.setTyping(room, user, on);
      }),
      conversations.onPresence(({ user, status }) => {
        this.set({ presence: new Map(this.snapshot.presence).set(user, status) });
      }),
      () => document.removeEventListener('visibilitychange', onVisibility),
    ];
    if (conversations.state === 'open') void this.refreshRooms();
  }

  /**
   * Close the connection, let the device go and forget this tab's state (sign-out, device
   * removal; the local store stays unless the removal erased it).
   */
  stop(): void {
    this.letGo();
    this.signedIn?.channel.close();
    this.signedIn = null;
    if (this.snapshot !== initial) this.set(initial);
  }

  /** Close the conversations, then release the device's lock for another tab to take. */
  private letGo(): void {
    this.generation += 1;
    this.waiting?.abort();
    this.waiting = null;
    for (const undo of this.teardown) undo();
    this.teardown = [];
    for (const timer of this.typingTimers.values()) clearTimeout(timer);
    this.typingTimers.clear();
    const device = this.device;
    this.device = null;
    if (device)
      this.serially(async () => {
        await device.opening.then((conversations) => conversations?.close()).catch(() => undefined);
        await device.held.release();
      });
  }

  /** Fetch the rooms list again (several calls at once make one or two requests). */
  async refreshRooms(): Promise<void> {
    const conversations = this.snapshot.conversations;
    if (!conversations) return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    try {
      do {
        this.refreshAgain = false;
        const rooms = await conversations.rooms();
        if (conversations !== this.snapshot.conversations) return;
        this.setRooms(rooms);
      } while (this.refreshAgain);
    } catch {
      // Not connected: the next "open" refreshes.
    } finally {
      this.refreshing = false;
    }
  }

  /** A room this user just created, joined or opened: listed at once. */
  upsertRoom(room: RoomSummary): void {
    const others = (this.snapshot.rooms ?? []).filter((r) => r.id !== room.id);
    this.setRooms([...others, room]);
  }

  removeRoom(id: string): void {
    this.setRooms((this.snapshot.rooms ?? []).filter((r) => r.id !== id));
  }

  learnNames(users: Iterable<{ id: string; username: string }>): void {
    let names: Map<string, string> | null = null;
    for (const { id, username } of users) {
      if (this.snapshot.names.get(id) === username) continue;
      names ??= new Map(this.snapshot.names);
      names.set(id, username);
    }
    if (names) this.set({ names });
  }

  learnPresence(entries: Iterable<{ user: string; presence: PresenceStatus }>): void {
    const presence = new Map(this.snapshot.presence);
    for (const { user, presence: status } of entries) presence.set(user, status);
    this.set({ presence });
  }

  private setRooms(rooms: readonly RoomSummary[]): void {
    this.learnNames(rooms.flatMap((room) => (room.kind === 'direct' ? [room.peer] : [])));
    this.set({ rooms: sortRooms(rooms) });
  }

  private setTyping(room: string, user: string, on: boolean): void {
    const key = `${room}\n${user}`;
    const timer = this.typingTimers.get(key);
    if (timer) clearTimeout(timer);
    this.typingTimers.delete(key);
    if (on)
      this.typingTimers.set(
        key,
        setTimeout(() => this.setTyping(room, user, false), TYPING_TTL_MS),
      );
    const current = this.snapshot.typing.get(room) ?? [];
    const has = current.includes(user);
    if (has === on) return;
    const next = on ? [...current, user] : current.filter((u) => u !== user);
    const typing = new Map(this.snapshot.typing);
    if (next.length === 0) typing.delete(room);
    else typing.set(room, next);
    this.set({ typing });
  }

  private set(changes: Partial<RealtimeSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...changes };
    for (const listener of this.listeners) listener();
  }
}
