import type { TotpSetup } from '@securechat/sdk';
import QRCode from 'qrcode';
import { useEffect, useState, type FormEvent } from 'react';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Field } from '../../ui/Field';

/**
 * Setting up an authenticator app: the secret as a QR code (a data: image, which the CSP's
 * img-src allows) and as text, then its first code. `finish` resolves to the recovery codes.
 */
export function TotpEnrolment({
  start,
  finish,
  onDone,
  onCancel,
  failure,
}: {
  start: () => Promise<TotpSetup>;
  finish: (code: string) => Promise<string[]>;
  onDone: (recoveryCodes: string[]) => void;
  onCancel?: () => void;
  failure: (reason: unknown) => string;
}) {
  const s = t.twoFactor;
  const [setup, setSetup] = useState<(TotpSetup & { qr: string | null }) | null>(null);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    start().then(
      async (made) => {
        const qr = await QRCode.toDataURL(made.uri, {
          errorCorrectionLevel: 'M',
          margin: 2,
          width: 360,
        }).catch(() => null);
        if (live) setSetup({ ...made, qr });
      },
      (reason: unknown) => {
        if (live) setError(failure(reason));
      },
    );
    return () => {
      live = false;
    };
  }, [start, failure]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setError(null);
    if (!/^\s*\d{3}\s*\d{3}\s*$/.test(code)) {
      setError(s.codeMissing);
      return;
    }
    setBusy(true);
    try {
      onDone(await finish(code));
    } catch (reason) {
      setError(failure(reason));
      setBusy(false);
    }
  }

  if (!setup) {
    return error ? (
      <Alert>{error}</Alert>
    ) : (
      <p className="muted" role="status">
        <span className="spinner" aria-hidden="true" /> {s.starting}
      </p>
    );
  }

  // Four-letter groups read more easily; authenticator apps ignore the spaces.
  const grouped = setup.secret.replace(/(.{4})(?=.)/g, '$1 ');
  return (
    <form className="totp-enrol narrow" onSubmit={(e) => void submit(e)} noValidate>
      {error ? <Alert>{error}</Alert> : null}
      <p>{s.scan}</p>
      {setup.qr ? (
        <img className="totp-qr" src={setup.qr} alt={s.qrAlt} width={180} height={180} />
      ) : null}
      <Field
        label={s.secretLabel}
        hint={s.secretHint}
        className="totp-secret"
        readOnly
        spellCheck={false}
        value={grouped}
        onFocus={(e) => e.target.select()}
      />
      <Field
        label={s.code}
        hint={s.codeHint}
        name="totp-code"
        inputMode="numeric"
        autoComplete="one-time-code"
        maxLength={9}
        required
        value={code}
        onChange={(e) => setCode(e.target.value)}
      />
      <div className="two-factor-actions">
        <Button variant="primary" type="submit" busy={busy}>
          {busy ? s.confirming : s.confirm}
        </Button>
        {onCancel ? (
          <Button type="button" onClick={onCancel}>
            {s.cancel}
          </Button>
        ) : null}
      </div>
    </form>
  );
}
