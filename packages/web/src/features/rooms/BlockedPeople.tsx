import { useEffect, useState } from 'react';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { useRealtime } from '../conversation/RealtimeProvider';

/** Settings › Blocked people: whom this user blocked, each with Unblock. */
export function BlockedPeople() {
  const { conversations, state } = useRealtime();
  const failure = useFailureMessage();
  const b = t.blocked;
  const [people, setPeople] = useState<{ id: string; username: string }[] | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const open = state === 'open';

  useEffect(() => {
    if (!conversations || !open) return;
    let cancelled = false;
    conversations.blocked().then(
      (list) => {
        if (!cancelled) setPeople(list);
      },
      (reason: unknown) => {
        if (!cancelled) setError(failure(reason));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [conversations, open, failure]);

  async function unblock(username: string) {
    if (!conversations) return;
    setBusy(username);
    setError(null);
    setDone(null);
    try {
      await conversations.block(username, false);
      setPeople((list) => (list ?? []).filter((p) => p.username !== username));
      setDone(t.profile.unblockDone(username));
    } catch (reason) {
      setError(failure(reason));
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="card" aria-labelledby="blocked-title">
      <div className="card-intro">
        <h2 id="blocked-title">{b.title}</h2>
        <p className="muted">{b.lead}</p>
      </div>
      {error ? <Alert>{error}</Alert> : null}
      {done ? <Alert kind="success">{done}</Alert> : null}
      {people === null ? (
        <p className="muted small" role="status">
          {open ? t.loading : b.unavailable}
        </p>
      ) : people.length === 0 ? (
        <p className="empty-line">{b.none}</p>
      ) : (
        <ul className="blocked-list">
          {people.map((person) => (
            <li key={person.id} className="blocked-row">
              <span className="avatar small" aria-hidden="true">
                {person.username.slice(0, 1).toUpperCase()}
              </span>
              <span className="blocked-name">{person.username}</span>
              <Button
                className="small"
                aria-label={b.unblockLabel(person.username)}
                busy={busy === person.username}
                disabled={busy !== null}
                onClick={() => void unblock(person.username)}
              >
                {b.unblock}
              </Button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
