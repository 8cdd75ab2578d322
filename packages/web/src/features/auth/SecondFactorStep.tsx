import type { LoginResult, PendingSignIn } from '@securechat/sdk';
import { useCallback, useRef, useState } from 'react';
import { t } from '../../strings';
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
    return (
      <AuthLayout title={s.signInTitle} lead={s.signInLead}>
        <FreshCodeForm
          submitLabel={s.verify}
          busyLabel={s.verifying}
          onSubmit={async (proof) => onSignedIn(await pending.verify(proof))}
          failure={errorMessage}
          wide
        />
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
