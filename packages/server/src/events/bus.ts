/**
 * Fan-out: who gets which encoded frame. In-process here; a Redis implementation with the
 * same interface lets several nodes deliver to each other's clients.
 */
export interface EventBus {
  /** Deliver one encoded frame to every connection of these users. */
  publish(userIds: readonly string[], frame: Uint8Array): void;
  /** Receive frames for one user; returns the unsubscribe function. */
  subscribe(userId: string, listener: (frame: Uint8Array) => void): () => void;
}

export function createMemoryBus(): EventBus {
  const listeners = new Map<string, Set<(frame: Uint8Array) => void>>();
  return {
    publish(userIds, frame) {
      for (const userId of userIds) {
        const set = listeners.get(userId);
        if (set) for (const listener of set) listener(frame);
      }
    },
    subscribe(userId, listener) {
      let set = listeners.get(userId);
      if (!set) {
        set = new Set();
        listeners.set(userId, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(userId);
      };
    },
  };
}
