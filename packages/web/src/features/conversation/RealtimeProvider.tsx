/** The signed-in tab's conversations and realtime state, for every page under it. */
import type { ConversationView } from '@securechat/sdk';
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import { useSession } from '../../session';
import { RealtimeStore, type RealtimeSnapshot } from './store';

const RealtimeContext = createContext<RealtimeStore | null>(null);

/** Connects when someone is signed in, and closes the connection when they sign out. */
export function RealtimeProvider({ children }: { children: ReactNode }) {
  const { session, refresh } = useSession();
  const [store] = useState(() => new RealtimeStore());
  const id = session?.user.id;
  const username = session?.user.username;
  const deviceId = session?.device.id;
  useEffect(() => {
    if (id === undefined || username === undefined || deviceId === undefined) return;
    store.start({ id, username }, { userId: id, deviceId });
    // The server ended this session (signed out elsewhere, device revoked): find out, which
    // sends the tab to the sign-in page.
    const off = store.subscribe(() => {
      if (store.getSnapshot().state === 'signed-out') void refresh();
    });
    return () => {
      off();
      store.stop();
    };
  }, [store, id, username, deviceId, refresh]);
  return <RealtimeContext.Provider value={store}>{children}</RealtimeContext.Provider>;
}

export function useRealtimeStore(): RealtimeStore {
  const store = useContext(RealtimeContext);
  if (!store) throw new Error('useRealtimeStore outside RealtimeProvider');
  return store;
}

export function useRealtime(): RealtimeSnapshot {
  const store = useRealtimeStore();
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

const noRoom = (): null => null;
const never = () => () => undefined;

/**
 * One room as this device keeps it (null until the conversations are open). Opening the view
 * asks the sdk to show the room: from the local store at once, from the server only for what
 * this device never saw.
 */
export function useConversationView(roomId: string): ConversationView | null {
  const { conversations } = useRealtime();
  useEffect(() => {
    if (!conversations) return;
    conversations.open(roomId);
    return () => conversations.closeRoom(roomId);
  }, [conversations, roomId]);
  const getView = useCallback(
    () => (conversations ? conversations.view(roomId) : null),
    [conversations, roomId],
  );
  return useSyncExternalStore(
    conversations ? conversations.subscribe : never,
    conversations ? getView : noRoom,
  );
}
