import { type RoomSummary } from '@securechat/sdk';
import { useId, useState, type ReactNode } from 'react';
import { Link, useLocation } from 'react-router';
import { t } from '../../strings';
import { Icon } from '../../ui/Icon';
import { NewConversationDialog, type NewKind } from '../rooms/NewConversationDialog';
import { BrowseChannelsDialog } from './BrowseChannelsDialog';
import { roomIdFromPath, roomPath } from './paths';
import { useRealtime } from './RealtimeProvider';
import { roomName } from './store';

type Open = NewKind | 'browse' | null;

/** The sidebar's content: the user's rooms by kind, and the doors to new ones. */
export function RoomList() {
  const { rooms, unread, presence, conversations } = useRealtime();
  const { pathname } = useLocation();
  const current = roomIdFromPath(pathname);
  const [open, setOpen] = useState<Open>(null);
  const close = () => setOpen(null);

  if (rooms === null) {
    return (
      <p className="sidebar-loading" role="status">
        <span className="spinner" aria-hidden="true" />
        {t.rooms.loading}
      </p>
    );
  }
  const channels = rooms.filter((r) => r.kind === 'general' || r.kind === 'channel');
  const groups = rooms.filter((r) => r.kind === 'group');
  const direct = rooms.filter((r) => r.kind === 'direct');
  const row = (room: RoomSummary) => (
    <RoomLink
      key={room.id}
      room={room}
      // A group's name is end-to-end content: its members' room profile, not the server's.
      name={roomName(room, conversations?.profile(room.id))}
      current={room.id === current}
      // The room on screen is read as messages arrive; don't flash a count while it catches up.
      unread={room.id === current ? 0 : (unread.get(room.id) ?? 0)}
      online={room.kind === 'direct' ? presence.get(room.peer.id) : undefined}
    />
  );

  return (
    <>
      <Section
        title={t.rooms.channels}
        action={{ label: t.rooms.createChannel, onClick: () => setOpen('channel') }}
      >
        {channels.map(row)}
      </Section>
      <button type="button" className="sidebar-link" onClick={() => setOpen('browse')}>
        <Icon name="search" />
        {t.rooms.browse}
      </button>
      <Section
        title={t.rooms.groups}
        action={{ label: t.rooms.createGroup, onClick: () => setOpen('group') }}
      >
        {groups.map(row)}
      </Section>
      <Section
        title={t.rooms.direct}
        action={{ label: t.rooms.newDirect, onClick: () => setOpen('direct') }}
      >
        {direct.map(row)}
      </Section>
      {open === 'browse' ? <BrowseChannelsDialog onClose={close} /> : null}
      {open !== null && open !== 'browse' ? (
        <NewConversationDialog kind={open} onClose={close} />
      ) : null}
    </>
  );
}

function Section({
  title,
  action,
  children,
}: {
  title: string;
  action?: { label: string; onClick: () => void };
  children: ReactNode;
}) {
  const id = useId();
  return (
    <section className="room-section" aria-labelledby={id}>
      <div className="room-section-head">
        <h2 id={id} className="sidebar-title">
          {title}
        </h2>
        {action ? (
          <button
            type="button"
            className="icon-button small"
            aria-label={action.label}
            title={action.label}
            onClick={action.onClick}
          >
            <Icon name="plus" />
          </button>
        ) : null}
      </div>
      <ul className="room-list">{children}</ul>
    </section>
  );
}

function RoomLink({
  room,
  name,
  current,
  unread,
  online,
}: {
  room: RoomSummary;
  name: string;
  current: boolean;
  unread: number;
  online: string | undefined;
}) {
  const unreadId = useId();
  return (
    <li>
      <Link
        to={roomPath(room.id)}
        className={unread > 0 ? 'room-link unread' : 'room-link'}
        aria-current={current ? 'page' : undefined}
        aria-describedby={unread > 0 ? unreadId : undefined}
      >
        {room.kind === 'direct' ? (
          <span className="room-glyph avatar tiny" aria-hidden="true">
            {name.slice(0, 1).toUpperCase()}
            <span className={`presence-dot ${online ?? 'offline'}`} />
          </span>
        ) : (
          <span className="room-glyph" aria-hidden="true">
            {room.kind === 'group' ? <Icon name="users" /> : '#'}
          </span>
        )}
        <span className="room-name">{name}</span>
        {room.protected ? (
          <span className="room-lock" title={t.rooms.protectedRoom} aria-hidden="true">
            <Icon name="lock" />
          </span>
        ) : null}
        {unread > 0 ? (
          <span className="unread-count" aria-hidden="true">
            {unread > 99 ? '99+' : unread}
          </span>
        ) : null}
      </Link>
      {unread > 0 ? (
        <span id={unreadId} hidden>
          {t.rooms.unread(unread)}
        </span>
      ) : null}
    </li>
  );
}
