import type { LoginResult, PendingSignIn } from '@securechat/sdk';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { client, forgetThisDevice } from '../../sdk/client';
import { knownDevice, rememberDevice } from '../../sdk/knownDevice';
import { useSession } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { errorMessage } from '../../ui/errors';
import { Field } from '../../ui/Field';
import { usePageTitle } from '../../ui/usePageTitle';
import { markNewDevice } from '../shell/NewDeviceNotice';
import { AuthLayout } from './AuthLayout';
import { SecondFactorStep } from './SecondFactorStep';

export function LoginPage() {
  const { setSession } = useSession();
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<PendingSignIn | null>(null);
  usePageTitle(t.auth.signInTitle);

  function signedIn(result: LoginResult) {
    const replaced = rememberDevice(result);
    // The server no longer knows the kept device (removed elsewhere): its store is dead.
    if (replaced)
      void forgetThisDevice({ userId: result.user.id, deviceId: replaced.id }).catch(
        () => undefined,
      );
    if (result.deviceSecret !== undefined) markNewDevice();
    setSession({ user: result.user, device: result.device });
    void navigate('/', { replace: true });
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      // The device this browser already is for this account, with its keys and history.
      const device = knownDevice(username);
      const outcome = await client.signIn({ username, password, ...(device ? { device } : {}) });
      if (outcome.kind === 'signed-in') {
        signedIn(outcome.result);
        return;
      }
      // The password was right; the second factor comes next, still without a session.
      setPassword('');
      setBusy(false);
      setPending(outcome.pending);
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
    }
  }

  if (pending) {
    return (
      <SecondFactorStep
        pending={pending}
        onSignedIn={signedIn}
        onRestart={() => setPending(null)}
      />
    );
  }

  return (
    <AuthLayout title={t.auth.signInTitle} lead={t.auth.signInLead}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {error ? <Alert>{error}</Alert> : null}
        <Field
          label={t.auth.username}
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <Field
          label={t.auth.password}
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <Button variant="primary" type="submit" wide busy={busy}>
          {busy ? t.auth.signingIn : t.auth.signIn}
        </Button>
      </form>
      <p className="switch">
        {t.auth.needAccount} <Link to="/register">{t.auth.createAnAccount}</Link>
      </p>
    </AuthLayout>
  );
}
