import { Limits } from '@securechat/sdk';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Dialog } from '../../ui/Dialog';
import { Field } from '../../ui/Field';
import { roomPath } from './paths';
import { useRealtime, useRealtimeStore } from './RealtimeProvider';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** A new public channel: a name, an optional topic, and an optional password (protected). */
export function CreateChannelDialog({ onClose }: { onClose: () => void }) {
  const store = useRealtimeStore();
  const { conversations } = useRealtime();
  const navigate = useNavigate();
  const failure = useFailureMessage();
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ name?: string; password?: string }>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!conversations) return;
    const next: typeof errors = {};
    if (!NAME.test(name)) next.name = t.rooms.channelNameInvalid;
    if (password !== '' && password.length < Limits.ROOM_PASSWORD_MIN_LENGTH)
      next.password = t.rooms.passwordTooShort(Limits.ROOM_PASSWORD_MIN_LENGTH);
    setErrors(next);
    if (next.name || next.password) return;
    setBusy(true);
    setError(null);
    try {
      const room = await conversations.createChannel({
        name,
        ...(topic.trim() ? { topic: topic.trim() } : {}),
        ...(password ? { password } : {}),
      });
      store.upsertRoom(room);
      onClose();
      void navigate(roomPath(room.id));
    } catch (reason) {
      setError(failure(reason));
      setBusy(false);
    }
  }

  return (
    <Dialog title={t.rooms.createChannel} lead={t.rooms.createChannelLead} onClose={onClose}>
      {error ? <Alert>{error}</Alert> : null}
      <form onSubmit={(event) => void submit(event)} noValidate>
        <Field
          label={t.rooms.channelName}
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          autoFocus
          required
          maxLength={Limits.ROOM_NAME_MAX_LENGTH}
          value={name}
          onChange={(event) => setName(event.target.value)}
          hint={t.rooms.channelNameHint}
          error={errors.name ?? null}
        />
        <Field
          label={t.rooms.topic}
          autoComplete="off"
          maxLength={Limits.ROOM_TOPIC_MAX_LENGTH}
          value={topic}
          onChange={(event) => setTopic(event.target.value)}
          hint={t.rooms.topicHint}
        />
        <Field
          label={t.rooms.createPassword}
          type="password"
          autoComplete="new-password"
          maxLength={Limits.ROOM_PASSWORD_MAX_LENGTH}
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          hint={t.rooms.createPasswordHint(Limits.ROOM_PASSWORD_MIN_LENGTH)}
          error={errors.password ?? null}
        />
        <div className="dialog-actions">
          <Button variant="ghost" onClick={onClose}>
            {t.rooms.cancel}
          </Button>
          <Button variant="primary" type="submit" busy={busy}>
            {busy ? t.rooms.creating : t.rooms.create}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
