import type { AdminRoom } from '@securechat/sdk';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { client } from '../../sdk/client';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { Field } from '../../ui/Field';
import { FilterActions } from './FilterActions';
import { Icon } from '../../ui/Icon';
import { formatRelative, formatTime } from '../../ui/time';

const PAGE = 50;

interface Filters {
  kind: '' | AdminRoom['kind'];
  state: '' | 'open' | 'closed';
  name: string;
}

const NO_FILTERS: Filters = { kind: '', state: '', name: '' };

const queryOf = (filters: Filters) => ({
  ...(filters.kind ? { kind: filters.kind } : {}),
  ...(filters.state ? { state: filters.state } : {}),
  ...(filters.name.trim() ? { name: filters.name.trim() } : {}),
  limit: String(PAGE),
});

/** What the room is called here: a channel's name; other rooms' names are encrypted. */
const titleOf = (room: AdminRoom) =>
  room.name !== null ? `#${room.name}` : t.admin.rooms.unnamed[room.kind];

/** What an administrator is about to do to a room, asked before it is done. */
interface Pending {
  kind: 'close' | 'reopen' | 'delete';
  room: AdminRoom;
}

/** The confirmation each action asks for. */
function dialogOf({ kind, room }: Pending) {
  const r = t.admin.rooms;
  const title = titleOf(room);
  switch (kind) {
    case 'close':
      return {
        title: r.closeTitle(title),
        lead: r.closeLead(room.members),
        confirm: r.closeConfirm,
        busy: r.closing,
      };
    case 'reopen':
      return {
        title: r.reopenTitle(title),
        lead: r.reopenLead,
        confirm: r.reopenConfirm,
        busy: r.reopening,
      };
    case 'delete':
      return {
        title: r.deleteTitle(title),
        lead: r.deleteLead(room.members),
        confirm: r.deleteConfirm,
        busy: r.deleting,
      };
  }
}

/**
 * Every room, most recently active first, with what the server knows of it; closing one (a
 * read-only archive for its members), reopening it, and deleting one for everyone in it.
 * Groups and direct rooms have no name here: it is end-to-end encrypted.
 */
