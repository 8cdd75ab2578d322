/**
 * Presence: who is online, away or offline. A user is online while any of their connections
 * is active, away when every connection says so, offline with none. Ephemeral: never stored
 * in the database. In-process here; events/redis.ts shares it between nodes.
 */
export type PresenceStatus = 'online' | 'away' | 'offline';

export interface Presence {
  /** A connection opened (status online) or changed its status. Returns the user's new status. */
  set(userId: string, connectionId: string, status: 'online' | 'away'): Promise<PresenceStatus>;
  /** A connection closed. Returns the user's new status. */
  remove(userId: string, connectionId: string): Promise<PresenceStatus>;
  /** The status of each of these users (offline when unknown). */
  statuses(userIds: readonly string[]): Promise<Map<string, PresenceStatus>>;
  close(): Promise<void>;
}

export function statusOf(connections: Iterable<'online' | 'away'>): PresenceStatus {
  let any = false;
  for (const status of connections) {
    if (status === 'online') return 'online';
    any = true;
  }
  return any ? 'away' : 'offline';
}

export function createMemoryPresence(): Presence {
  const users = new Map<string, Map<string, 'online' | 'away'>>();
  const of = (userId: string) => statusOf(users.get(userId)?.values() ?? []);
  return {
    set(userId, connectionId, status) {
      let map = users.get(userId);
      if (!map) {
        map = new Map();
        users.set(userId, map);
      }
      map.set(connectionId, status);
      return Promise.resolve(of(userId));
    },
    remove(userId, connectionId) {
      const map = users.get(userId);
      map?.delete(connectionId);
      if (map?.size === 0) users.delete(userId);
      return Promise.resolve(of(userId));
    },
    statuses(userIds) {
      return Promise.resolve(new Map(userIds.map((id) => [id, of(id)])));
    },
    close: () => Promise.resolve(),
  };
}
