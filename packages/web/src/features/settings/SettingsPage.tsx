import { ChatError, checkPassword } from '@securechat/sdk';
import { useId, useState, useSyncExternalStore, type FormEvent } from 'react';
import { client } from '../../sdk/client';
import { useFailureMessage, useSession } from '../../session';
import { t } from '../../strings';
import { applyTheme, storedTheme, type ThemeChoice } from '../../theme';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Field } from '../../ui/Field';
import { StrengthMeter, usePasswordCheck } from '../../ui/Meter';
import {
  notificationSettings,
  notificationsSupported,
  onNotificationSettings,
  setNotificationSettings,
} from '../notifications/settings';
import { ProfileSettings } from '../profile/ProfileSettings';
import { PasskeySettings } from '../twofactor/PasskeySettings';
import { TwoFactorSettings } from '../twofactor/TwoFactorSettings';
import { BlockedPeople } from '../rooms/BlockedPeople';
import { AppShell } from '../shell/AppShell';
import { onPrivacySettings, privacySettings, setPrivacySettings } from './privacy';

interface FieldErrors {
  current?: string;
  /** '' marks the field invalid when the strength meter already says why. */
  next?: string;
  confirm?: string;
}

function ChangePassword() {
  const { session } = useSession();
  const errorMessage = useFailureMessage();
  const username = session?.user.username ?? '';
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [done, setDone] = useState(false);
  const check = usePasswordCheck(next, username);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setError(null);
    setFieldErrors({});
    setDone(false);
    setBusy(true);
    try {
      if (current === '') {
        setFieldErrors({ current: t.settings.currentMissing });
        return;
      }
      const verdict = await checkPassword(next, { username });
      if (!verdict.ok) {
        const reason = verdict.message ?? t.auth.tooWeak;
        setFieldErrors({ next: '' });
        setError(t.auth.weakRefused(reason));
        return;
      }
      if (next !== confirm) {
        setFieldErrors({ confirm: t.auth.mismatch });
        setError(t.auth.mismatch);
        return;
      }
      await client.changePassword({ currentPassword: current, newPassword: next });
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone(true);
    } catch (failure) {
      if (failure instanceof ChatError && failure.code === 'CHAT_ERR_LOGIN_FAILED') {
        setFieldErrors({ current: t.settings.wrongCurrent });
        setError(t.settings.wrongCurrent);
      } else {
        if (failure instanceof ChatError && failure.field === 'newPassword') {
          setFieldErrors({ next: '' });
        }
        setError(errorMessage(failure));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="password-title">
      <div className="card-intro">
        <h2 id="password-title">{t.settings.passwordTitle}</h2>
        <p className="muted">{t.settings.passwordLead}</p>
      </div>
      <form onSubmit={(e) => void submit(e)} noValidate className="narrow">
        {error ? <Alert>{error}</Alert> : null}
        {done ? <Alert kind="success">{t.settings.changed}</Alert> : null}
        <Field
          label={t.settings.current}
          type="password"
          autoComplete="current-password"
          required
          error={fieldErrors.current ?? null}
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
        <Field
          label={t.settings.next}
          type="password"
          autoComplete="new-password"
          required
          error={fieldErrors.next || null}
          invalid={fieldErrors.next !== undefined}
          value={next}
          onChange={(e) => setNext(e.target.value)}
        >
          <StrengthMeter check={check} />
        </Field>
        <Field
          label={t.settings.confirm}
          type="password"
          autoComplete="new-password"
          required
          error={fieldErrors.confirm ?? null}
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
        />
        <Button variant="primary" type="submit" busy={busy}>
          {busy ? t.settings.changing : t.settings.change}
        </Button>
      </form>
    </section>
  );
}

function Appearance() {
  const [theme, setTheme] = useState<ThemeChoice>(storedTheme);
  const themeId = useId();
  const hintId = `${themeId}-hint`;
  return (
    <section className="card" aria-labelledby="appearance-title">
      <div className="card-intro">
        <h2 id="appearance-title">{t.settings.appearance}</h2>
        <p className="muted">{t.settings.appearanceLead}</p>
      </div>
      <div className="field narrow">
        <label htmlFor={themeId}>{t.settings.theme}</label>
        <div className="select">
          <select
            id={themeId}
            aria-describedby={hintId}
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
        <div id={hintId} className="field-hint">
          {t.settings.themeHint}
        </div>
      </div>
    </section>
  );
}

function Notifications() {
  const w = t.notifications;
  const settings = useSyncExternalStore(onNotificationSettings, notificationSettings);
  const [refused, setRefused] = useState(false);
  const previewId = useId();
  const supported = notificationsSupported();

  async function setDesktop(on: boolean) {
    setRefused(false);
    if (on && Notification.permission !== 'granted') {
      const answer = await Notification.requestPermission();
      if (answer !== 'granted') {
        setRefused(true);
        return;
      }
    }
    setNotificationSettings({ desktop: on });
  }

  return (
    <section className="card" aria-labelledby="notifications-title">
      <div className="card-intro">
        <h2 id="notifications-title">{w.title}</h2>
        <p className="muted">{w.lead}</p>
      </div>
      {!supported ? (
        <p className="muted">{w.unsupported}</p>
      ) : (
        <div className="checks">
          {refused ? <Alert>{w.denied}</Alert> : null}
          <label className="check">
            <input
              type="checkbox"
              checked={settings.desktop}
              onChange={(event) => void setDesktop(event.target.checked)}
            />
            {w.desktop}
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={settings.sound}
              disabled={!settings.desktop}
              onChange={(event) => setNotificationSettings({ sound: event.target.checked })}
            />
            {w.sound}
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={settings.preview}
              disabled={!settings.desktop}
              aria-describedby={previewId}
              onChange={(event) => setNotificationSettings({ preview: event.target.checked })}
            />
            {w.preview}
          </label>
          <p id={previewId} className="field-hint">
            {w.previewHint}
          </p>
        </div>
      )}
    </section>
  );
}

function Privacy() {
  const w = t.settings.privacy;
  const settings = useSyncExternalStore(onPrivacySettings, privacySettings);
  const hintId = useId();
  return (
    <section className="card" aria-labelledby="privacy-title">
      <div className="card-intro">
        <h2 id="privacy-title">{w.title}</h2>
        <p className="muted">{w.lead}</p>
      </div>
      <div className="checks">
        <label className="check">
          <input
            type="checkbox"
            checked={settings.readReceipts}
            aria-describedby={hintId}
            onChange={(event) => setPrivacySettings({ readReceipts: event.target.checked })}
          />
          {w.readReceipts}
        </label>
        <p id={hintId} className="field-hint">
          {w.readReceiptsHint}
        </p>
      </div>
    </section>
  );
}

export function SettingsPage() {
  return (
    <AppShell label={t.settings.title} title={t.settings.title}>
      <div className="page">
        <header className="page-head">
          <h1>{t.settings.title}</h1>
          <p className="lead">{t.settings.lead}</p>
        </header>
        <ProfileSettings />
        <ChangePassword />
        <TwoFactorSettings />
        <PasskeySettings />
        <Appearance />
        <Notifications />
        <Privacy />
        <BlockedPeople />
      </div>
    </AppShell>
  );
}
