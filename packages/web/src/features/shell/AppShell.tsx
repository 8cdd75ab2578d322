import { useEffect, useState, type ReactNode } from 'react';
import { Link, useLocation } from 'react-router';
import { t } from '../../strings';
import { Brand } from '../../ui/Brand';
import { Icon } from '../../ui/Icon';
import { usePageTitle } from '../../ui/usePageTitle';
import { RoomList } from '../conversation/RoomList';
import { useNotifications } from '../notifications/useNotifications';
import { NewDeviceNotice } from './NewDeviceNotice';
import { UserMenu } from './UserMenu';

/**
 * The signed-in frame: top bar, room sidebar and the main pane. On narrow screens the sidebar
 * is a drawer behind the "Rooms" button; Escape, a tap outside or navigating closes it.
 */
export function AppShell({
  label,
  title,
  children,
}: {
  /** Accessible name of <main>. */
  label: string;
  /** Tab title; null for the product name alone. */
  title: string | null;
  children: ReactNode;
}) {
  usePageTitle(title);
  useNotifications();
  const { pathname } = useLocation();
  const [roomsOpen, setRoomsOpen] = useState(false);
  const [openedAt, setOpenedAt] = useState(pathname);
  if (roomsOpen && openedAt !== pathname) {
    setRoomsOpen(false);
    setOpenedAt(pathname);
  }

  useEffect(() => {
    if (!roomsOpen) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') setRoomsOpen(false);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [roomsOpen]);

  return (
    <div className="shell">
      <header className="topbar">
        <button
          type="button"
          className="rooms-toggle"
          aria-expanded={roomsOpen}
          aria-controls="rooms-sidebar"
          onClick={() => {
            setOpenedAt(pathname);
            setRoomsOpen((o) => !o);
          }}
        >
          <Icon name="menu" />
          <span>{t.shell.toggleRooms}</span>
        </button>
        <Link to="/" className="topbar-brand">
          <Brand />
        </Link>
        <UserMenu />
      </header>
      <NewDeviceNotice />
      <div className="shell-body">
        <nav
          id="rooms-sidebar"
          className={roomsOpen ? 'sidebar open' : 'sidebar'}
          aria-label={t.shell.rooms}
        >
          <h2 className="visually-hidden">{t.shell.rooms}</h2>
          <RoomList />
        </nav>
        {roomsOpen ? (
          <div className="scrim" aria-hidden="true" onClick={() => setRoomsOpen(false)} />
        ) : null}
        {/* Focusable: a long page scrolls here, and keyboard users scroll it too. */}
        <main className="pane" aria-label={label} tabIndex={0}>
          {children}
        </main>
      </div>
    </div>
  );
}
