import type { InviteInfo, PublicUser } from '@securechat/sdk';
import { useCallback, useEffect, useState } from 'react';
import { client } from '../../sdk/client';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { errorMessage } from '../../ui/errors';
import { formatTime } from '../../ui/format';
import { AppShell } from '../shell/AppShell';

export function AdminPage() {
  const [users, setUsers] = useState<PublicUser[] | null>(null);
  const [invites, setInvites] = useState<InviteInfo[] | null>(null);
  const [link, setLink] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    () =>
      Promise.all([client.admin.users(), client.admin.invites()]).then(
        ([u, i]) => {
          setUsers(u);
          setInvites(i);
        },
        (failure: unknown) => setError(errorMessage(failure)),
      ),
    [],
  );
  useEffect(() => {
    void load();
  }, [load]);

  async function create() {
    setError(null);
    try {
      const created = await client.admin.createInvite();
      setLink(created.url);
      setCopied(false);
      await load();
    } catch (failure) {
      setError(errorMessage(failure));
    }
  }

  async function revoke(id: string) {
    try {
      await client.admin.revokeInvite(id);
      await load();
    } catch (failure) {
      setError(errorMessage(failure));
    }
  }

  return (
    <AppShell label={t.admin.title}>
      <div className="page">
        <h1>{t.admin.title}</h1>
        {error ? <Alert>{error}</Alert> : null}
        <section className="card" aria-labelledby="invites-title">
          <div className="card-head">
            <div>
              <h2 id="invites-title">{t.admin.invites}</h2>
              <p className="muted">{t.admin.invitesLead}</p>
            </div>
            <button type="button" className="button primary" onClick={() => void create()}>
              {t.admin.createInvite}
            </button>
          </div>
          {link ? (
            <div className="invite-link">
              <p>{t.admin.newInvite}</p>
              <div className="copy-row">
                <input
                  readOnly
                  value={link}
                  aria-label={t.admin.newInvite}
                  onFocus={(e) => e.target.select()}
                />
                <button
                  type="button"
                  className="button"
                  onClick={() => {
                    void navigator.clipboard?.writeText(link).then(() => setCopied(true));
                  }}
                >
                  {copied ? t.admin.copied : t.admin.copy}
                </button>
              </div>
            </div>
          ) : null}
          {invites && invites.length === 0 ? <p className="muted">{t.admin.noInvites}</p> : null}
          <ul className="list">
            {invites?.map((invite) => (
              <li key={invite.id} className="list-row">
                <div className="list-main">
                  <div className="list-title">
                    {t.admin.created} {invite.createdBy}
                    {invite.usedAt ? (
                      <span className="badge muted-badge">{t.admin.used}</span>
                    ) : null}
                  </div>
                  <div className="list-meta">
                    {formatTime(invite.createdAt)} · {t.admin.expires}{' '}
                    {formatTime(invite.expiresAt)}
                  </div>
                </div>
                {invite.usedAt ? null : (
                  <button
                    type="button"
                    className="button danger-outline"
                    onClick={() => void revoke(invite.id)}
                  >
                    {t.admin.revoke}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
        <section className="card" aria-labelledby="users-title">
          <h2 id="users-title">{t.admin.users}</h2>
          <ul className="list">
            {users?.map((user) => (
              <li key={user.id} className="list-row">
                <div className="list-main">
                  <div className="list-title">{user.username}</div>
                  <div className="list-meta">{formatTime(user.createdAt)}</div>
                </div>
                <span className={user.role === 'admin' ? 'badge' : 'badge muted-badge'}>
                  {t.admin.role[user.role]}
                </span>
              </li>
            ))}
          </ul>
        </section>
      </div>
    </AppShell>
  );
}
