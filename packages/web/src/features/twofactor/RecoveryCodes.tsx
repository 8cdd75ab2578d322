import { useState } from 'react';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';

/** Recovery codes, shown once: a list to copy or download, and a button to go on. */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const s = t.twoFactor;
  const [copied, setCopied] = useState(false);
  const download = `data:text/plain;charset=utf-8,${encodeURIComponent(
    `${s.recoveryTitle}\n\n${codes.join('\n')}\n`,
  )}`;

  async function copy() {
    await navigator.clipboard.writeText(codes.join('\n')).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  }

  return (
    <div className="recovery-codes">
      <h3>{s.recoveryTitle}</h3>
      <p className="muted">{s.recoveryLead}</p>
      <ol className="recovery-list" aria-label={s.recoveryList}>
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      {copied ? <Alert kind="success">{s.copied}</Alert> : null}
      <div className="two-factor-actions">
        <Button type="button" onClick={() => void copy()}>
          {s.copyCodes}
        </Button>
        <a className="button secondary" href={download} download="securechat-recovery-codes.txt">
          {s.downloadCodes}
        </a>
        <Button variant="primary" type="button" onClick={onDone}>
          {s.saved}
        </Button>
      </div>
    </div>
  );
}
