/**
 * One tab owns this browser's device. The device's MLS group states live in one IndexedDB
 * store: two tabs running the engine on it would each advance the ratchets and corrupt the
 * other's. A Web Lock named after the user and device is held by the tab that opens the
 * conversations, for as long as it has them open; the tabs talk over a BroadcastChannel of the
 * same name to hand the device over. Where the browser has neither, every tab opens (as before).
 */
import type { DeviceOwner } from './client';

/** What the tabs of one device say to each other. */
export type TabMessage =
  /** "Hand the device over to me": the owner closes its conversations and lets go. */
  | { type: 'hand-over' }
  /** "I hold the device now": the other tabs waiting for it stop waiting. */
  | { type: 'taken' };

/** The device's lock, held by this tab until `release()`. */
export interface HeldDevice {
  /** Let the lock go; resolves once another tab can take it. */
  release(): Promise<void>;
}

const lockName = (owner: DeviceOwner): string =>
  `securechat-device-${owner.userId}-${owner.deviceId}`;

/** Whether this browser can keep tabs apart (Web Locks and BroadcastChannel). */
function tabsCanCoordinate(): boolean {
  return 'locks' in navigator && typeof BroadcastChannel === 'function';
}

const heldByNobody: HeldDevice = { release: () => Promise.resolve() };

/**
 * Take the device's lock. Without `wait`, at once or not at all: null when another tab holds
 * it. With `wait`, once the holder lets go, or null when `signal` aborts the wait first.
 * Where tabs cannot coordinate, held at once (by nobody).
 */
export function holdDevice(
  owner: DeviceOwner,
  options: { wait: boolean; signal?: AbortSignal },
): Promise<HeldDevice | null> {
  if (!tabsCanCoordinate()) return Promise.resolve(heldByNobody);
  return new Promise((resolve) => {
    let letGo = (): void => undefined;
    const holding = new Promise<void>((done) => (letGo = done));
    const lockOptions: LockOptions = options.wait
      ? options.signal
        ? { signal: options.signal }
        : {}
      : { ifAvailable: true };
    const released: Promise<unknown> = navigator.locks.request(
      lockName(owner),
      lockOptions,
      (lock) => {
        if (!lock) {
          resolve(null);
          return;
        }
        // Granted just as the wait was aborted: not wanted any more.
        if (options.signal?.aborted) {
          resolve(null);
          return;
        }
        resolve({
          release: () => {
            letGo();
            return released.then(
              () => undefined,
              () => undefined,
            );
          },
        });
        // Held until released: the tab's lifetime, or until it hands the device over.
        return holding;
      },
    );
    released.catch((error: unknown) => {
      // An aborted wait; otherwise a lock manager that fails opens as if there were none.
      resolve(error instanceof DOMException && error.name === 'AbortError' ? null : heldByNobody);
    });
  });
}

/** The device's channel between tabs; `close()` stops listening. */
export interface TabChannel {
  post(message: TabMessage): void;
  close(): void;
}

function isTabMessage(value: unknown): value is TabMessage {
  return (
    typeof value === 'object' &&
    value !== null &&
    'type' in value &&
    (value.type === 'hand-over' || value.type === 'taken')
  );
}

/** Listen to the other tabs of this device (a channel that hears nothing where there is none). */
export function openTabChannel(
  owner: DeviceOwner,
  onMessage: (message: TabMessage) => void,
): TabChannel {
  if (!tabsCanCoordinate()) return { post: () => undefined, close: () => undefined };
  const channel = new BroadcastChannel(lockName(owner));
  channel.onmessage = (event: MessageEvent<unknown>) => {
    if (isTabMessage(event.data)) onMessage(event.data);
  };
  return {
    post: (message) => channel.postMessage(message),
    close: () => channel.close(),
  };
}
