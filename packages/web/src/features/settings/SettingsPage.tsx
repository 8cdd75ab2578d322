import { ChatError } from '@securechat/sdk';
import { useId, useState, type FormEvent } from 'react';
import { client } from '../../sdk/client';
import { useSession } from '../../session';
import { t } from '../../strings';
import { applyTheme, storedTheme, type ThemeChoice } from '../../theme';
import { Alert } from '../../ui/Alert';
import { errorMessage } from '../../ui/errors';
import { Field } from '../../ui/Field';
import { StrengthMeter, usePasswordCheck } from '../../ui/StrengthMeter';
import { AppShell } from '../shell/AppShell';

export function SettingsPage() {
  const { session } = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [mismatch, setMismatch] = useState(false);
  const [theme, setTheme] = useState<ThemeChoice>(storedTheme);
  const themeId = useId();
  const check = usePasswordCheck(next, session?.user.username ?? '');

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setDone(false);
    setMismatch(next !== confirm);
    if (next !== confirm) return;
    setBusy(true);
    try {
      await client.changePassword({ currentPassword: current, newPassword: next });
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone(true);
    } catch (failure) {
      setError(
        failure instanceof ChatError && failure.code === 'CHAT_ERR_LOGIN_FAILED'
          ? 'Your current password is not right.'
          : errorMessage(failure),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <AppShell label={t.settings.title}>
      <div className="page">
        <h1>{t.settings.title}</h1>
        <section className="card" aria-labelledby="password-title">
          <h2 id="password-title">{t.settings.passwordTitle}</h2>
          <p className="muted">{t.settings.passwordLead}</p>
          <form onSubmit={(e) => void submit(e)} noValidate className="narrow">
            {error ? <Alert>{error}</Alert> : null}
            {done ? <Alert kind="success">{t.settings.changed}</Alert> : null}
            <Field
              label={t.settings.current}
              type="password"
              autoComplete="current-password"
              required
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
            />
            <Field
              label={t.settings.next}
              type="password"
              autoComplete="new-password"
              required
              value={next}
              onChange={(e) => setNext(e.target.value)}
            />
            <StrengthMeter check={check} />
            <Field
              label={t.settings.confirm}
              type="password"
              autoComplete="new-password"
              required
              error={mismatch ? t.auth.mismatch : null}
              value={confirm}
              onChange={(e) => setConfirm(e.target.value)}
            />
            <button className="button primary" type="submit" disabled={busy}>
              {busy ? t.settings.changing : t.settings.change}
            </button>
          </form>
        </section>
        <section className="card" aria-labelledby="appearance-title">
          <h2 id="appearance-title">{t.settings.appearance}</h2>
          <div className="field narrow">
            <label htmlFor={themeId}>{t.settings.theme}</label>
            <select
              id={themeId}
              value={theme}
              onChange={(e) => {
                const choice = e.target.value as ThemeChoice;
                setTheme(choice);
                applyTheme(choice);
              }}
            >
              <option value="system">{t.settings.system}</option>
              <option value="light">{t.settings.light}</option>
              <option value="dark">{t.settings.dark}</option>
            </select>
          </div>
        </section>
      </div>
    </AppShell>
  );
}
