/** The signed-in tab's realtime connection and state, for every page under it. */
import {
  createContext,
  useContext,
  useEffect,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import { client } from '../../sdk/client';
import { useSession } from '../../session';
import { RealtimeStore, type RealtimeSnapshot } from './store';

const RealtimeContext = createContext<RealtimeStore | null>(null);

/** Connects when someone is signed in, and closes the connection when they sign out. */
export function RealtimeProvider({ children }: { children: ReactNode }) {
  const { session, refresh } = useSession();
  const [store] = useState(() => new RealtimeStore(client));
  const id = session?.user.id;
  const username = session?.user.username;
  useEffect(() => {
    if (id === undefined || username === undefined) return;
    store.start({ id, username });
    // The server ended this session (signed out elsewhere, device revoked): find out, which
    // sends the tab to the sign-in page.
    const off = store.subscribe(() => {
      if (store.getSnapshot().state === 'signed-out') void refresh();
    });
    return () => {
      off();
      store.stop();
    };
  }, [store, id, username, refresh]);
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
