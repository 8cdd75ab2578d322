import { transcriptEntries, transcriptJson, type Conversations } from '@securechat/sdk';
import { useId, useState, type FormEvent } from 'react';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Dialog } from '../../ui/Dialog';
import { Field } from '../../ui/Field';
import { transcriptFileName, transcriptText } from './transcript';

/** Pages of history fetched at most for one export (each is one history request). */
const MAX_PAGES = 500;
const DAY_MS = 86_400_000;

/** Local midnight of a `<input type="date">` value. */
function dayStart(value: string): number | undefined {
  const [y, m, d] = value.split('-').map(Number);
  if (!y || !m || !d) return undefined;
  return new Date(y, m - 1, d).getTime();
}

/** Hand the browser a file to save. */
function download(content: string, name: string, type: string) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Export a conversation, or the days between two dates, as a text or JSON transcript. Made in
 * the browser from this device's decrypted copy: earlier messages are fetched (and opened)
 * first, until the period's start or the conversation's beginning is here.
 */
export function ExportDialog({
  conversations,
  room,
  label,
  name,
  names,
  onClose,
}: {
  conversations: Conversations;
  room: string;
  /** "#plans" or the person's name: the transcript's heading. */
  label: string;
  /** The room's plain name, for the file name. */
  name: string;
  names: ReadonlyMap<string, string>;
  onClose: () => void;
}) {
  const w = t.transcript;
  const failure = useFailureMessage();
  const [format, setFormat] = useState<'txt' | 'json'>('txt');
  const [scope, setScope] = useState<'all' | 'dates'>('all');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const formatName = useId();
  const scopeName = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setDone(null);
    let range: { from?: number; to?: number } = {};
    if (scope === 'dates') {
      const start = dayStart(from);
      const end = dayStart(to);
      if (start === undefined || end === undefined || start > end) {
        setError(w.badRange);
        return;
      }
      range = { from: start, to: end + DAY_MS };
    }
    setBusy(true);
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const view = conversations.view(room);
        const oldest = view.items[0]?.at;
        if (!view.more) break;
        if (range.from !== undefined && oldest !== undefined && oldest < range.from) break;
        await conversations.loadOlder(room);
      }
      const entries = transcriptEntries(
        conversations.view(room).items,
        names,
        range,
        t.conversation.someone,
      );
      const now = Date.now();
      if (format === 'json')
        download(
          transcriptJson({ id: room, name: label }, entries, now, range),
          transcriptFileName(name, now, 'json'),
          'application/json',
        );
      else
        download(
          transcriptText(
            label,
            entries,
            now,
            range,
            Intl.DateTimeFormat().resolvedOptions().timeZone,
          ),
          transcriptFileName(name, now, 'txt'),
          'text/plain;charset=utf-8',
        );
      setDone(w.done(entries.length));
    } catch (reason) {
      setError(failure(reason));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title={w.title} lead={w.lead} onClose={onClose}>
      {error ? <Alert>{error}</Alert> : null}
      <form className="export-form" onSubmit={(event) => void submit(event)} noValidate>
        <fieldset className="choice">
          <legend>{w.format}</legend>
          {(['txt', 'json'] as const).map((value) => (
            <label key={value}>
              <input
                type="radio"
                name={formatName}
                value={value}
                checked={format === value}
                onChange={() => setFormat(value)}
              />
              {value === 'txt' ? w.text : w.json}
            </label>
          ))}
        </fieldset>
        <fieldset className="choice">
          <legend>{w.range}</legend>
          {(['all', 'dates'] as const).map((value) => (
            <label key={value}>
              <input
                type="radio"
                name={scopeName}
                value={value}
                checked={scope === value}
                onChange={() => setScope(value)}
              />
              {value === 'all' ? w.all : w.dates}
            </label>
          ))}
        </fieldset>
        {scope === 'dates' ? (
          <div className="export-dates">
            <Field
              label={w.from}
              type="date"
              value={from}
              required
              onChange={(event) => setFrom(event.target.value)}
            />
            <Field
              label={w.to}
              type="date"
              value={to}
              required
              onChange={(event) => setTo(event.target.value)}
            />
          </div>
        ) : null}
        <p className="muted small" role="status">
          {busy ? w.exporting : (done ?? '')}
        </p>
        <div className="dialog-actions">
          <Button variant="ghost" onClick={onClose}>
            {t.conversation.cancel}
          </Button>
          <Button
            variant="primary"
            type="submit"
            busy={busy}
            disabled={scope === 'dates' && (from === '' || to === '')}
          >
            {w.export}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
