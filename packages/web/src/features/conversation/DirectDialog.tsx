import { useCallback, useState } from 'react';
import { useNavigate } from 'react-router';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Dialog } from '../../ui/Dialog';
import { Field } from '../../ui/Field';
import { roomPath } from './paths';
import { useRealtime, useRealtimeStore } from './RealtimeProvider';
import { useDebouncedSearch } from './useDebouncedSearch';

/** Start (or reopen) a direct conversation: a people picker over `findUsers`. */
export function DirectDialog({ onClose }: { onClose: () => void }) {
  const store = useRealtimeStore();
  const { conversations, me } = useRealtime();
  const navigate = useNavigate();
  const failure = useFailureMessage();
  const [query, setQuery] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const trimmed = query.trim();

  const onSearchError = useCallback((reason: unknown) => setError(failure(reason)), [failure]);
  const searchUsers = useCallback(
    async (text: string) => {
      const users = (await conversations?.findUsers(text)) ?? [];
      store.learnNames(users);
      return users.filter((u) => u.id !== me);
    },
    [conversations, store, me],
  );
  const found = useDebouncedSearch(
    trimmed,
    conversations && trimmed !== '' ? searchUsers : null,
    onSearchError,
  );

  async function start(username: string) {
    if (!conversations) return;
    setBusy(username);
    setError(null);
    try {
      const room = await conversations.direct(username);
      store.upsertRoom(room);
      onClose();
      void navigate(roomPath(room.id));
    } catch (reason) {
      setError(failure(reason));
      setBusy(null);
    }
  }

  const results = trimmed !== '' && found?.query === trimmed ? found.result : null;
  return (
    <Dialog title={t.rooms.newDirect} lead={t.rooms.newDirectLead} onClose={onClose}>
      {error ? <Alert>{error}</Alert> : null}
      <Field
        label={t.rooms.username}
        type="text"
        autoComplete="off"
        autoCapitalize="none"
        spellCheck={false}
        autoFocus
        value={query}
        onChange={(event) => setQuery(event.target.value)}
        hint={t.rooms.usernameHint}
      />
      <div aria-live="polite">
        {trimmed === '' ? null : results === null ? (
          <p className="muted small">{t.rooms.searching}</p>
        ) : results.length === 0 ? (
          <p className="empty-line">{t.rooms.noUsers}</p>
        ) : (
          <ul className="pick-list">
            {results.map((user) => (
              <li key={user.id}>
                <button
                  type="button"
                  className="pick"
                  disabled={busy !== null}
                  aria-busy={busy === user.username || undefined}
                  onClick={() => void start(user.username)}
                >
                  <span className="avatar small" aria-hidden="true">
                    {user.username.slice(0, 1).toUpperCase()}
                  </span>
                  <span>{user.username}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </Dialog>
  );
}
