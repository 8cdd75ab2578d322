import { useEffect, useId, useRef, type ReactNode } from 'react';
import { t } from '../strings';
import { Icon } from './Icon';

/**
 * A modal dialog on the native <dialog>: the browser traps focus, Escape closes it, and the
 * page behind is inert. Mount it to open it; `onClose` unmounts it. Focus goes back to
 * whatever opened it.
 */
export function Dialog({
  title,
  lead,
  onClose,
  children,
}: {
  title: string;
  lead?: string;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const leadId = useId();
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      if (dialog?.open) dialog.close();
      opener?.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      aria-describedby={lead ? leadId : undefined}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      onClick={(event) => {
        // A click on the backdrop lands on the <dialog> itself.
        if (event.target === event.currentTarget) onClose();
      }}
    >
      <div className="dialog-box">
        <div className="dialog-head">
          <h2 id={titleId}>{title}</h2>
          <button
            type="button"
            className="icon-button"
            aria-label={t.rooms.close}
            onClick={onClose}
          >
            <Icon name="close" />
          </button>
        </div>
        {lead ? (
          <p id={leadId} className="dialog-lead">
            {lead}
          </p>
        ) : null}
        {children}
      </div>
    </dialog>
  );
}
