import type { AuditEntry, AuditQuery } from '@securechat/sdk';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { client } from '../../sdk/client';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Field } from '../../ui/Field';
import { FilterActions } from './FilterActions';
import { formatTime } from '../../ui/time';

interface Filters {
  event: string;
  username: string;
  /** yyyy-mm-dd from the date inputs, in the viewer's time zone; '' for none. */
  since: string;
  until: string;
}

const NO_FILTERS: Filters = { event: '', username: '', since: '', until: '' };

/** The query for these filters: `until` includes the whole day it names. */
function queryOf(filters: Filters): AuditQuery {
  const day = (value: string, plusDays = 0) => {
    const date = new Date(`${value}T00:00:00`);
    date.setDate(date.getDate() + plusDays);
    return date.toISOString();
  };
  return {
    ...(filters.event ? { event: filters.event } : {}),
    ...(filters.username.trim() ? { username: filters.username.trim() } : {}),
    ...(filters.since ? { since: day(filters.since) } : {}),
    ...(filters.until ? { until: day(filters.until, 1) } : {}),
  };
}

const detailText = (detail: AuditEntry['detail']): string =>
  Object.entries(detail)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');

/** The server-wide audit log for administrators: filters, newest first, older on demand. */
export function AuditLog() {
  const errorMessage = useFailureMessage();
  const eventId = useId();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  // The first page of what the filters select (again whenever they change).
  useEffect(() => {
    let live = true;
    client.admin.audit(queryOf(applied)).then(
      (page) => {
        if (!live) return;
        setEntries(page.entries);
        setNext(page.next);
        setError(null);
      },
      (failure: unknown) => {
        if (!live) return;
        setError(errorMessage(failure));
        setEntries([]);
        setNext(null);
      },
    );
    return () => {
      live = false;
    };
  }, [applied, errorMessage]);

  function more(before: number) {
    setLoading(true);
    client.admin
      .audit({ ...queryOf(applied), before: String(before) })
      .then(
        (page) => {
          setEntries((shown) => [...(shown ?? []), ...page.entries]);
          setNext(page.next);
        },
        (failure: unknown) => setError(errorMessage(failure)),
      )
      .finally(() => setLoading(false));
  }

  function apply(event: FormEvent) {
    event.preventDefault();
    setApplied({ ...draft });
  }

  const set = (key: keyof Filters) => (value: string) => setDraft((d) => ({ ...d, [key]: value }));

  return (
    <section className="card" aria-labelledby="audit-title">
      <div className="card-intro">
        <h2 id="audit-title">{t.admin.audit}</h2>
        <p className="muted">{t.admin.auditLead}</p>
      </div>
      <form className="audit-filters" onSubmit={apply} aria-label={t.admin.filters}>
        <div className="field">
          <label htmlFor={eventId}>{t.admin.eventFilter}</label>
          <div className="select">
            <select id={eventId} value={draft.event} onChange={(e) => set('event')(e.target.value)}>
              <option value="">{t.admin.anyEvent}</option>
              {Object.entries(t.admin.families).map(([family, label]) => (
                <option key={family} value={family}>
                  {label}
                </option>
              ))}
            </select>
          </div>
        </div>
        <Field
          label={t.admin.userFilter}
          name="audit-username"
          autoCapitalize="none"
          spellCheck={false}
          value={draft.username}
          onChange={(e) => set('username')(e.target.value)}
        />
        <Field
          label={t.admin.since}
          name="audit-since"
          type="date"
          value={draft.since}
          onChange={(e) => set('since')(e.target.value)}
        />
        <Field
          label={t.admin.until}
          name="audit-until"
          type="date"
          value={draft.until}
          onChange={(e) => set('until')(e.target.value)}
        />
        <FilterActions
          onClear={() => {
            setDraft(NO_FILTERS);
            setApplied(NO_FILTERS);
          }}
        />
      </form>
      {error ? <Alert>{error}</Alert> : null}
      {entries && entries.length === 0 && !error ? (
        <p className="empty-line">{t.admin.noEntries}</p>
      ) : null}
      <ul className="list" aria-label={t.admin.audit}>
        {entries?.map((entry) => (
          <li key={entry.id} className="list-row">
            <div className="list-main">
              <div className="list-title">
                {t.activity.events[entry.event] ?? entry.event}
                <code className="audit-detail">{entry.event}</code>
              </div>
              <div className="list-meta">
                <time dateTime={entry.at}>{formatTime(entry.at)}</time>
                <span aria-hidden="true"> · </span>
                <span>
                  {t.admin.who}: {entry.username ?? t.admin.nobody}
                </span>
                {entry.address ? (
                  <>
                    <span aria-hidden="true"> · </span>
                    <span>
                      {t.admin.address}: {entry.address}
                    </span>
                  </>
                ) : null}
              </div>
              {Object.keys(entry.detail).length > 0 ? (
                <div className="audit-detail">{detailText(entry.detail)}</div>
              ) : null}
            </div>
          </li>
        ))}
      </ul>
      {next !== null ? (
        <div className="more-row">
          <Button busy={loading} onClick={() => more(next)}>
            {t.admin.moreEntries}
          </Button>
        </div>
      ) : null}
    </section>
  );
}
