import { ChatError, checkPassword } from '@securechat/sdk';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation } from 'react-router';
import { client } from '../../sdk/client';
import { useSession } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { errorMessage } from '../../ui/errors';
import { usePasswordCheck } from '../../ui/Meter';
import { formatTime } from '../../ui/time';
import { usePageTitle } from '../../ui/usePageTitle';
import { AuthLayout } from './AuthLayout';
import { NewPasswordFields } from './NewPasswordFields';
import { tokenFromHash } from './token';

type LinkState =
  | { kind: 'checking' }
  | { kind: 'invalid'; message: string }
  | { kind: 'ready'; username: string; expiresAt: string }
  | { kind: 'done' };

/**
 * A password-reset link an administrator made (`/reset#token=…`): says whose password it
 * resets and what a reset does, then sets the new one. Nobody is signed in by it.
 */
export function ResetPage() {
  const location = useLocation();
  const token = tokenFromHash(location.hash);
  const { session, setSession } = useSession();
  usePageTitle(t.reset.title);
  const [state, setState] = useState<LinkState>(
    token === null ? { kind: 'invalid', message: t.auth.missingToken } : { kind: 'checking' },
  );
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<{ password?: string; confirm?: string }>({});
  const username = state.kind === 'ready' ? state.username : '';
  const check = usePasswordCheck(password, username);

  useEffect(() => {
    if (token === null) return;
    client.checkResetLink(token).then(
      (link) => setState({ kind: 'ready', ...link }),
      (failure: unknown) =>
        setState({
          kind: 'invalid',
          message:
            failure instanceof ChatError && failure.code === 'CHAT_ERR_RESET_LINK_INVALID'
              ? t.reset.invalid
              : errorMessage(failure),
        }),
    );
  }, [token]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy || token === null || state.kind !== 'ready') return;
    setError(null);
    setFieldErrors({});
    setBusy(true);
    try {
      const verdict = await checkPassword(password, { username });
      if (!verdict.ok) {
        setFieldErrors({ password: '' });
        setError(t.auth.weakRefused(verdict.message ?? t.auth.tooWeak));
        return;
      }
      if (password !== confirm) {
        setFieldErrors({ confirm: t.auth.mismatch });
        setError(t.auth.mismatch);
        return;
      }
      await client.resetPassword({ token, newPassword: password });
      // This browser's session, if it was this account's, ended with every other one.
      if (session?.user.username === username) setSession(null);
      setState({ kind: 'done' });
    } catch (failure) {
      if (failure instanceof ChatError && failure.code === 'CHAT_ERR_RESET_LINK_INVALID') {
        setState({ kind: 'invalid', message: t.reset.invalid });
      } else {
        if (failure instanceof ChatError && failure.field === 'newPassword') {
          setFieldErrors({ password: failure.message });
        }
        setError(errorMessage(failure));
      }
    } finally {
      setBusy(false);
    }
  }

  if (state.kind === 'done') {
    return (
      <AuthLayout title={t.reset.doneTitle} lead={t.reset.done}>
        <Link className="button primary wide" to="/login">
          {t.reset.signIn}
        </Link>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout title={t.reset.title} lead={t.reset.lead}>
      {state.kind === 'checking' ? (
        <p role="status" className="muted">
          {t.reset.checking}
        </p>
      ) : null}
      {state.kind === 'invalid' ? <Alert>{state.message}</Alert> : null}
      {state.kind === 'ready' ? (
        <>
          <p>
            <strong>{t.reset.forUser(state.username)}</strong>{' '}
            <span className="muted">
              {t.reset.expires}{' '}
              <time dateTime={state.expiresAt}>{formatTime(state.expiresAt)}</time>.
            </span>
          </p>
          <section className="callout" aria-labelledby="reset-consequences">
            <h2 id="reset-consequences">{t.reset.whatHappens}</h2>
            <ul>
              {t.reset.consequences.map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          </section>
          <form onSubmit={(e) => void submit(e)} noValidate>
            {error ? <Alert>{error}</Alert> : null}
            {/* For password managers: which account this new password belongs to. */}
            <input
              type="text"
              name="username"
              autoComplete="username"
              value={state.username}
              readOnly
              hidden
            />
            <NewPasswordFields
              label={t.reset.newPassword}
              password={password}
              confirm={confirm}
              check={check}
              errors={fieldErrors}
              onPassword={setPassword}
              onConfirm={setConfirm}
            />
            <Button variant="primary" type="submit" wide busy={busy}>
              {busy ? t.reset.submitting : t.reset.submit}
            </Button>
          </form>
        </>
      ) : null}
      <p className="switch">
        {t.auth.haveAccount} <Link to="/login">{t.auth.signIn}</Link>
      </p>
    </AuthLayout>
  );
}
