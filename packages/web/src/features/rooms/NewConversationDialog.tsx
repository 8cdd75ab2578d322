import { Limits } from '@securechat/sdk';
import { useId, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Dialog } from '../../ui/Dialog';
import { Field } from '../../ui/Field';
import { ACCESS_OPTIONS } from './roles';
import { OptionGroup } from '../../ui/OptionGroup';
import { Icon, type IconName } from '../../ui/Icon';
import { roomPath } from '../conversation/paths';
import { useRealtime, useRealtimeStore } from '../conversation/RealtimeProvider';
import { PeoplePicker, type Person } from './PeoplePicker';

export type NewKind = 'channel' | 'group' | 'direct';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

const TITLES: Record<NewKind, { title: string; lead: string }> = {
  channel: { title: t.rooms.createChannel, lead: t.rooms.createChannelLead },
  group: { title: t.rooms.createGroup, lead: t.rooms.createGroupLead },
  direct: { title: t.rooms.newDirect, lead: t.rooms.newDirectLead },
};

/**
 * One door to every new conversation: a public or protected channel, a private group with the
 * people invited at once, or a direct message. The sidebar's + buttons open it on a kind; the
 * kind can be changed inside.
 */
export function NewConversationDialog({
  kind: initial,
  onClose,
}: {
  kind: NewKind;
  onClose: () => void;
}) {
  const [kind, setKind] = useState<NewKind>(initial);
  // The first field takes the focus when the dialog opens, not when the kind changes (the
  // focus stays on the kind's radio buttons then).
  const [switched, setSwitched] = useState(false);
  const { title, lead } = TITLES[kind];
  const focus = !switched;
  return (
    <Dialog title={title} lead={lead} onClose={onClose}>
      <KindChoice
        kind={kind}
        onChange={(next) => {
          setKind(next);
          setSwitched(true);
        }}
      />
      {kind === 'channel' ? (
        <ChannelForm focus={focus} onClose={onClose} />
      ) : kind === 'group' ? (
        <GroupForm focus={focus} onClose={onClose} />
      ) : (
        <DirectForm focus={focus} onClose={onClose} />
      )}
    </Dialog>
  );
}

function KindChoice({ kind, onChange }: { kind: NewKind; onChange: (kind: NewKind) => void }) {
  const name = useId();
  const options: { value: NewKind; label: string; icon: IconName }[] = [
    { value: 'channel', label: t.rooms.kindChannel, icon: 'hash' },
    { value: 'group', label: t.rooms.kindGroup, icon: 'users' },
    { value: 'direct', label: t.rooms.kindDirect, icon: 'user' },
  ];
  return (
    <fieldset className="segmented">
      <legend className="visually-hidden">{t.rooms.kind}</legend>
      {options.map((option) => (
        <label key={option.value} className="segment">
          <input
            type="radio"
            name={name}
            value={option.value}
            checked={kind === option.value}
            onChange={() => onChange(option.value)}
          />
          <Icon name={option.icon} />
          <span>{option.label}</span>
        </label>
      ))}
    </fieldset>
  );
}

