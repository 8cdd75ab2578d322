/** The signed-in session, shared by every page. */
import type { SessionResponse } from '@securechat/sdk';
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from 'react';
import { client } from './sdk/client';

interface SessionState {
  /** undefined while loading, null when signed out. */
  session: SessionResponse | null | undefined;
  refresh: () => Promise<void>;
  setSession: (session: SessionResponse | null) => void;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionResponse | null | undefined>(undefined);
  const refresh = useCallback(async () => {
    try {
      setSession(await client.session());
    } catch {
      setSession(null);
    }
  }, []);
  useEffect(() => {
    client.session().then(setSession, () => setSession(null));
  }, []);
  const value = useMemo(() => ({ session, refresh, setSession }), [session, refresh]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession outside SessionProvider');
  return state;
}
