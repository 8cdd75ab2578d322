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
  name: string;
}

const NO_FILTERS: Filters = { kind: '', name: '' };

const queryOf = (filters: Filters) => ({
  ...(filters.kind ? { kind: filters.kind } : {}),
  ...(filters.name.trim() ? { name: filters.name.trim() } : {}),
  limit: String(PAGE),
});

/** What the room is called here: a channel's name; other rooms' names are encrypted. */
const titleOf = (room: AdminRoom) =>
  room.name !== null ? `#${room.name}` : t.admin.rooms.unnamed[room.kind];

/**
 * Every room, most recently active first, with what the server knows of it, and deleting one
 * for everyone in it. Groups and direct rooms have no name here: it is end-to-end encrypted.
 */
export function RoomsCard() {
  const errorMessage = useFailureMessage();
  const kindId = useId();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const [rooms, setRooms] = useState<AdminRoom[] | null>(null);
  const [total, setTotal] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<AdminRoom | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);
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
    setDeleted(null);
    setApplied({ ...draft });
  }

  async function remove(room: AdminRoom): Promise<string | null> {
    try {
      await client.admin.deleteRoom(room.id);
      setRooms((list) => list?.filter((r) => r.id !== room.id) ?? null);
      setTotal((n) => Math.max(0, n - 1));
      setDeleted(t.admin.rooms.deleted(titleOf(room)));
      return null;
    } catch (failure) {
      return errorMessage(failure);
    }
  }

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
      {deleted ? (
        <p role="status" className="field-hint">
          {deleted}
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
                  <span aria-hidden="true"> · </span>
                  <code className="audit-detail">{room.id}</code>
                </div>
              </div>
              {room.kind === 'general' ? null : (
                <Button
                  variant="danger"
                  aria-label={t.admin.rooms.deleteNamed(titleOf(room))}
                  aria-describedby={metaId}
                  onClick={() => {
                    setDeleted(null);
                    setPending(room);
                  }}
                >
                  {t.admin.rooms.delete}
                </Button>
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
      {pending ? (
        <ConfirmDialog
          title={t.admin.rooms.deleteTitle(titleOf(pending))}
          lead={t.admin.rooms.deleteLead(pending.members)}
          confirm={t.admin.rooms.deleteConfirm}
          busyLabel={t.admin.rooms.deleting}
          onConfirm={() => remove(pending)}
          onClose={() => setPending(null)}
        />
      ) : null}
    </section>
  );
}
