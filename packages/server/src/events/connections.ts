/**
 * The per-user connection cap (CONNECTIONS_PER_USER_MAX): a slot is reserved before a
 * WebSocket upgrade goes ahead and released when its socket closes. In-process here, where
 * the check and the reservation happen in one synchronous step, so two upgrades racing on one
 * node can never both take the last slot; events/redis.ts counts over every node.
 */
export interface ConnectionCounter {
  /** Reserve a slot for this connection: false when the user has `max` already. */
  reserve(userId: string, connectionId: string, max: number): Promise<boolean>;
  /** The connection is gone (or never opened): free its slot. Idempotent. */
  release(userId: string, connectionId: string): Promise<void>;
  close(): Promise<void>;
}

export function createMemoryConnections(): ConnectionCounter {
  const byUser = new Map<string, Set<string>>();
  return {
    reserve(userId, connectionId, max) {
      let set = byUser.get(userId);
      if (!set) {
        set = new Set();
        byUser.set(userId, set);
      }
      if (set.size >= max) return Promise.resolve(false);
      set.add(connectionId);
      return Promise.resolve(true);
    },
    release(userId, connectionId) {
      const set = byUser.get(userId);
      set?.delete(connectionId);
      if (set?.size === 0) byUser.delete(userId);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}
