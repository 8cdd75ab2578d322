/**
 * Search over the messages this device decrypted (the sdk's local index): one conversation or
 * all of them, results newest first with the matched words marked, and Enter or a click
 * taking the user to the message. A combobox over a listbox: focus stays in the field, the
 * arrow keys move through the results, Escape closes.
 */
import {
  highlightRanges,
  type Conversations,
  type SearchHit,
  type SearchResults,
} from '@securechat/sdk';
import { useCallback, useEffect, useId, useState, type KeyboardEvent, type ReactNode } from 'react';
import { t } from '../../strings';
import { Icon } from '../../ui/Icon';
import { formatClock, formatDay, formatFull } from './format';
import { useDebouncedSearch } from './useDebouncedSearch';

type Scope = 'room' | 'all';

/** Characters of context shown before the first matched word of a long message. */
const LEAD = 40;
/** Characters of a message shown in a result. */
const SNIPPET = 220;

/**
 * The text of a hit around its first match, with every matched word in a <mark> (React
 * elements only: the text is never parsed as markup).
 */
function Highlighted({ text, terms }: { text: string; terms: readonly string[] }) {
  const ranges = highlightRanges(text, terms);
  const from = Math.max(0, (ranges[0]?.start ?? 0) - LEAD);
  const to = Math.min(text.length, from + SNIPPET);
  const parts: ReactNode[] = [from > 0 ? '…' : ''];
  let at = from;
  for (const range of ranges) {
    if (range.end <= at) continue;
    if (range.start >= to) break;
    parts.push(text.slice(at, range.start));
    parts.push(<mark key={range.start}>{text.slice(Math.max(at, range.start), range.end)}</mark>);
    at = range.end;
  }
  parts.push(text.slice(at, to), to < text.length ? '…' : '');
  return <>{parts}</>;
}

export function SearchPanel({
  id,
  conversations,
  room,
  roomLabel,
  names,
  onJump,
  onClose,
}: {
  id: string;
  conversations: Conversations;
  /** The conversation the panel was opened in. */
  room: string;
  /** "#general", a group's name, a person's name. */
  roomLabel: (room: string) => string;
  names: ReadonlyMap<string, string>;
  onJump: (hit: SearchHit) => void;
  onClose: () => void;
}) {
  const [query, setQuery] = useState('');
  const [scope, setScope] = useState<Scope>('room');
  const [active, setActive] = useState(0);
  const [ready, setReady] = useState(false);
  const [failed, setFailed] = useState(false);
  const [now] = useState(() => Date.now());
  const inputId = useId();
  const listId = useId();
  const noteId = useId();
  // Results follow what arrives, is edited or deleted while the panel is open.
  const [version, setVersion] = useState(0);
  useEffect(() => conversations.subscribe(() => setVersion((v) => v + 1)), [conversations]);

  // The first search builds the index from this device's store: start it now.
  useEffect(() => {
    let cancelled = false;
    conversations.search('').then(
      () => !cancelled && setReady(true),
      () => !cancelled && setFailed(true),
    );
    return () => {
      cancelled = true;
    };
  }, [conversations]);

  const trimmed = query.trim();
  const search = useCallback(
    (q: string): Promise<SearchResults> =>
      conversations.search(q, scope === 'room' ? { room } : {}),
    [conversations, scope, room],
  );
  const onError = useCallback(() => setFailed(true), []);
  const found = useDebouncedSearch(trimmed, trimmed === '' ? null : search, onError, version);
  const current = found && found.query === trimmed && trimmed !== '' ? found.result : null;
  const hits = current?.hits ?? [];
  const selected = Math.min(active, hits.length - 1);
  const optionId = (index: number) => `${listId}-${index}`;

  useEffect(() => {
    if (selected >= 0)
      document.getElementById(optionId(selected))?.scrollIntoView({ block: 'nearest' });
  });

  function onKey(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (hits.length === 0) return;
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive((Math.max(0, selected) + step + hits.length) % hits.length);
    } else if (event.key === 'Home' && hits.length > 0 && event.ctrlKey) {
      event.preventDefault();
      setActive(0);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      const hit = hits[Math.max(0, selected)];
      if (hit) onJump(hit);
    }
  }

  const status = failed
    ? t.conversation.search.failed
    : !ready
      ? t.conversation.search.preparing
      : trimmed === ''
        ? t.conversation.search.typeToSearch
        : current === null
          ? ''
          : current.total === 0
            ? t.conversation.search.none
            : t.conversation.search.found(hits.length, current.total);

  return (
    <aside
      id={id}
      className="search-panel"
      aria-label={t.conversation.search.title}
      onKeyDown={(event) => {
        if (event.key === 'Escape') {
          event.preventDefault();
          onClose();
        }
      }}
    >
      <div className="members-head">
        <h2 className="sidebar-title">{t.conversation.search.title}</h2>
        <button
          type="button"
          className="icon-button small"
          aria-label={t.conversation.search.close}
          onClick={onClose}
        >
          <Icon name="close" />
        </button>
      </div>
      <label htmlFor={inputId} className="visually-hidden">
        {t.conversation.search.label}
      </label>
      <div className="search-field">
        <Icon name="search" />
        <input
          id={inputId}
          type="search"
          role="combobox"
          autoFocus
          autoComplete="off"
          spellCheck={false}
          aria-autocomplete="list"
          aria-expanded={hits.length > 0}
          aria-controls={listId}
          aria-describedby={noteId}
          aria-activedescendant={hits.length > 0 ? optionId(Math.max(0, selected)) : undefined}
          placeholder={t.conversation.search.placeholder}
          value={query}
          onChange={(event) => {
            setQuery(event.target.value);
            setActive(0);
          }}
          onKeyDown={onKey}
        />
      </div>
      <fieldset className="search-scope">
        <legend className="visually-hidden">{t.conversation.search.scope}</legend>
        {(['room', 'all'] as const).map((value) => (
          <label key={value} className={scope === value ? 'chosen' : undefined}>
            <input
              type="radio"
              name={`${listId}-scope`}
              value={value}
              checked={scope === value}
              onChange={() => {
                setScope(value);
                setActive(0);
              }}
            />
            {value === 'room' ? t.conversation.search.thisRoom : t.conversation.search.allRooms}
          </label>
        ))}
      </fieldset>
      <p id={noteId} className="search-note">
        <Icon name="lock" /> {t.conversation.search.onDevice}
      </p>
      <p className="search-status" role="status">
        {status}
      </p>
      <ul
        id={listId}
        role="listbox"
        aria-label={t.conversation.search.results}
        className="search-hits"
      >
        {hits.map((hit, index) => (
          <li
            key={`${hit.room}\n${hit.seq}`}
            id={optionId(index)}
            role="option"
            aria-selected={index === selected}
            className={index === selected ? 'search-hit active' : 'search-hit'}
            // Keep the focus in the field; the click still lands.
            onMouseDown={(event) => event.preventDefault()}
            onClick={() => onJump(hit)}
          >
            <span className="search-hit-meta">
              {scope === 'all' ? (
                <span className="search-hit-room">{roomLabel(hit.room)}</span>
              ) : null}
              <span className="search-hit-author">
                {names.get(hit.sender) ?? t.conversation.someone}
              </span>
              <time dateTime={new Date(hit.at).toISOString()} title={formatFull(hit.at)}>
                {t.conversation.search.when(formatDay(hit.at, now), formatClock(hit.at))}
              </time>
            </span>
            <span className="search-hit-text">
              <Highlighted text={hit.text} terms={hit.terms} />
            </span>
          </li>
        ))}
      </ul>
    </aside>
  );
}
