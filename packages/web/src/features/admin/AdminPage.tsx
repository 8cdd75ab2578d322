import type { InviteInfo } from '@securechat/sdk';
import { useCallback, useEffect, useState } from 'react';
import { client } from '../../sdk/client';
import { useFailureMessage, useSession } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Icon } from '../../ui/Icon';
import { formatRelative, formatTime } from '../../ui/time';
import { AppShell } from '../shell/AppShell';
import { AuditLog } from './AuditLog';
import { OneTimeLink } from './OneTimeLink';
import { RoomsCard } from './RoomsCard';
import { ServerCard } from './ServerCard';
import { UsersCard } from './UsersCard';

type InviteState = 'active' | 'used' | 'expired';

function inviteState(invite: InviteInfo, now: number): InviteState {
  if (invite.usedAt) return 'used';
  return new Date(invite.expiresAt).getTime() <= now ? 'expired' : 'active';
}

export function AdminPage() {
  const { session } = useSession();
  const errorMessage = useFailureMessage();
  const [invites, setInvites] = useState<InviteInfo[] | null>(null);
  const [link, setLink] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());

  const load = useCallback(
    () =>
      client.admin.invites().then(
        (i) => {
          setInvites([...i].sort((a, b) => b.createdAt.localeCompare(a.createdAt)));
          setNow(Date.now());
        },
        (failure: unknown) => setError(errorMessage(failure)),
      ),
    [errorMessage],
  );
  useEffect(() => {
    void load();
  }, [load]);

  async function create() {
    setError(null);
    setCreating(true);
    try {
      const created = await client.admin.createInvite();
      setLink(created.url);
      await load();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setCreating(false);
    }
  }

  async function revoke(id: string) {
    setError(null);
    try {
      await client.admin.revokeInvite(id);
      await load();
    } catch (failure) {
      setError(errorMessage(failure));
    }
  }

  return (
    <AppShell label={t.admin.title} title={t.admin.title}>
      <div className="page">
        <header className="page-head">
          <h1>{t.admin.title}</h1>
          <p className="lead">{t.admin.lead}</p>
        </header>
        {error ? <Alert>{error}</Alert> : null}
        <section className="card" aria-labelledby="invites-title">
          <div className="card-head">
            <div className="card-intro">
              <h2 id="invites-title">{t.admin.invites}</h2>
              <p className="muted">{t.admin.invitesLead}</p>
            </div>
            <Button variant="primary" busy={creating} onClick={() => void create()}>
              {t.admin.createInvite}
            </Button>
          </div>
          {link ? (
            <OneTimeLink
              title={t.admin.newInvite}
              label={t.admin.inviteLink}
              hint={t.admin.newInviteHint}
              url={link}
            />
          ) : null}
          {invites && invites.length === 0 ? (
            <p className="empty-line">{t.admin.noInvites}</p>
          ) : null}
          <ul className="list">
            {invites?.map((invite) => {
              const state = inviteState(invite, now);
              const metaId = `invite-${invite.id}`;
              return (
                <li key={invite.id} className="list-row">
                  <span className="row-icon" aria-hidden="true">
                    <Icon name="link" />
                  </span>
                  <div className="list-main">
                    <div className="list-title">
                      {t.admin.inviteBy(invite.createdBy)}
                      <span className={`badge badge-${state}`}>{t.admin.state[state]}</span>
                    </div>
                    <div className="list-meta" id={metaId}>
                      {t.admin.created}{' '}
                      <time dateTime={invite.createdAt} title={formatTime(invite.createdAt)}>
                        {formatRelative(invite.createdAt, now)}
                      </time>
                      <span aria-hidden="true"> · </span>
                      {state === 'used' && invite.usedAt ? (
                        <>
                          {t.admin.usedAt}{' '}
                          <time dateTime={invite.usedAt} title={formatTime(invite.usedAt)}>
                            {formatRelative(invite.usedAt, now)}
                          </time>
                        </>
                      ) : (
                        <>
                          {state === 'expired' ? t.admin.expired : t.admin.expires}{' '}
                          <time dateTime={invite.expiresAt} title={formatTime(invite.expiresAt)}>
                            {formatRelative(invite.expiresAt, now)}
                          </time>
                        </>
                      )}
                    </div>
                  </div>
                  {state === 'active' ? (
                    <Button
                      variant="danger"
                      aria-describedby={metaId}
                      onClick={() => void revoke(invite.id)}
                    >
                      {t.admin.revoke}
                    </Button>
                  ) : null}
                </li>
              );
            })}
          </ul>
        </section>
        <ServerCard />
        <UsersCard me={session?.user.id ?? null} />
        <RoomsCard />
        <AuditLog />
      </div>
    </AppShell>
  );
}
