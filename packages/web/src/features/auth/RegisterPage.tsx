import {
  ChatError,
  Limits,
  checkPassword,
  type LoginResult,
  type PendingSignIn,
  type ServerInfo,
} from '@securechat/sdk';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { client } from '../../sdk/client';
import { rememberDevice } from '../../sdk/knownDevice';
import { useSession } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { errorMessage } from '../../ui/errors';
import { Field } from '../../ui/Field';
import { usePasswordCheck } from '../../ui/Meter';
import { usePageTitle } from '../../ui/usePageTitle';
import { AuthLayout } from './AuthLayout';
import { NewPasswordFields } from './NewPasswordFields';
import { SecondFactorStep } from './SecondFactorStep';
import { tokenFromHash } from './token';

export type RegisterMode = 'register' | 'setup' | 'invite';

const copy = {
  register: { title: t.auth.registerTitle, lead: t.auth.registerLead },
  setup: { title: t.auth.setupTitle, lead: t.auth.setupLead },
  invite: { title: t.auth.inviteTitle, lead: t.auth.inviteLead },
} as const;

interface FieldErrors {
  username?: string;
  /** '' marks the field invalid when the reason is shown elsewhere (the strength meter). */
  password?: string;
  confirm?: string;
}

/** Registration, first-administrator setup and invitation sign-up: one form, three doors. */
export function RegisterPage({ mode }: { mode: RegisterMode }) {
  const { setSession } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const token = mode === 'register' ? null : tokenFromHash(location.hash);
  const { title, lead } = copy[mode];
  usePageTitle(title);
  const [info, setInfo] = useState<ServerInfo | null>(null);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const check = usePasswordCheck(password, username);
  const [pending, setPending] = useState<PendingSignIn | null>(null);

  function signedIn(result: LoginResult) {
    rememberDevice(result);
    setSession({ user: result.user, device: result.device });
    void navigate('/', { replace: true });
  }

  useEffect(() => {
    client.serverInfo().then(setInfo, () => setInfo(null));
  }, []);

  const closed = mode === 'register' && info?.registration === 'invite';
  const limits = info?.limits ?? {
    usernameMinLength: Limits.USERNAME_MIN_LENGTH,
    usernameMaxLength: Limits.USERNAME_MAX_LENGTH,
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setError(null);
    setFieldErrors({});
    setBusy(true);
    try {
      // The policy lives in the client (the server never sees the password): refuse here,
      // with the reason, before any request.
      const verdict = await checkPassword(password, { username });
      if (!verdict.ok) {
        const reason = verdict.message ?? t.auth.tooWeak;
        setFieldErrors({ password: '' });
        setError(t.auth.weakRefused(reason));
        return;
      }
      if (password !== confirm) {
        setFieldErrors({ confirm: t.auth.mismatch });
        setError(t.auth.mismatch);
        return;
      }
      // One outcome: the answer that creates the account also signs this device in. A
      // refusal (name taken, too many registrations) means no account was created.
      // On a server that requires two-factor sign-in, the account exists now and its first
      // session waits for the authenticator app to be set up.
      const outcome = await client.signUp({
        username,
        password,
        ...(mode === 'setup' && token ? { setupToken: token } : {}),
        ...(mode === 'invite' && token ? { inviteToken: token } : {}),
      });
      if (outcome.kind === 'signed-in') signedIn(outcome.result);
      else setPending(outcome.pending);
    } catch (failure) {
      if (failure instanceof ChatError && failure.field === 'password') {
        setFieldErrors({ password: failure.message });
      } else if (
        failure instanceof ChatError &&
        (failure.code === 'CHAT_ERR_USERNAME_INVALID' || failure.code === 'CHAT_ERR_USERNAME_TAKEN')
      ) {
        setFieldErrors({ username: failure.message });
      }
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  }

  if (pending) {
    // Starting again means signing in: the account exists.
    return (
      <SecondFactorStep
        pending={pending}
        onSignedIn={signedIn}
        onRestart={() => void navigate('/login')}
      />
    );
  }

  if (mode !== 'register' && token === null) {
    return (
      <AuthLayout title={title} lead={lead}>
        <Alert>{t.auth.missingToken}</Alert>
        <p className="switch">
          {t.auth.haveAccount} <Link to="/login">{t.auth.signIn}</Link>
        </p>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout title={title} lead={lead}>
      {closed ? <Alert kind="info">{t.auth.inviteOnly}</Alert> : null}
      {closed ? null : (
        <form onSubmit={(e) => void submit(e)} noValidate>
          {error ? <Alert>{error}</Alert> : null}
          <Field
            label={t.auth.username}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            maxLength={limits.usernameMaxLength}
            hint={t.auth.usernameHint(limits.usernameMinLength, limits.usernameMaxLength)}
            error={fieldErrors.username ?? null}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
          <NewPasswordFields
            label={t.auth.password}
            password={password}
            confirm={confirm}
            check={check}
            errors={fieldErrors}
            onPassword={setPassword}
            onConfirm={setConfirm}
          />
          <Button variant="primary" type="submit" wide busy={busy}>
            {busy ? t.auth.creating : t.auth.createAccount}
          </Button>
        </form>
      )}
      <p className="switch">
        {t.auth.haveAccount} <Link to="/login">{t.auth.signIn}</Link>
      </p>
    </AuthLayout>
  );
}
