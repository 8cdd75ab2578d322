/**
 * The realtime state of the signed-in tab, outside React: the one connection, the rooms list,
 * unread counts, who is typing, presence, and the usernames learned so far. React reads it
 * with useSyncExternalStore (see RealtimeProvider); pages subscribe to room events here, so
 * they survive the connection being replaced at sign-in.
 */
import {
  type ConnectionState,
  type PresenceStatus,
  type RealtimeConnection,
  type RoomEvent,
  type RoomSummary,
  type SecureChatClient,
} from '@securechat/sdk';

/** `idle`: signed out, no connection. */
export type LinkState = ConnectionState | 'idle';

export interface RealtimeSnapshot {
  state: LinkState;
  connection: RealtimeConnection | null;
  /** The signed-in user's id. */
  me: string | null;
  /** null until the first list arrives. */
  rooms: readonly RoomSummary[] | null;
  /** Messages from others that arrived while their room was not open. */
  unread: ReadonlyMap<string, number>;
  /** User id → username, from every list and notice seen. */
  names: ReadonlyMap<string, string>;
  /** Room id → ids of the people typing there now. */
  typing: ReadonlyMap<string, readonly string[]>;
  /** User id → presence, from member lists and presence pushes. */
  presence: ReadonlyMap<string, PresenceStatus>;
}

const initial: RealtimeSnapshot = {
  state: 'idle',
  connection: null,
  me: null,
  rooms: null,
  unread: new Map(),
  names: new Map(),
  typing: new Map(),
  presence: new Map(),
};

/** A typing indicator nobody turned off goes away after this long. */
const TYPING_TTL_MS = 6_000;

const ORDER: Record<RoomSummary['kind'], number> = { general: 0, channel: 1, group: 2, direct: 3 };

/** The name people know a room by: `general`, a channel or group's name, a DM's peer. */
export function roomName(room: RoomSummary): string {
  if (room.kind === 'direct') return room.peer?.username ?? '';
  return room.name ?? '';
}

function sortRooms(rooms: readonly RoomSummary[]): RoomSummary[] {
  return [...rooms].sort(
    (a, b) => ORDER[a.kind] - ORDER[b.kind] || roomName(a).localeCompare(roomName(b)),
  );
}

export class RealtimeStore {
  private snapshot: RealtimeSnapshot = initial;
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(event: RoomEvent) => void>();
  /** Last seq per room: the connection resumes every room named here after a reconnect. */
  private readonly positions = new Map<string, number>();
  private readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private teardown: (() => void)[] = [];
  private active: string | null = null;
  private refreshing = false;
  private refreshAgain = false;

  constructor(private readonly client: SecureChatClient) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  readonly getSnapshot = (): RealtimeSnapshot => this.snapshot;

  /** Room events, in order per room, each once. */
  onEvent(listener: (event: RoomEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => {
      this.eventListeners.delete(listener);
    };
  }

  /** Connect for this user (closing any earlier connection). */
  start(me: { id: string; username: string }): void {
    this.stop();
    const connection = this.client.connect({ positions: this.positions });
    this.set({
      state: connection.state,
      connection,
      me: me.id,
      names: new Map([[me.id, me.username]]),
    });
    const onVisibility = () => {
      if (connection.state === 'open')
        connection.setPresence(document.hidden ? 'away' : 'online').catch(() => undefined);
    };
    document.addEventListener('visibilitychange', onVisibility);
    this.teardown = [
      connection.onState((state) => {
        this.set({ state });
        if (state === 'open') {
          void this.refreshRooms();
          onVisibility();
        }
      }),
      connection.onEvent((event) => this.receive(event)),
      connection.onTyping(({ room, user, on }) => {
        if (user !== this.snapshot.me) this.setTyping(room, user, on);
      }),
      connection.onPresence(({ user, status }) => {
        this.set({ presence: new Map(this.snapshot.presence).set(user, status) });
      }),
      () => document.removeEventListener('visibilitychange', onVisibility),
      () => connection.close(),
    ];
  }

  /** Close the connection and forget everything (sign-out). */
  stop(): void {
    for (const undo of this.teardown) undo();
    this.teardown = [];
    for (const timer of this.typingTimers.values()) clearTimeout(timer);
    this.typingTimers.clear();
    this.positions.clear();
    this.active = null;
    if (this.snapshot !== initial) this.set(initial);
  }

  /** The room on screen: its messages are read as they arrive. */
  setActive(room: string | null): void {
    this.active = room;
    if (room !== null && this.snapshot.unread.has(room)) {
      const unread = new Map(this.snapshot.unread);
      unread.delete(room);
      this.set({ unread });
    }
  }

  /** Fetch the rooms list again (several calls at once make one or two requests). */
  async refreshRooms(): Promise<void> {
    const connection = this.snapshot.connection;
    if (!connection) return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    try {
      do {
        this.refreshAgain = false;
        const rooms = await connection.rooms();
        if (connection !== this.snapshot.connection) return;
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
    for (const room of rooms) {
      // Resume from here after a reconnect; a page that loads history catches up before it.
      if (!this.positions.has(room.id)) this.positions.set(room.id, room.lastSeq);
    }
    this.learnNames(rooms.flatMap((room) => (room.peer ? [room.peer] : [])));
    this.set({ rooms: sortRooms(rooms) });
  }

  private receive(event: RoomEvent): void {
    const { rooms, me } = this.snapshot;
    if (event.kind === 'notice' && event.notice) {
      const { user, username } = event.notice;
      if (user && username) this.learnNames([{ id: user, username }]);
      // Membership, names, topics and roles change with notices; a new room appears with one.
      void this.refreshRooms();
    } else if (rooms && !rooms.some((room) => room.id === event.room)) {
      void this.refreshRooms();
    }
    if (event.kind === 'message' && event.sender !== me && event.room !== this.active) {
      this.set({
        unread: new Map(this.snapshot.unread).set(
          event.room,
          (this.snapshot.unread.get(event.room) ?? 0) + 1,
        ),
      });
    }
    if (event.kind === 'message') this.setTyping(event.room, event.sender, false);
    for (const listener of this.eventListeners) listener(event);
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
