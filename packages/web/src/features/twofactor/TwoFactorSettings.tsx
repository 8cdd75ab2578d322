import type { SecondFactorProof, TwoFactorStatus } from '@securechat/sdk';
import { useCallback, useEffect, useState } from 'react';
import { client } from '../../sdk/client';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { FreshCodeForm } from './FreshCodeForm';
import { RecoveryCodes } from './RecoveryCodes';
import { TotpEnrolment } from './TotpEnrolment';

/** What the card shows besides the state: a form, or the codes just made. */
type Mode =
  | { kind: 'idle' }
  | { kind: 'enrol' }
  | { kind: 'codes'; codes: string[] }
  | { kind: 'regenerate' }
  | { kind: 'disable' };

/** Settings › Two-factor sign-in: set up an authenticator app, new recovery codes, turn off. */
export function TwoFactorSettings() {
  const failure = useFailureMessage();
  const s = t.twoFactor;
  const [status, setStatus] = useState<TwoFactorStatus | null>(null);
  const [mode, setMode] = useState<Mode>({ kind: 'idle' });
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const reload = useCallback(() => {
    client.twoFactor.status().then(setStatus, (reason: unknown) => setError(failure(reason)));
  }, [failure]);
  useEffect(reload, [reload]);

  const start = useCallback(() => client.twoFactor.startTotp(), []);
  const finish = useCallback((code: string) => client.twoFactor.confirmTotp(code), []);

  async function regenerate(proof: SecondFactorProof) {
    const codes = await client.twoFactor.regenerateRecoveryCodes(proof);
    setMode({ kind: 'codes', codes });
  }

  async function disable(proof: SecondFactorProof) {
    await client.twoFactor.disableTotp(proof);
    setMode({ kind: 'idle' });
    setNotice(s.turnedOff);
    reload();
  }

  const cancel = (
    <Button type="button" onClick={() => setMode({ kind: 'idle' })}>
      {s.cancel}
    </Button>
  );

  return (
    <section className="card" aria-labelledby="two-factor-title">
      <div className="card-intro">
        <h2 id="two-factor-title">{s.title}</h2>
        <p className="muted">{status?.totp ? s.leadOn : s.leadOff}</p>
      </div>
      {error ? <Alert>{error}</Alert> : null}
      {notice ? <Alert kind="success">{notice}</Alert> : null}
      {status === null ? null : mode.kind === 'codes' ? (
        <RecoveryCodes
          codes={mode.codes}
          onDone={() => {
            setMode({ kind: 'idle' });
            reload();
          }}
        />
      ) : mode.kind === 'enrol' ? (
        <TotpEnrolment
          start={start}
          finish={finish}
          failure={failure}
          onDone={(codes) => setMode({ kind: 'codes', codes })}
          onCancel={() => setMode({ kind: 'idle' })}
        />
      ) : !status.totp ? (
        <Button
          variant="primary"
          onClick={() => {
            setNotice(null);
            setMode({ kind: 'enrol' });
          }}
        >
          {s.setUp}
        </Button>
      ) : mode.kind === 'regenerate' ? (
        <>
          <p className="muted">{s.newCodesLead}</p>
          <FreshCodeForm
            submitLabel={s.newCodes}
            busyLabel={s.working}
            onSubmit={regenerate}
            failure={failure}
          >
            {cancel}
          </FreshCodeForm>
        </>
      ) : mode.kind === 'disable' ? (
        <>
          <p className="muted">{s.turnOffLead}</p>
          <FreshCodeForm
            submitLabel={s.turnOff}
            busyLabel={s.working}
            onSubmit={disable}
            failure={failure}
            danger
          >
            {cancel}
          </FreshCodeForm>
        </>
      ) : (
        <>
          <p className="two-factor-state">{s.codesLeft(status.recoveryCodesLeft)}</p>
          {status.required ? <p className="muted">{s.required}</p> : null}
          <div className="two-factor-actions">
            <Button onClick={() => setMode({ kind: 'regenerate' })}>{s.newCodes}</Button>
            {status.required ? null : (
              <Button variant="danger" onClick={() => setMode({ kind: 'disable' })}>
                {s.turnOff}
              </Button>
            )}
          </div>
        </>
      )}
    </section>
  );
}
