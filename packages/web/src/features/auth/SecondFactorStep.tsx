import type { LoginResult, PendingSignIn } from '@securechat/sdk';
import { startAuthentication } from '@simplewebauthn/browser';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { useCallback, useRef, useState } from 'react';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { errorMessage } from '../../ui/errors';
import { usePageTitle } from '../../ui/usePageTitle';
import { FreshCodeForm } from '../twofactor/FreshCodeForm';
import { RecoveryCodes } from '../twofactor/RecoveryCodes';
import { TotpEnrolment } from '../twofactor/TotpEnrolment';
import { AuthLayout } from './AuthLayout';

/**
 * A sign-in's second step, after the password: the authenticator app's code (or a recovery
 * code), or — on a server that requires two-factor, for an account without it — setting up
 * the app, then the recovery codes. No session exists until it succeeds.
 */
export function SecondFactorStep({
  pending,
  onSignedIn,
  onRestart,
}: {
  pending: PendingSignIn;
  onSignedIn: (result: LoginResult) => void;
  onRestart: () => void;
}) {
  const s = t.twoFactor;
  const enrol = pending.step === 'enrol';
  usePageTitle(enrol ? s.enrolTitle : s.signInTitle);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [passkeyBusy, setPasskeyBusy] = useState(false);
  const [passkeyError, setPasskeyError] = useState<string | null>(null);
  const totp = pending.methods.includes('totp');
  const passkey = pending.methods.includes('passkey');

  async function signInWithPasskey() {
    setPasskeyBusy(true);
    setPasskeyError(null);
    let ceremony = false;
    try {
      const result = await pending.verifyPasskey((options) =>
        startAuthentication({
          optionsJSON: options as unknown as PublicKeyCredentialRequestOptionsJSON,
        }).catch((reason: unknown) => {
          ceremony = true;
          throw reason;
        }),
      );
      onSignedIn(result);
    } catch (reason) {
      setPasskeyError(ceremony ? s.passkeyCancelled : errorMessage(reason));
      setPasskeyBusy(false);
    }
  }
  const enrolled = useRef<LoginResult | null>(null);

  const start = useCallback(() => pending.enrolStart(), [pending]);
  const finish = useCallback(
    async (code: string) => {
      const { recoveryCodes, ...result } = await pending.enrolFinish(code);
      enrolled.current = result;
      return recoveryCodes;
    },
    [pending],
  );

  const restart = (
    <p className="switch">
      <Button variant="ghost" onClick={onRestart}>
        {s.restart}
      </Button>
    </p>
  );

  if (!enrol) {
    const lead = totp && passkey ? s.signInLeadBoth : passkey ? s.signInLeadPasskey : s.signInLead;
    return (
      <AuthLayout title={s.signInTitle} lead={lead}>
        {passkey ? (
          <div className="passkey-sign-in">
            {passkeyError ? <Alert>{passkeyError}</Alert> : null}
            <Button
              variant={totp ? 'secondary' : 'primary'}
              wide
              busy={passkeyBusy}
              onClick={() => void signInWithPasskey()}
            >
              {passkeyBusy ? s.usingPasskey : s.usePasskey}
            </Button>
          </div>
        ) : null}
        {totp ? (
          <FreshCodeForm
            submitLabel={s.verify}
            busyLabel={s.verifying}
            onSubmit={async (proof) => onSignedIn(await pending.verify(proof))}
            failure={errorMessage}
            wide
          />
        ) : null}
        {restart}
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title={s.enrolTitle} lead={s.enrolLead}>
      {codes ? (
        <RecoveryCodes
          codes={codes}
          onDone={() => {
            if (enrolled.current) onSignedIn(enrolled.current);
          }}
        />
      ) : (
        <>
          <TotpEnrolment start={start} finish={finish} failure={errorMessage} onDone={setCodes} />
          {restart}
        </>
      )}
    </AuthLayout>
  );
}
