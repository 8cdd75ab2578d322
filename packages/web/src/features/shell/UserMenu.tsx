import { useNavigate } from 'react-router';
import { client } from '../../sdk/client';
import { useSession } from '../../session';
import { t } from '../../strings';
import { Icon } from '../../ui/Icon';
import { Menu, type MenuItem } from '../../ui/Menu';

/** The account menu in the top bar: the signed-in user's pages and "Sign out". */
export function UserMenu() {
  const { session, setSession } = useSession();
  const navigate = useNavigate();
  const username = session?.user.username ?? '';
  const go = (path: string) => () => void navigate(path);

  const items: MenuItem[] = [
    { label: t.shell.devices, onSelect: go('/devices') },
    { label: t.shell.settings, onSelect: go('/settings') },
    ...(session?.user.role === 'admin' ? [{ label: t.shell.admin, onSelect: go('/admin') }] : []),
    { label: t.shell.about, onSelect: go('/about') },
    {
      label: t.shell.signOut,
      danger: true,
      onSelect: () => {
        void client.logout().finally(() => {
          setSession(null);
          void navigate('/login', { replace: true });
        });
      },
    },
  ];

  return (
    <Menu
      label={t.shell.accountMenu}
      items={items}
      header={
        <>
          {t.shell.signedInAs} <strong>{username}</strong>
        </>
      }
      trigger={
        <>
          <span className="avatar" aria-hidden="true">
            {username.slice(0, 1).toUpperCase()}
          </span>
          <span className="menu-username">{username}</span>
          <Icon name="chevron" className="chevron" />
        </>
      }
    />
  );
}