/** A channel: public, or protected by a password. */
function ChannelForm({ focus, onClose }: { focus: boolean; onClose: () => void }) {
  const store = useRealtimeStore();
  const { conversations } = useRealtime();
  const navigate = useNavigate();
  const failure = useFailureMessage();
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [guarded, setGuarded] = useState(false);
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ name?: string; password?: string }>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const min = Limits.ROOM_PASSWORD_MIN_LENGTH;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!conversations) return;
    const next: typeof errors = {};
    if (!NAME.test(name)) next.name = t.rooms.channelNameInvalid;
    if (guarded && password.length < min) next.password = t.rooms.passwordMissing(min);
    setErrors(next);
    if (next.name || next.password) return;
    setBusy(true);
    setError(null);
    try {
      const room = await conversations.createChannel({
        name,
        ...(topic.trim() ? { topic: topic.trim() } : {}),
        ...(guarded ? { password } : {}),
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
    <form onSubmit={(event) => void submit(event)} noValidate>
      {error ? <Alert>{error}</Alert> : null}
      <Field
        label={t.rooms.channelName}
        autoFocus={focus}
        autoComplete="off"
        autoCapitalize="none"
        spellCheck={false}
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
      <OptionGroup
        legend={t.rooms.access}
        options={ACCESS_OPTIONS}
        value={guarded ? 'protected' : 'public'}
        onChange={(choice) => setGuarded(choice === 'protected')}
      />
      {guarded ? (
        <Field
          label={t.rooms.createPassword}
          type="password"
          autoComplete="new-password"
          required
          maxLength={Limits.ROOM_PASSWORD_MAX_LENGTH}
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          hint={t.roomSettings.newPasswordHint(min)}
          error={errors.password ?? null}
        />
      ) : null}
      <div className="dialog-actions">
        <Button variant="ghost" onClick={onClose}>
          {t.rooms.cancel}
        </Button>
        <Button variant="primary" type="submit" busy={busy}>
          {busy ? t.rooms.creating : t.rooms.create}
        </Button>
      </div>
    </form>
  );
}

/** A private group: its name and topic (end-to-end content) and the people invited at once. */
function GroupForm({ focus, onClose }: { focus: boolean; onClose: () => void }) {
  const store = useRealtimeStore();
  const { conversations } = useRealtime();
  const navigate = useNavigate();
  const failure = useFailureMessage();
  const pickedId = useId();
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [picked, setPicked] = useState<Person[]>([]);
  const [nameError, setNameError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<string | null>(null);
  /** Created, but some invitations failed: the way on to the group. */
  const [created, setCreated] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!conversations || progress !== null) return;
    if (name.trim() === '') {
      setNameError(t.rooms.groupNameMissing);
      return;
    }
    setNameError(null);
    setError(null);
    setProgress(t.rooms.creating);
    let roomId: string | null = null;
    try {
      const room = await conversations.createGroup({
        name: name.trim(),
        ...(topic.trim() ? { topic: topic.trim() } : {}),
      });
      roomId = room.id;
      store.upsertRoom(room);
      const refused: string[] = [];
      for (const [index, user] of picked.entries()) {
        setProgress(t.rooms.inviting(index + 1, picked.length));
        try {
          store.upsertRoom(await conversations.invite(room.id, user.username));
        } catch {
          refused.push(user.username);
        }
      }
      if (refused.length > 0) {
        setError(t.rooms.inviteFailed(refused.join(', ')));
        setCreated(room.id);
        setProgress(null);
        return;
      }
      onClose();
      void navigate(roomPath(room.id));
    } catch (reason) {
      setError(failure(reason));
      setProgress(null);
      if (roomId !== null) setCreated(roomId);
    }
  }

  function open(id: string) {
    onClose();
    void navigate(roomPath(id));
  }

  const pickedIds = new Set(picked.map((user) => user.id));
  return (
    <form onSubmit={(event) => void submit(event)} noValidate>
      {error ? <Alert>{error}</Alert> : null}
      <Field
        label={t.rooms.groupName}
        autoFocus={focus}
        autoComplete="off"
        required
        maxLength={Limits.ROOM_NAME_MAX_LENGTH}
        value={name}
        onChange={(event) => setName(event.target.value)}
        hint={t.rooms.groupNameHint}
        error={nameError}
        disabled={created !== null}
      />
      <Field
        label={t.rooms.topic}
        autoComplete="off"
        maxLength={Limits.ROOM_TOPIC_MAX_LENGTH}
        value={topic}
        onChange={(event) => setTopic(event.target.value)}
        hint={t.rooms.groupTopicHint}
        disabled={created !== null}
      />
      {created === null ? (
        <>
          <div className="picked" aria-labelledby={pickedId}>
            <span id={pickedId} className="picked-title">
              {t.rooms.picked}
            </span>
            {picked.length === 0 ? (
              <span className="muted small">{t.rooms.nobodyPicked}</span>
            ) : (
              <ul className="chips">
                {picked.map((user) => (
                  <li key={user.id} className="chip">
                    <span className="avatar tiny" aria-hidden="true">
                      {user.username.slice(0, 1).toUpperCase()}
                    </span>
                    {user.username}
                    <button
                      type="button"
                      className="chip-remove"
                      aria-label={t.rooms.removePicked(user.username)}
                      onClick={() => setPicked((list) => list.filter((u) => u.id !== user.id))}
                    >
                      <Icon name="close" />
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </div>
          <PeoplePicker
            label={t.rooms.peopleInvite}
            hint={t.rooms.peopleInviteHint}
            actionLabel={t.rooms.add}
            exclude={pickedIds}
            excludedNote={t.rooms.picked}
            clearOnPick
            onPick={(user) => setPicked((list) => [...list, user])}
          />
        </>
      ) : null}
      {progress ? (
        <p className="muted small" role="status">
          {progress}
        </p>
      ) : null}
      <div className="dialog-actions">
        {created !== null ? (
          <Button variant="primary" onClick={() => open(created)}>
            {t.rooms.open}
          </Button>
        ) : (
          <>
            <Button variant="ghost" onClick={onClose}>
              {t.rooms.cancel}
            </Button>
            <Button variant="primary" type="submit" busy={progress !== null}>
              {progress !== null ? t.rooms.creating : t.rooms.createGroupButton}
            </Button>
          </>
        )}
      </div>
    </form>
  );
}

/** A direct message: pick the person; their room opens (made on first use). */
function DirectForm({ focus, onClose }: { focus: boolean; onClose: () => void }) {
  const store = useRealtimeStore();
  const { conversations } = useRealtime();
  const navigate = useNavigate();
  const failure = useFailureMessage();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function start(user: Person) {
    if (!conversations) return;
    setBusy(user.username);
    setError(null);
    try {
      const room = await conversations.direct(user.username);
      store.upsertRoom(room);
      onClose();
      void navigate(roomPath(room.id));
    } catch (reason) {
      setError(failure(reason));
      setBusy(null);
    }
  }

  return (
    <>
      {error ? <Alert>{error}</Alert> : null}
      <PeoplePicker
        label={t.rooms.username}
        hint={t.rooms.usernameHint}
        busy={busy}
        autoFocus={focus}
        onPick={(user) => void start(user)}
      />
    </>
  );
}
