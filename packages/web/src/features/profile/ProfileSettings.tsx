import { ChatError, Limits } from '@securechat/sdk';
import { useRef, useState, type FormEvent } from 'react';
import { useFailureMessage, useSession } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Field } from '../../ui/Field';
import { useRealtime } from '../conversation/RealtimeProvider';
import { usePerson } from './avatars';
import { avatarFrom } from './resize';

/**
 * Settings › Profile: the display name and avatar other members see. Both travel end-to-end
 * encrypted into the rooms this user is in; the server never has them.
 */
export function ProfileSettings() {
  const w = t.profileSettings;
  const { session } = useSession();
  const { conversations, me } = useRealtime();
  const failure = useFailureMessage();
  const shared = usePerson(conversations, me);
  const username = session?.user.username ?? '';
  const [name, setName] = useState<string | null>(null);
  /** A new picture chosen here (bytes and preview), or null to remove, undefined: unchanged. */
  const [picked, setPicked] = useState<{ bytes: Uint8Array; url: string } | null | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [nameError, setNameError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const shownName = name ?? shared.name ?? '';
  const preview = picked === undefined ? shared.avatar : (picked?.url ?? null);

  async function pick(file: File | undefined) {
    if (!file) return;
    setError(null);
    try {
      const bytes = await avatarFrom(file);
      setPicked({
        bytes,
        url: URL.createObjectURL(new Blob([bytes.slice()], { type: 'image/jpeg' })),
      });
      setSaved(false);
    } catch {
      setError(w.pictureUnreadable);
    }
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!conversations || busy) return;
    setError(null);
    setNameError(null);
    setSaved(false);
    setBusy(true);
    try {
      await conversations.setMyProfile({
        name: shownName,
        ...(picked === undefined
          ? {}
          : { avatar: picked ? { bytes: picked.bytes, fileType: 'jpg' as const } : null }),
      });
      setName(null);
      setPicked(undefined);
      setSaved(true);
    } catch (reason) {
      if (reason instanceof ChatError && reason.field === 'name')
        setNameError(w.nameInvalid(Limits.DISPLAY_NAME_MAX_LENGTH));
      else setError(failure(reason));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="profile-title">
      <div className="card-intro">
        <h2 id="profile-title">{w.title}</h2>
        <p className="muted">{w.lead}</p>
      </div>
      <form className="narrow profile-form" onSubmit={(event) => void save(event)} noValidate>
        {error ? <Alert>{error}</Alert> : null}
        {saved ? (
          <p className="field-hint" role="status">
            {w.saved}
          </p>
        ) : null}
        <div className="profile-picture">
          <span className="avatar large" aria-hidden="true">
            {preview ? (
              <img src={preview} alt="" />
            ) : (
              (shownName || username).slice(0, 1).toUpperCase()
            )}
          </span>
          <div className="profile-picture-actions">
            <input
              ref={fileInput}
              type="file"
              accept="image/png,image/jpeg,image/gif,image/webp"
              className="visually-hidden"
              tabIndex={-1}
              aria-hidden="true"
              onChange={(event) => {
                void pick(event.target.files?.[0]);
                event.target.value = '';
              }}
            />
            <Button
              variant="secondary"
              onClick={() => fileInput.current?.click()}
              disabled={!conversations}
            >
              {preview ? w.changePicture : w.addPicture}
            </Button>
            {preview ? (
              <Button variant="ghost" onClick={() => setPicked(null)}>
                {w.removePicture}
              </Button>
            ) : null}
          </div>
        </div>
        <Field
          label={w.name}
          value={shownName}
          maxLength={Limits.DISPLAY_NAME_MAX_LENGTH}
          autoComplete="name"
          hint={w.nameHint(username)}
          error={nameError}
          onChange={(event) => {
            setName(event.target.value);
            setSaved(false);
          }}
        />
        <Button variant="primary" type="submit" busy={busy} disabled={!conversations}>
          {w.save}
        </Button>
      </form>
    </section>
  );
}
