/** The signed-in session, shared by every page. */
import { ChatError, type SessionResponse } from '@securechat/sdk';
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
import { errorMessage } from './ui/errors';

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

/**
 * The sentence for a failed call on a signed-in page. A session that ended elsewhere (this
 * device revoked, password changed on another device) signs this tab out, to /login.
 */
export function useFailureMessage(): (failure: unknown) => string {
  const { setSession } = useSession();
  return useCallback(
    (failure: unknown) => {
      if (failure instanceof ChatError && failure.code === 'CHAT_ERR_UNAUTHENTICATED') {
        setSession(null);
      }
      return errorMessage(failure);
    },
    [setSession],
  );
}
