import type { ActivityEntry } from '@securechat/sdk';
import { useEffect, useState } from 'react';
import { client } from '../../sdk/client';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Icon, type IconName } from '../../ui/Icon';
import { formatRelative, formatTime } from '../../ui/time';
import { AppShell } from '../shell/AppShell';

/** The line an entry reads as: a burst of failures says how many. */
function titleOf(entry: ActivityEntry): string {
  if (entry.count > 1 && entry.event === 'account.login_failed')
    return t.activity.failedBurst(entry.count);
  if (entry.count > 1 && entry.event === 'account.second_factor_failed')
    return t.activity.secondFactorBurst(entry.count);
  return t.activity.events[entry.event] ?? t.activity.other;
}

function iconOf(event: string): IconName {
  if (event.endsWith('_failed')) return 'warning';
  if (event.startsWith('device.') || event === 'account.login') return 'user';
  if (event.startsWith('identity.')) return 'key';
  return 'lock';
}

/** Each user's own security events, newest first, older ones a page at a time. */
export function ActivityPage() {
  const errorMessage = useFailureMessage();
  const [entries, setEntries] = useState<ActivityEntry[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    let live = true;
    client.activity().then(
      (page) => {
        if (!live) return;
        setEntries(page.entries);
        setNext(page.next);
        setNow(Date.now());
      },
      (failure: unknown) => {
        if (live) setError(errorMessage(failure));
      },
    );
    return () => {
      live = false;
    };
  }, [errorMessage]);

  function more(before: number) {
    setLoading(true);
    client
      .activity(before)
      .then(
        (page) => {
          setEntries((shown) => [...(shown ?? []), ...page.entries]);
          setNext(page.next);
        },
        (failure: unknown) => setError(errorMessage(failure)),
      )
      .finally(() => setLoading(false));
  }

  return (
    <AppShell label={t.activity.title} title={t.activity.title}>
      <div className="page">
        <header className="page-head">
          <h1>{t.activity.title}</h1>
          <p className="lead">{t.activity.lead}</p>
        </header>
        {error ? <Alert>{error}</Alert> : null}
        <section className="card" aria-label={t.activity.title}>
          {entries && entries.length === 0 ? (
            <p className="empty-line">{t.activity.empty}</p>
          ) : null}
          <ul className="list activity-list">
            {entries?.map((entry) => (
              <li key={entry.id} className="list-row">
                <span className="row-icon" aria-hidden="true">
                  <Icon name={iconOf(entry.event)} />
                </span>
                <div className="list-main">
                  <div className="list-title">
                    {titleOf(entry)}
                    {entry.newDevice ? <span className="badge">{t.activity.newDevice}</span> : null}
                    {entry.byAdmin ? (
                      <span className="badge badge-muted">{t.activity.byAdmin}</span>
                    ) : null}
                  </div>
                  <div className="list-meta">
                    <time dateTime={entry.at} title={formatTime(entry.at)}>
                      {formatRelative(entry.at, now)}
                    </time>
                    {entry.count > 1 ? (
                      <>
                        {' '}
                        (
                        <time dateTime={entry.since} title={formatTime(entry.since)}>
                          {formatTime(entry.since)}
                        </time>
                        {' – '}
                        <time dateTime={entry.at}>{formatTime(entry.at)}</time>)
                      </>
                    ) : null}
                    {entry.device ? (
                      <>
                        <span aria-hidden="true"> · </span>
                        <span>
                          <span className="visually-hidden">{t.activity.device}: </span>
                          {entry.device}
                        </span>
                      </>
                    ) : null}
                    {entry.network ? (
                      <>
                        <span aria-hidden="true"> · </span>
                        <span>
                          {t.activity.network} {entry.network}
                        </span>
                      </>
                    ) : null}
                  </div>
                </div>
              </li>
            ))}
          </ul>
          {next !== null ? (
            <div className="more-row">
              <Button busy={loading} onClick={() => more(next)}>
                {loading ? t.activity.loadingMore : t.activity.more}
              </Button>
            </div>
          ) : null}
        </section>
      </div>
    </AppShell>
  );
}
