import { useState } from 'react';
import { t } from '../strings';
import { Alert } from './Alert';
import { Button } from './Button';
import { Dialog } from './Dialog';

/**
 * "Are you sure?" for an action that can't be undone: a title, what happens, Cancel and a
 * danger button. `onConfirm` answers null when done (the dialog closes) or the message of a
 * refusal (shown here). With no `confirm` label, it only explains (one Close button).
 */
export function ConfirmDialog({
  title,
  lead,
  confirm,
  busyLabel,
  onConfirm,
  onClose,
}: {
  title: string;
  lead: string;
  confirm?: string;
  busyLabel?: string;
  onConfirm?: () => Promise<string | null>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run() {
    if (!onConfirm) return;
    setBusy(true);
    setError(null);
    const failed = await onConfirm();
    setBusy(false);
    if (failed) setError(failed);
    else onClose();
  }

  return (
    <Dialog title={title} lead={lead} onClose={onClose}>
      {error ? <Alert>{error}</Alert> : null}
      <div className="dialog-actions">
        <Button variant="ghost" onClick={onClose}>
          {confirm ? t.rooms.cancel : t.rooms.close}
        </Button>
        {confirm ? (
          <Button variant="danger" busy={busy} onClick={() => void run()}>
            {busy && busyLabel ? busyLabel : confirm}
          </Button>
        ) : null}
      </div>
    </Dialog>
  );
}
