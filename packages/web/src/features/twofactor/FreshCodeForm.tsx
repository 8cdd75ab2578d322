import type { SecondFactorProof } from '@securechat/sdk';
import { useState, type FormEvent, type ReactNode } from 'react';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Field } from '../../ui/Field';

/**
 * A code from the authenticator app, or (switched to) one of the recovery codes: the sign-in's
 * second step and the confirmation before turning two-factor off or making new codes.
 */
export function FreshCodeForm({
  submitLabel,
  busyLabel,
  onSubmit,
  failure,
  danger = false,
  wide = false,
  children,
}: {
  submitLabel: string;
  busyLabel: string;
  onSubmit: (proof: SecondFactorProof) => Promise<void>;
  failure: (reason: unknown) => string;
  danger?: boolean;
  wide?: boolean;
  /** More buttons after the submit one (Cancel). */
  children?: ReactNode;
}) {
  const s = t.twoFactor;
  const [recovery, setRecovery] = useState(false);
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setError(null);
    if (value.trim() === '') {
      setError(recovery ? s.recoveryHint : s.codeMissing);
      return;
    }
    setBusy(true);
    try {
      await onSubmit(recovery ? { recoveryCode: value } : { code: value });
    } catch (reason) {
      setError(failure(reason));
      setValue('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={(e) => void submit(e)} noValidate className={wide ? undefined : 'narrow'}>
      {error ? <Alert>{error}</Alert> : null}
      {recovery ? (
        <Field
          key="recovery"
          label={s.recoveryCode}
          hint={s.recoveryHint}
          name="recovery-code"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          maxLength={32}
          required
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
      ) : (
        <Field
          key="code"
          label={s.code}
          hint={s.codeHint}
          name="totp-code"
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={9}
          required
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
      )}
      <div className="two-factor-actions">
        <Button variant={danger ? 'danger' : 'primary'} type="submit" busy={busy} wide={wide}>
          {busy ? busyLabel : submitLabel}
        </Button>
        {children}
      </div>
      <p className="two-factor-toggle">
        <Button
          variant="ghost"
          onClick={() => {
            setRecovery(!recovery);
            setValue('');
            setError(null);
          }}
        >
          {recovery ? s.useApp : s.useRecovery}
        </Button>
      </p>
    </form>
  );
}
