/** The one SecureChat client of this tab. Everything the UI does with the server goes through it. */
import {
  createClient,
  deleteIndexedDbStore,
  openIndexedDbStore,
  openMemoryStore,
  type ConversationStore,
  type Conversations,
} from '@securechat/sdk';

export const client = createClient();

/** Who is signed in on this tab: the store is theirs and this device's alone. */
export interface DeviceOwner {
  userId: string;
  deviceId: string;
}

/**
 * The signed-in device's conversations, kept in this browser's IndexedDB (one database per
 * user and device); in memory when the browser refuses storage (some private modes).
 */
export async function openConversations(owner: DeviceOwner): Promise<Conversations> {
  let store: ConversationStore;
  try {
    store = await openIndexedDbStore(owner);
  } catch {
    store = openMemoryStore();
  }
  return client.conversations({ store, userId: owner.userId });
}

/**
 * Erase what this device kept of its conversations in this browser: for "remove this
 * device" flows. Signing out keeps it, so signing in again on this device opens at once.
 */
export function forgetThisDevice(owner: DeviceOwner): Promise<void> {
  return deleteIndexedDbStore(owner);
}
