import { useState } from 'react';
import { useNavigate } from 'react-router';
import { client, forgetThisDevice } from '../../sdk/client';
import { forgetKnownDevice } from '../../sdk/knownDevice';
import { useSession } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Dialog } from '../../ui/Dialog';
import { errorMessage } from '../../ui/errors';
import { Icon } from '../../ui/Icon';
import { Menu, type MenuItem } from '../../ui/Menu';
import { useRealtime } from '../conversation/RealtimeProvider';

/**
 * The account menu in the top bar: the signed-in user's pages, "Sign out" (this browser stays
 * a device of the account, with its keys and history) and "Sign out and remove this device".
 */
export function UserMenu() {
  const { session, setSession } = useSession();
  const navigate = useNavigate();
  const [removing, setRemoving] = useState(false);
  const username = session?.user.username ?? '';
  const go = (path: string) => () => void navigate(path);
  const signedOut = () => {
    setSession(null);
    void navigate('/login', { replace: true });
  };

  const items: MenuItem[] = [
    { label: t.shell.devices, onSelect: go('/devices') },
    { label: t.shell.activity, onSelect: go('/activity') },
    { label: t.shell.settings, onSelect: go('/settings') },
    ...(session?.user.role === 'admin' ? [{ label: t.shell.admin, onSelect: go('/admin') }] : []),
    { label: t.shell.about, onSelect: go('/about') },
    {
      label: t.shell.signOut,
      onSelect: () => void client.logout().finally(signedOut),
    },
    { label: t.shell.signOutRemove, danger: true, onSelect: () => setRemoving(true) },
  ];

  return (
    <>
      <Menu
        label={t.shell.accountMenuFor(username)}
        items={items}
        header={
          <>
            {t.shell.signedInAs} <strong>{username}</strong>
          </>
        }
        trigger={
          <>
            {/* The initial is drawn by CSS, so the button's visible text is the name alone. */}
            <span
              className="avatar"
              aria-hidden="true"
              data-initial={username.slice(0, 1).toUpperCase()}
            />
            <span className="menu-username">{username}</span>
            <Icon name="chevron" className="chevron" />
          </>
        }
      />
      {removing && session ? (
        <RemoveDeviceDialog
          owner={{ userId: session.user.id, deviceId: session.device.id }}
          username={username}
          onRemoved={signedOut}
          onClose={() => setRemoving(false)}
        />
      ) : null}
    </>
  );
}

/** Confirm, then remove this browser from every conversation and erase what it keeps here. */
function RemoveDeviceDialog({
  owner,
  username,
  onRemoved,
  onClose,
}: {
  owner: { userId: string; deviceId: string };
  username: string;
  onRemoved: () => void;
  onClose: () => void;
}) {
  const { conversations } = useRealtime();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await client.logout({ removeDevice: true });
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
      return;
    }
    // The server forgot the device: so does this browser (its keys and its history).
    forgetKnownDevice(username);
    await conversations?.forgetEverything().catch(() => undefined);
    await forgetThisDevice(owner).catch(() => undefined);
    onRemoved();
  }

  return (
    <Dialog title={t.shell.removeTitle} lead={t.shell.removeLead} onClose={onClose}>
      {error ? <Alert>{error}</Alert> : null}
      <div className="dialog-actions">
        <Button variant="ghost" onClick={onClose}>
          {t.rooms.cancel}
        </Button>
        <Button variant="danger" busy={busy} onClick={() => void remove()}>
          {busy ? t.shell.removing : t.shell.removeConfirm}
        </Button>
      </div>
    </Dialog>
  );
}
