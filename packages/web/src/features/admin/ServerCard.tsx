import type { ServerStats } from '@securechat/sdk';
import { useEffect, useState } from 'react';
import { client } from '../../sdk/client';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { formatSize } from '../conversation/format';

/** The server at a glance: accounts, rooms, connections, messages, storage. */
export function ServerCard() {
  const errorMessage = useFailureMessage();
  const [stats, setStats] = useState<ServerStats | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    client.admin.stats().then(
      (figures) => {
        if (live) setStats(figures);
      },
      (failure: unknown) => {
        if (live) setError(errorMessage(failure));
      },
    );
    return () => {
      live = false;
    };
  }, [errorMessage]);

  const s = t.admin.stats;
  const figures: [string, string][] = stats
    ? [
        [s.users, String(stats.users)],
        [s.suspendedUsers, String(stats.suspendedUsers)],
        [s.rooms, String(stats.rooms)],
        [s.connections, String(stats.connectionsOnThisNode)],
        [s.messagesLastMinute, String(stats.messagesLastMinute)],
        [s.messagesLastDay, String(stats.messagesLastDay)],
        [
          s.database,
          stats.storage.databaseBytes === null
            ? s.unknown
            : formatSize(stats.storage.databaseBytes),
        ],
        [s.files, formatSize(stats.storage.filesBytes)],
        [s.blobs, formatSize(stats.storage.blobsBytes)],
      ]
    : [];

  return (
    <section className="card" aria-labelledby="server-title">
      <div className="card-intro">
        <h2 id="server-title">{t.admin.server}</h2>
        <p className="muted">{t.admin.serverLead}</p>
      </div>
      {error ? <Alert>{error}</Alert> : null}
      <dl className="stats-grid">
        {figures.map(([label, value]) => (
          <div key={label} className="stat">
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
