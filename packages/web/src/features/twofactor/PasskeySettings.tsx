import { WebAuthnError, startRegistration, browserSupportsWebAuthn } from '@simplewebauthn/browser';
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { ChatError, type PasskeyInfo } from '@securechat/sdk';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { client } from '../../sdk/client';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Dialog } from '../../ui/Dialog';
import { Field } from '../../ui/Field';
import { formatDay, formatTime } from '../../ui/time';

/** Remove a passkey: the password first (the server wants a fresh re-authentication). */
function RemovePasskey({
  passkey,
  onRemoved,
  onClose,
}: {
  passkey: PasskeyInfo;
  onRemoved: () => void;
  onClose: () => void;
}) {
  const s = t.twoFactor.passkeys;
  const failure = useFailureMessage();
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy || password === '') return;
    setBusy(true);
    setError(null);
    try {
      await client.twoFactor.removePasskey(passkey.id, password);
      onRemoved();
      onClose();
    } catch (reason) {
      setError(
        reason instanceof ChatError && reason.code === 'CHAT_ERR_LOGIN_FAILED'
          ? s.wrongPassword
          : failure(reason),
      );
      setBusy(false);
    }
  }

  return (
    <Dialog title={s.removeTitle(passkey.name)} lead={s.removeLead} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {error ? <Alert>{error}</Alert> : null}
        <Field
          label={s.password}
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <div className="dialog-actions">
          <Button variant="ghost" onClick={onClose}>
            {t.twoFactor.cancel}
          </Button>
          <Button variant="danger" type="submit" busy={busy}>
            {busy ? s.removing : s.remove}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** One passkey: its name (renamed in place), when it was added and last used, remove. */
function PasskeyRow({
  passkey,
  onChanged,
  onRemove,
}: {
  passkey: PasskeyInfo;
  onChanged: () => void;
  onRemove: () => void;
}) {
  const s = t.twoFactor.passkeys;
  const failure = useFailureMessage();
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(passkey.name);
  const [error, setError] = useState<string | null>(null);

  async function rename(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await client.twoFactor.renamePasskey(passkey.id, name);
      setRenaming(false);
      onChanged();
    } catch (reason) {
      setError(failure(reason));
    }
  }

  return (
    <li className="list-row">
      <div className="list-main">
        {renaming ? (
          <form onSubmit={(e) => void rename(e)} noValidate className="passkey-rename">
            {error ? <Alert>{error}</Alert> : null}
            <Field
              label={s.renameLabel(passkey.name)}
              maxLength={64}
              required
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
            <div className="two-factor-actions">
              <Button variant="primary" type="submit">
                {s.save}
              </Button>
              <Button onClick={() => setRenaming(false)}>{t.twoFactor.cancel}</Button>
            </div>
          </form>
        ) : (
          <>
            <div className="list-title">{passkey.name}</div>
            <div className="list-meta">
              {s.addedOn}{' '}
              <time dateTime={passkey.createdAt} title={formatTime(passkey.createdAt)}>
                {formatDay(passkey.createdAt)}
              </time>
              <span aria-hidden="true"> · </span>
              {passkey.lastUsedAt ? (
                <>
                  {s.lastUsed}{' '}
                  <time dateTime={passkey.lastUsedAt} title={formatTime(passkey.lastUsedAt)}>
                    {formatDay(passkey.lastUsedAt)}
                  </time>
                </>
              ) : (
                s.neverUsed
              )}
            </div>
          </>
        )}
      </div>
      {renaming ? null : (
        <div className="two-factor-actions" role="group" aria-label={s.actions(passkey.name)}>
          <Button variant="ghost" onClick={() => setRenaming(true)}>
            {s.rename}
          </Button>
          <Button variant="ghost" onClick={onRemove}>
            {s.remove}
          </Button>
        </div>
      )}
    </li>
  );
}

/** Settings › Passkeys: add (named), rename and remove passkeys used as a second factor. */
export function PasskeySettings() {
  const s = t.twoFactor.passkeys;
  const failure = useFailureMessage();
  const [passkeys, setPasskeys] = useState<PasskeyInfo[] | null>(null);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [removing, setRemoving] = useState<PasskeyInfo | null>(null);
  const supported = browserSupportsWebAuthn();

  const reload = useCallback(() => {
    client.twoFactor.passkeys().then(setPasskeys, (reason: unknown) => setError(failure(reason)));
  }, [failure]);
  useEffect(reload, [reload]);

  async function add(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setError(null);
    setNotice(null);
    setBusy(true);
    // The browser's own refusal (cancelled, or this authenticator already has one), apart
    // from the server's answers.
    let ceremony: unknown = null;
    try {
      const added = await client.twoFactor.addPasskey(name.trim() || 'Passkey', (options) =>
        startRegistration({
          optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON,
        }).catch((reason: unknown) => {
          ceremony = reason;
          throw reason;
        }),
      );
      setName('');
      setNotice(s.added(added.name));
      reload();
    } catch (reason) {
      setError(
        ceremony === null
          ? failure(reason)
          : ceremony instanceof WebAuthnError &&
              ceremony.code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED'
            ? s.alreadyThere
            : t.twoFactor.passkeyCancelled,
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="passkeys-title">
      <div className="card-intro">
        <h2 id="passkeys-title">{s.title}</h2>
        <p className="muted">{s.lead}</p>
      </div>
      {error ? <Alert>{error}</Alert> : null}
      {notice ? <Alert kind="success">{notice}</Alert> : null}
      {passkeys && passkeys.length > 0 ? (
        <ul className="list" aria-label={s.list}>
          {passkeys.map((passkey) => (
            <PasskeyRow
              key={passkey.id}
              passkey={passkey}
              onChanged={reload}
              onRemove={() => setRemoving(passkey)}
            />
          ))}
        </ul>
      ) : passkeys ? (
        <p className="muted">{s.none}</p>
      ) : null}
      {supported ? (
        <form onSubmit={(e) => void add(e)} noValidate className="narrow passkey-add">
          <Field
            label={s.name}
            hint={s.nameHint}
            maxLength={64}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
          <Button variant="primary" type="submit" busy={busy}>
            {busy ? s.adding : s.add}
          </Button>
        </form>
      ) : (
        <p className="muted">{s.unsupported}</p>
      )}
      {removing ? (
        <RemovePasskey passkey={removing} onRemoved={reload} onClose={() => setRemoving(null)} />
      ) : null}
    </section>
  );
}
