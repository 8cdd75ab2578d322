import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { t } from '../../strings';
import { Brand, LockIcon } from '../../ui/Brand';
import { UserMenu } from './UserMenu';

/** The signed-in frame: top bar, room sidebar, and the main pane. */
export function AppShell({ label, children }: { label: string; children: ReactNode }) {
  const [roomsOpen, setRoomsOpen] = useState(false);
  return (
    <div className="shell">
      <header className="topbar">
        <button
          type="button"
          className="rooms-toggle"
          aria-expanded={roomsOpen}
          aria-controls="rooms-sidebar"
          onClick={() => setRoomsOpen((o) => !o)}
        >
          <svg className="icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
            <path d="M3 5h14v2H3zm0 4h14v2H3zm0 4h14v2H3z" fill="currentColor" />
          </svg>
          <span>{t.shell.toggleRooms}</span>
        </button>
        <Link to="/" className="topbar-brand">
          <Brand />
        </Link>
        <span className="e2ee-badge">
          <LockIcon /> <span>{t.e2ee}</span>
        </span>
        <UserMenu />
      </header>
      <div className="shell-body">
        <nav
          id="rooms-sidebar"
          className={roomsOpen ? 'sidebar open' : 'sidebar'}
          aria-label={t.shell.rooms}
        >
          <h2 className="sidebar-title">{t.shell.rooms}</h2>
          <div className="empty small">
            <p className="empty-title">{t.shell.noRooms}</p>
            <p>{t.shell.noRoomsLead}</p>
          </div>
        </nav>
        <main className="pane" aria-label={label}>
          {children}
        </main>
      </div>
    </div>
  );
}

export function ConversationHome() {
  return (
    <AppShell label={t.shell.conversation}>
      <div className="empty center">
        <div className="empty-art" aria-hidden="true">
          <LockIcon />
        </div>
        <h1 className="empty-title">{t.shell.selectConversation}</h1>
        <p>{t.shell.selectLead}</p>
      </div>
    </AppShell>
  );
}
