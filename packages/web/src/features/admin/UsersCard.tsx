import type { AdminUser } from '@securechat/sdk';
import { useEffect, useState } from 'react';
import { client } from '../../sdk/client';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { Field } from '../../ui/Field';
import { Icon } from '../../ui/Icon';
import { Menu, type MenuItem } from '../../ui/Menu';
import { formatDay, formatRelative, formatTime } from '../../ui/time';
import { OneTimeLink } from './OneTimeLink';

/** What an administrator is about to do to an account, asked before it is done. */
type Pending =
  | { kind: 'reset'; user: AdminUser }
  | { kind: 'suspend'; user: AdminUser }
  | { kind: 'delete'; user: AdminUser }
  | { kind: 'twoFactor'; user: AdminUser }
  | { kind: 'role'; user: AdminUser; role: 'admin' | 'member' };

/**
 * Every account with its state, and what an administrator may do to it: a password-reset
 * link, remove two-factor sign-in, suspend or restore, make administrator or member. Nobody acts on themselves here.
 */
export function UsersCard({ me }: { me: string | null }) {
  const errorMessage = useFailureMessage();
  const [users, setUsers] = useState<AdminUser[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [resetLink, setResetLink] = useState<{ username: string; url: string } | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [search, setSearch] = useState('');
  const needle = search.trim().toLowerCase();
  const shown = users?.filter((user) => !needle || user.username.includes(needle)) ?? null;

  useEffect(() => {
    let live = true;
    client.admin.users().then(
      (list) => {
        if (!live) return;
        setUsers(list);
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

  /** Put the changed account in the list. */
  const replace = (changed: AdminUser) =>
    setUsers((list) => list?.map((u) => (u.id === changed.id ? changed : u)) ?? null);

  async function restore(user: AdminUser) {
    setError(null);
    try {
      replace(await client.admin.setSuspended(user.id, false));
    } catch (failure) {
      setError(errorMessage(failure));
    }
  }

  function actionsFor(user: AdminUser): MenuItem[] {
    return [
      { label: t.admin.resetPassword, onSelect: () => setPending({ kind: 'reset', user }) },
      ...(user.twoFactor
        ? [
            {
              label: t.admin.removeTwoFactor,
              danger: true,
              onSelect: () => setPending({ kind: 'twoFactor', user }),
            },
          ]
        : []),
      user.role === 'admin'
        ? {
            label: t.admin.makeMember,
            onSelect: () => setPending({ kind: 'role', user, role: 'member' }),
          }
        : {
            label: t.admin.makeAdmin,
            onSelect: () => setPending({ kind: 'role', user, role: 'admin' }),
          },
      user.suspendedAt
        ? { label: t.admin.unsuspend, onSelect: () => void restore(user) }
        : {
            label: t.admin.suspend,
            danger: true,
            onSelect: () => setPending({ kind: 'suspend', user }),
          },
      {
        label: t.admin.deleteUser,
        danger: true,
        onSelect: () => setPending({ kind: 'delete', user }),
      },
    ];
  }

  /** Run what the dialog confirms; null when done, else the refusal to show there. */
  async function confirm(action: Pending): Promise<string | null> {
    try {
      if (action.kind === 'reset') {
        const made = await client.admin.createResetLink(action.user.id);
        setResetLink({ username: made.username, url: made.url });
      } else if (action.kind === 'suspend') {
        replace(await client.admin.setSuspended(action.user.id, true));
      } else if (action.kind === 'delete') {
        await client.admin.deleteUser(action.user.id);
        replace((await client.admin.users()).find((u) => u.id === action.user.id) ?? action.user);
      } else if (action.kind === 'twoFactor') {
        replace(await client.admin.resetTwoFactor(action.user.id));
      } else {
        replace(await client.admin.setRole(action.user.id, action.role));
      }
      return null;
    } catch (failure) {
      return errorMessage(failure);
    }
  }

  const dialog = pending
    ? pending.kind === 'reset'
      ? {
          title: t.admin.resetTitle(pending.user.username),
          lead: t.admin.resetLead,
          confirm: t.admin.resetConfirm,
          busy: t.admin.resetMaking,
        }
      : pending.kind === 'delete'
        ? {
            title: t.admin.deleteTitle(pending.user.username),
            lead: t.admin.deleteLead,
            confirm: t.admin.deleteConfirm,
            busy: t.admin.deleting,
          }
        : pending.kind === 'twoFactor'
          ? {
              title: t.admin.removeTwoFactorTitle(pending.user.username),
              lead: t.admin.removeTwoFactorLead,
              confirm: t.admin.removeTwoFactorConfirm,
              busy: t.admin.removingTwoFactor,
            }
          : pending.kind === 'suspend'
            ? {
                title: t.admin.suspendTitle(pending.user.username),
                lead: t.admin.suspendLead,
                confirm: t.admin.suspendConfirm,
                busy: t.admin.suspending,
              }
            : {
                title: t.admin.roleTitle(pending.user.username, pending.role),
                lead: t.admin.roleLead(pending.role),
                confirm: t.admin.roleConfirm,
                busy: t.admin.roleChanging,
              }
    : null;

  return (
    <section className="card" aria-labelledby="users-title">
      <div className="card-intro">
        <h2 id="users-title">{t.admin.users}</h2>
        <p className="muted">{t.admin.usersLead(users?.length ?? 0)}</p>
      </div>
      {error ? <Alert>{error}</Alert> : null}
      {resetLink ? (
        <OneTimeLink
          title={t.admin.resetLinkFor(resetLink.username)}
          label={t.admin.resetLinkFor(resetLink.username)}
          hint={t.admin.resetLinkHint}
          url={resetLink.url}
        />
      ) : null}
      <Field
        label={t.admin.searchUsers}
        name="users-search"
        type="search"
        autoCapitalize="none"
        spellCheck={false}
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      {shown && shown.length === 0 ? <p className="empty-line">{t.admin.noUsers}</p> : null}
      <ul className="list" aria-label={t.admin.users}>
        {shown?.map((user) => (
          <li key={user.id} className="list-row">
            <span className="avatar" aria-hidden="true">
              {user.username.slice(0, 1).toUpperCase()}
            </span>
            <div className="list-main">
              <div className="list-title">
                {user.username}
                {user.id === me ? <span className="muted small">{t.admin.you}</span> : null}
                {user.deletedAt ? (
                  <span className="badge badge-expired">{t.admin.deleted}</span>
                ) : null}
                {user.twoFactor && !user.deletedAt ? (
                  <span className="badge">{t.admin.twoFactorOn}</span>
                ) : null}
                {user.suspendedAt && !user.deletedAt ? (
                  <span className="badge badge-expired">{t.admin.suspended}</span>
                ) : null}
              </div>
              <div className="list-meta">
                {t.admin.joined}{' '}
                <time dateTime={user.createdAt} title={formatTime(user.createdAt)}>
                  {formatDay(user.createdAt)}
                </time>
                <span aria-hidden="true"> · </span>
                {t.admin.devicesCount(user.devices)}
                <span aria-hidden="true"> · </span>
                {user.lastSeenAt ? (
                  <>
                    {t.admin.lastActive}{' '}
                    <time dateTime={user.lastSeenAt} title={formatTime(user.lastSeenAt)}>
                      {formatRelative(user.lastSeenAt, now)}
                    </time>
                  </>
                ) : (
                  t.admin.neverActive
                )}
              </div>
            </div>
            <span className={user.role === 'admin' ? 'badge' : 'badge badge-muted'}>
              {t.admin.role[user.role]}
            </span>
            {user.id === me || user.deletedAt ? (
              <span className="member-menu-space" aria-hidden="true" />
            ) : (
              <Menu
                label={t.admin.userActions(user.username)}
                className="member-menu"
                trigger={<Icon name="more" />}
                items={actionsFor(user)}
              />
            )}
          </li>
        ))}
      </ul>
      {pending && dialog ? (
        <ConfirmDialog
          title={dialog.title}
          lead={dialog.lead}
          confirm={dialog.confirm}
          busyLabel={dialog.busy}
          onConfirm={() => confirm(pending)}
          onClose={() => setPending(null)}
        />
      ) : null}
    </section>
  );
}
