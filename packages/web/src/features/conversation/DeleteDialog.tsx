import { Limits } from '@securechat/sdk';
import { useState, type FormEvent } from 'react';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Dialog } from '../../ui/Dialog';
import { Field } from '../../ui/Field';

/**
 * The server's rule for deleting a message: it issues a short-lived code, and the sender types
 * it back. `code` is the one it issued; `onConfirm` deletes with what was typed.
 */
export function DeleteDialog({
  code,
  lead = t.conversation.deleteLead,
  onConfirm,
  onClose,
}: {
  code: string;
  /** What deleting it does (a moderator deleting someone else's message is told so). */
  lead?: string;
  onConfirm: (typed: string) => Promise<string | null>;
  onClose: () => void;
}) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const failed = await onConfirm(typed.trim());
    setBusy(false);
    if (failed) setError(failed);
    else onClose();
  }

  return (
    <Dialog title={t.conversation.deleteTitle} lead={lead} onClose={onClose}>
      <p className="delete-code">
        {t.conversation.deleteCodeIs} <strong className="code">{code}</strong>
      </p>
      {error ? <Alert>{error}</Alert> : null}
      <form onSubmit={(event) => void submit(event)} noValidate>
        <Field
          label={t.conversation.deleteCode}
          inputMode="numeric"
          autoComplete="off"
          autoFocus
          maxLength={Limits.DELETE_CODE_DIGITS}
          pattern="[0-9]*"
          value={typed}
          onChange={(event) => setTyped(event.target.value)}
          invalid={error !== null}
        />
        <div className="dialog-actions">
          <Button variant="ghost" onClick={onClose}>
            {t.conversation.cancel}
          </Button>
          <Button
            variant="danger"
            type="submit"
            busy={busy}
            disabled={typed.trim().length !== Limits.DELETE_CODE_DIGITS}
          >
            {busy ? t.conversation.deleting : t.conversation.deleteConfirm}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
