/**
 * Fan-out: who gets which encoded frame. In-process here; the Redis implementation
 * (events/redis.ts) has the same interface and lets several nodes deliver to each other's
 * clients.
 */
export interface EventBus {
  /** Deliver one encoded frame to every connection of these users, on every node. */
  publish(userIds: readonly string[], frame: Uint8Array): void;
  /** Deliver one encoded frame to one device's connections, on every node. */
  publishToDevice(deviceId: string, frame: Uint8Array): void;
  /** Receive frames for one user and one of their devices; returns the unsubscribe function. */
  subscribe(userId: string, deviceId: string, listener: (frame: Uint8Array) => void): () => void;
  /**
   * Told when frames from other nodes may have been missed (the Redis connection came back
   * after an outage): connections should catch up by resuming. Returns the unsubscribe.
   */
  onMissed(listener: () => void): () => void;
  close(): Promise<void>;
}

export function createMemoryBus(): EventBus {
  const byUser = new Map<string, Set<(frame: Uint8Array) => void>>();
  const byDevice = new Map<string, Set<(frame: Uint8Array) => void>>();
  const add = (map: typeof byUser, key: string, listener: (frame: Uint8Array) => void) => {
    let set = map.get(key);
    if (!set) {
      set = new Set();
      map.set(key, set);
    }
    set.add(listener);
  };
  const remove = (map: typeof byUser, key: string, listener: (frame: Uint8Array) => void) => {
    const set = map.get(key);
    set?.delete(listener);
    if (set?.size === 0) map.delete(key);
  };
  return {
    publish(userIds, frame) {
      for (const userId of userIds) {
        const set = byUser.get(userId);
        if (set) for (const listener of set) listener(frame);
      }
    },
    publishToDevice(deviceId, frame) {
      const set = byDevice.get(deviceId);
      if (set) for (const listener of set) listener(frame);
    },
    subscribe(userId, deviceId, listener) {
      add(byUser, userId, listener);
      add(byDevice, deviceId, listener);
      // One closure per subscriber (thousands of idle sockets each hold one).
      return () => {
        remove(byUser, userId, listener);
        remove(byDevice, deviceId, listener);
      };
    },
    // One process: nothing is ever missed.
    onMissed: () => () => undefined,
    close: () => Promise.resolve(),
  };
}
