import { ChatError, Limits, type ServerInfo } from '@securechat/sdk';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { client } from '../../sdk/client';
import { useSession } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { errorMessage } from '../../ui/errors';
import { Field } from '../../ui/Field';
import { StrengthMeter, usePasswordCheck } from '../../ui/StrengthMeter';
import { AuthLayout } from './AuthLayout';

export type RegisterMode = 'register' | 'setup' | 'invite';

/** The token of a setup or invitation link; it travels in the fragment, never to the server's logs. */
function tokenFromHash(hash: string): string | null {
  const value = new URLSearchParams(hash.replace(/^#/, '')).get('token');
  return value && /^[A-Za-z0-9_-]{16,128}$/.test(value) ? value : null;
}

export function RegisterPage({ mode }: { mode: RegisterMode }) {
  const { setSession } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const token = mode === 'register' ? null : tokenFromHash(location.hash);
  const [info, setInfo] = useState<ServerInfo | null>(null);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<{
    username?: string;
    password?: string;
    confirm?: string;
  }>({});
  const check = usePasswordCheck(password, username);

  useEffect(() => {
    client.serverInfo().then(setInfo, () => setInfo(null));
  }, []);

  const title =
    mode === 'setup'
      ? t.auth.setupTitle
      : mode === 'invite'
        ? t.auth.inviteTitle
        : t.auth.registerTitle;
  const lead =
    mode === 'setup'
      ? t.auth.setupLead
      : mode === 'invite'
        ? t.auth.inviteLead
        : t.auth.registerLead;
  const closed = mode === 'register' && info?.registration === 'invite';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (password !== confirm) {
      setFieldErrors({ confirm: t.auth.mismatch });
      return;
    }
    setFieldErrors({});
    setBusy(true);
    try {
      await client.register({
        username,
        password,
        ...(mode === 'setup' && token ? { setupToken: token } : {}),
        ...(mode === 'invite' && token ? { inviteToken: token } : {}),
      });
      const result = await client.login({ username, password });
      setSession({ user: result.user, device: result.device });
      void navigate('/', { replace: true });
    } catch (failure) {
      if (failure instanceof ChatError && failure.field === 'password') {
        setFieldErrors({ password: failure.message });
      } else if (failure instanceof ChatError && failure.code === 'CHAT_ERR_USERNAME_INVALID') {
        setFieldErrors({ username: failure.message });
      }
      setError(errorMessage(failure));
      setBusy(false);
    }
  }

  if (mode !== 'register' && token === null) {
    return (
      <AuthLayout title={title} lead={lead}>
        <Alert>{t.auth.missingToken}</Alert>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout title={title} lead={lead}>
      {closed ? <Alert>{t.auth.inviteOnly}</Alert> : null}
      <form onSubmit={(e) => void submit(e)} noValidate>
        {error ? <Alert>{error}</Alert> : null}
        <Field
          label={t.auth.username}
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          maxLength={64}
          hint={t.auth.usernameHint(Limits.USERNAME_MIN_LENGTH, Limits.USERNAME_MAX_LENGTH)}
          error={fieldErrors.username ?? null}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <Field
          label={t.auth.password}
          name="new-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={Limits.PASSWORD_MIN_LENGTH}
          error={fieldErrors.password ?? null}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <StrengthMeter check={check} />
        <Field
          label={t.auth.confirmPassword}
          name="confirm-password"
          type="password"
          autoComplete="new-password"
          required
          error={fieldErrors.confirm ?? null}
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
        />
        <button className="button primary wide" type="submit" disabled={busy || closed}>
          {busy ? t.auth.creating : t.auth.createAccount}
        </button>
      </form>
      <p className="switch">
        {t.auth.haveAccount} <Link to="/login">{t.auth.signIn}</Link>
      </p>
    </AuthLayout>
  );
}
