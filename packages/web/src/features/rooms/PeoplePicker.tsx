import { useCallback, useRef, useState } from 'react';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Field } from '../../ui/Field';
import { useRealtime, useRealtimeStore } from '../conversation/RealtimeProvider';
import { useDebouncedSearch } from '../conversation/useDebouncedSearch';

/** Someone found by username. */
export interface Person {
  id: string;
  username: string;
}

/**
 * Find people by the start of their username (the server's `findUsers`) and pick one. Each
 * result is a button named by `actionLabel(username)`; people in `exclude` (ids) are listed
 * but not offered, with `excludedNote` saying why. Never offers the signed-in user.
 */
export function PeoplePicker({
  label,
  hint,
  actionLabel,
  onPick,
  exclude = new Set<string>(),
  excludedNote,
  busy = null,
  autoFocus = false,
  clearOnPick = false,
}: {
  label: string;
  hint: string;
  /** The accessible name of a result's button. */
  actionLabel?: (username: string) => string;
  onPick: (user: Person) => void;
  exclude?: ReadonlySet<string>;
  excludedNote?: string;
  /** The username being acted on (its button shows busy; the others wait). */
  busy?: string | null;
  autoFocus?: boolean;
  /** Empty the search after a pick (to find the next person), focus staying in it. */
  clearOnPick?: boolean;
}) {
  const store = useRealtimeStore();
  const { conversations, me } = useRealtime();
  const failure = useFailureMessage();
  const [query, setQuery] = useState('');
  const [error, setError] = useState<string | null>(null);
  const trimmed = query.trim();
  const field = useRef<HTMLInputElement>(null);

  const onSearchError = useCallback((reason: unknown) => setError(failure(reason)), [failure]);
  const searchUsers = useCallback(
    async (text: string) => {
      setError(null);
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
  const results = trimmed !== '' && found?.query === trimmed ? found.result : null;

  return (
    <div className="people-picker">
      <Field
        ref={field}
        label={label}
        type="text"
        autoComplete="off"
        autoCapitalize="none"
        spellCheck={false}
        autoFocus={autoFocus}
        value={query}
        onChange={(event) => setQuery(event.target.value)}
        hint={hint}
      />
      {error ? <Alert>{error}</Alert> : null}
      <div aria-live="polite">
        {trimmed === '' ? null : results === null ? (
          <p className="muted small">{t.rooms.searching}</p>
        ) : results.length === 0 ? (
          <p className="empty-line">{t.rooms.noUsers}</p>
        ) : (
          <ul className="pick-list">
            {results.map((user) => {
              const excluded = exclude.has(user.id);
              return (
                <li key={user.id}>
                  <button
                    type="button"
                    className="pick"
                    disabled={excluded || busy !== null}
                    aria-busy={busy === user.username || undefined}
                    aria-label={actionLabel && !excluded ? actionLabel(user.username) : undefined}
                    onClick={() => {
                      onPick(user);
                      if (clearOnPick) {
                        setQuery('');
                        field.current?.focus();
                      }
                    }}
                  >
                    <span className="avatar small" aria-hidden="true">
                      {user.username.slice(0, 1).toUpperCase()}
                    </span>
                    <span className="pick-name">{user.username}</span>
                    {excluded && excludedNote ? (
                      <span className="pick-note">{excludedNote}</span>
                    ) : busy === user.username ? (
                      <span className="spinner" aria-hidden="true" />
                    ) : null}
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </div>
    </div>
  );
}
