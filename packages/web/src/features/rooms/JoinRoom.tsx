import { ChatError, GENERAL_ROOM_ID, type DirectoryEntry } from '@securechat/sdk';
import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Field } from '../../ui/Field';
import { Icon } from '../../ui/Icon';
import { roomPath } from '../conversation/paths';
import { useRealtime, useRealtimeStore } from '../conversation/RealtimeProvider';

/**
 * A room link opened by someone who is not in the room. A public channel offers Join (asking
 * for the password of a protected one); anything else — a group, a direct room, a room that
 * is gone — looks the same to the server ("not found"), and so it does here.
 */
export function JoinRoom({ roomId }: { roomId: string }) {
  const store = useRealtimeStore();
  const { conversations, state } = useRealtime();
  const failure = useFailureMessage();
  /** The channel as the directory lists it; null when not listed (or not yet known). */
  const [entry, setEntry] = useState<DirectoryEntry | null>(null);
  const [looked, setLooked] = useState(false);
  const [asking, setAsking] = useState(false);
  const [password, setPassword] = useState('');
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [gone, setGone] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!conversations || state !== 'open') return;
    let cancelled = false;
    conversations.directory('', 100).then(
      (channels) => {
        if (cancelled) return;
        const found = channels.find((c) => c.id === roomId) ?? null;
        setEntry(found);
        if (found?.protected) setAsking(true);
        setLooked(true);
      },
      () => {
        if (!cancelled) setLooked(true);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [conversations, state, roomId]);

  async function join(event?: FormEvent) {
    event?.preventDefault();
    if (!conversations) return;
    setBusy(true);
    setError(null);
    setPasswordError(null);
    try {
      const room = await conversations.join(roomId, asking ? password : undefined);
      // The page shows the room once it is listed.
      store.upsertRoom(room);
    } catch (reason) {
      setBusy(false);
      if (reason instanceof ChatError && reason.code === 'CHAT_ERR_ROOM_PASSWORD') {
        if (asking) setPasswordError(reason.message);
        setAsking(true);
      } else if (reason instanceof ChatError && reason.code === 'CHAT_ERR_NOT_FOUND') {
        setGone(true);
      } else setError(failure(reason));
    }
  }

  if (gone)
    return (
      <div className="empty center">
        <div className="empty-art" aria-hidden="true">
          <Icon name="chat" />
        </div>
        <h1 className="empty-title">{t.conversation.unknownRoom}</h1>
        <p>{t.conversation.unknownRoomLead}</p>
        <Link to={roomPath(GENERAL_ROOM_ID)} className="button">
          {t.conversation.backToGeneral}
        </Link>
      </div>
    );

  return (
    <div className="empty center join-room">
      <div className="empty-art" aria-hidden="true">
        <Icon name={entry?.protected || asking ? 'lock' : 'chat'} />
      </div>
      <h1 className="empty-title">{entry ? `#${entry.name}` : t.rooms.notMemberTitle}</h1>
      {entry?.topic ? <p className="join-topic">{entry.topic}</p> : null}
      <p>
        {entry
          ? entry.protected
            ? t.rooms.roomPasswordHint
            : t.rooms.channelLead(entry.memberCount)
          : t.rooms.notMemberLead}
      </p>
      {error ? <Alert>{error}</Alert> : null}
      {asking ? (
        <form className="join-form" onSubmit={(event) => void join(event)} noValidate>
          <Field
            label={t.rooms.roomPassword}
            type="password"
            autoComplete="off"
            autoFocus
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            hint={entry ? undefined : t.rooms.roomPasswordHint}
            error={passwordError}
          />
          <Button variant="primary" type="submit" busy={busy} wide>
            {busy ? t.rooms.joining : t.rooms.joinChannel}
          </Button>
          <Link to={roomPath(GENERAL_ROOM_ID)} className="button ghost wide join-back">
            {t.conversation.backToGeneral}
          </Link>
        </form>
      ) : (
        <div className="join-actions">
          <Button
            variant="primary"
            busy={busy}
            disabled={!looked && state === 'open'}
            onClick={() => void join()}
          >
            {busy ? t.rooms.joining : t.rooms.joinChannel}
          </Button>
          <Link to={roomPath(GENERAL_ROOM_ID)} className="button ghost">
            {t.conversation.backToGeneral}
          </Link>
        </div>
      )}
    </div>
  );
}