export function RoomsCard() {
  const errorMessage = useFailureMessage();
  const kindId = useId();
  const stateId = useId();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const [rooms, setRooms] = useState<AdminRoom[] | null>(null);
  const [total, setTotal] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    let live = true;
    client.admin.rooms(queryOf(applied)).then(
      (page) => {
        if (!live) return;
        setRooms(page.rooms);
        setTotal(page.total);
        setNow(Date.now());
        setError(null);
      },
      (failure: unknown) => {
        if (live) setError(errorMessage(failure));
      },
    );
    return () => {
      live = false;
    };
  }, [applied, errorMessage]);

  function more() {
    setLoading(true);
    client.admin
      .rooms({ ...queryOf(applied), offset: String(rooms?.length ?? 0) })
      .then(
        (page) => {
          setRooms((shown) => [...(shown ?? []), ...page.rooms]);
          setTotal(page.total);
        },
        (failure: unknown) => setError(errorMessage(failure)),
      )
      .finally(() => setLoading(false));
  }

  function apply(event: FormEvent) {
    event.preventDefault();
    setDone(null);
    setApplied({ ...draft });
  }

  /** Take a room off the list shown (deleted, or no longer matching the filters). */
  function drop(room: AdminRoom) {
    setRooms((list) => list?.filter((r) => r.id !== room.id) ?? null);
    setTotal((n) => Math.max(0, n - 1));
  }

  /** Show a room closed (at `closedAt`) or open (null), or drop it when the filter hides it. */
  function reshow(room: AdminRoom, closedAt: string | null) {
    if (applied.state && applied.state !== (closedAt ? 'closed' : 'open')) return drop(room);
    setRooms((list) => list?.map((r) => (r.id === room.id ? { ...r, closedAt } : r)) ?? null);
  }

  /** Run what the dialog confirms; null when done, else the refusal to show there. */
  async function confirm({ kind, room }: Pending): Promise<string | null> {
    const title = titleOf(room);
    try {
      switch (kind) {
        case 'close':
          await client.admin.closeRoom(room.id);
          reshow(room, new Date().toISOString());
          setDone(t.admin.rooms.closed(title));
          break;
        case 'reopen':
          await client.admin.reopenRoom(room.id);
          reshow(room, null);
          setDone(t.admin.rooms.reopened(title));
          break;
        case 'delete':
          await client.admin.deleteRoom(room.id);
          drop(room);
          setDone(t.admin.rooms.deleted(title));
          break;
      }
      return null;
    } catch (failure) {
      return errorMessage(failure);
    }
  }

  /** Ask before acting on a room. */
  const ask = (kind: Pending['kind'], room: AdminRoom) => {
    setDone(null);
    setPending({ kind, room });
  };

  const dialog = pending ? dialogOf(pending) : null;

  return (
    <section className="card" aria-labelledby="rooms-title">
      <div className="card-intro">
        <h2 id="rooms-title">{t.admin.rooms.title}</h2>
        <p className="muted">{t.admin.rooms.lead(total)}</p>
      </div>
      <form className="audit-filters" onSubmit={apply} aria-label={t.admin.rooms.filters}>
        <div className="field">
          <label htmlFor={kindId}>{t.admin.rooms.kindFilter}</label>
          <div className="select">
            <select
              id={kindId}
              value={draft.kind}
              onChange={(e) => setDraft((d) => ({ ...d, kind: e.target.value as Filters['kind'] }))}
            >
              <option value="">{t.admin.rooms.anyKind}</option>
              {(['general', 'channel', 'group', 'direct'] as const).map((kind) => (
                <option key={kind} value={kind}>
                  {t.admin.rooms.kinds[kind]}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="field">
          <label htmlFor={stateId}>{t.admin.rooms.stateFilter}</label>
          <div className="select">
            <select
              id={stateId}
              value={draft.state}
              onChange={(e) =>
                setDraft((d) => ({ ...d, state: e.target.value as Filters['state'] }))
              }
            >
              <option value="">{t.admin.rooms.anyState}</option>
              {(['open', 'closed'] as const).map((state) => (
                <option key={state} value={state}>
                  {t.admin.rooms.states[state]}
                </option>
              ))}
            </select>
          </div>
        </div>
        <Field
          label={t.admin.rooms.nameFilter}
          name="rooms-name"
          autoCapitalize="none"
          spellCheck={false}
          maxLength={64}
          value={draft.name}
          onChange={(e) => setDraft((d) => ({ ...d, name: e.target.value }))}
        />
        <FilterActions
          onClear={() => {
            setDraft(NO_FILTERS);
            setApplied(NO_FILTERS);
          }}
        />
      </form>
      {error ? <Alert>{error}</Alert> : null}
      {done ? (
        <p role="status" className="field-hint">
          {done}
        </p>
      ) : null}
      {rooms && rooms.length === 0 && !error ? (
        <p className="empty-line">{t.admin.rooms.none}</p>
      ) : null}
      <ul className="list" aria-label={t.admin.rooms.title}>
        {rooms?.map((room) => {
          const metaId = `room-${room.id}`;
          return (
            <li key={room.id} className="list-row">
              <span className="row-icon" aria-hidden="true">
                <Icon
                  name={
                    room.protected
                      ? 'lock'
                      : room.kind === 'direct'
                        ? 'user'
                        : room.kind === 'group'
                          ? 'users'
                          : 'hash'
                  }
                />
              </span>
              <div className="list-main">
                <div className="list-title">
                  {titleOf(room)}
                  <span className="badge badge-muted">{t.admin.rooms.kinds[room.kind]}</span>
                  {room.closedAt ? (
                    <span className="badge badge-expired">{t.admin.rooms.closedBadge}</span>
                  ) : null}
                </div>
                <div className="list-meta" id={metaId}>
                  {t.admin.rooms.members(room.members)}
                  <span aria-hidden="true"> · </span>
                  {t.admin.rooms.events(room.events)}
                  <span aria-hidden="true"> · </span>
                  {room.lastActivityAt ? (
                    <>
                      {t.admin.rooms.lastActivity}{' '}
                      <time dateTime={room.lastActivityAt} title={formatTime(room.lastActivityAt)}>
                        {formatRelative(room.lastActivityAt, now)}
                      </time>
                    </>
                  ) : (
                    t.admin.rooms.noActivity
                  )}
                  {room.closedAt ? (
                    <>
                      <span aria-hidden="true"> · </span>
                      {t.admin.rooms.closedSince}{' '}
                      <time dateTime={room.closedAt} title={formatTime(room.closedAt)}>
                        {formatRelative(room.closedAt, now)}
                      </time>
                    </>
                  ) : null}
                  <span aria-hidden="true"> · </span>
                  <code className="audit-detail">{room.id}</code>
                </div>
              </div>
              {room.kind === 'general' ? null : (
                <>
                  {room.closedAt ? (
                    <Button
                      aria-label={t.admin.rooms.reopenNamed(titleOf(room))}
                      aria-describedby={metaId}
                      onClick={() => ask('reopen', room)}
                    >
                      {t.admin.rooms.reopen}
                    </Button>
                  ) : (
                    <Button
                      aria-label={t.admin.rooms.closeNamed(titleOf(room))}
                      aria-describedby={metaId}
                      onClick={() => ask('close', room)}
                    >
                      {t.admin.rooms.close}
                    </Button>
                  )}
                  <Button
                    variant="danger"
                    aria-label={t.admin.rooms.deleteNamed(titleOf(room))}
                    aria-describedby={metaId}
                    onClick={() => ask('delete', room)}
                  >
                    {t.admin.rooms.delete}
                  </Button>
                </>
              )}
            </li>
          );
        })}
      </ul>
      {rooms && rooms.length < total ? (
        <div className="more-row">
          <Button busy={loading} onClick={more}>
            {t.admin.rooms.more}
          </Button>
        </div>
      ) : null}
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
