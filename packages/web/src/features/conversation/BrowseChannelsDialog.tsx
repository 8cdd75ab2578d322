import { ChatError, type DirectoryEntry } from '@securechat/sdk';
import { useCallback, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Dialog } from '../../ui/Dialog';
import { Field } from '../../ui/Field';
import { Icon } from '../../ui/Icon';
import { roomPath } from './paths';
import { useRealtime, useRealtimeStore } from './RealtimeProvider';
import { useDebouncedSearch } from './useDebouncedSearch';

/** The channel directory: search, join (with the password of a protected channel), open. */
export function BrowseChannelsDialog({ onClose }: { onClose: () => void }) {
  const store = useRealtimeStore();
  const { conversations } = useRealtime();
  const navigate = useNavigate();
  const failure = useFailureMessage();
  const [query, setQuery] = useState('');
  const [error, setError] = useState<string | null>(null);
  /** The protected channel whose password is being asked for. */
  const [asking, setAsking] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const trimmed = query.trim();

  const onSearchError = useCallback((reason: unknown) => setError(failure(reason)), [failure]);
  const searchChannels = useCallback(
    async (text: string) => (await conversations?.directory(text)) ?? [],
    [conversations],
  );
  const found = useDebouncedSearch(trimmed, conversations ? searchChannels : null, onSearchError);

  function open(id: string) {
    onClose();
    void navigate(roomPath(id));
  }

  async function join(channel: DirectoryEntry, withPassword?: string) {
    if (!conversations) return;
    setBusy(channel.id);
    setError(null);
    setPasswordError(null);
    try {
      const room = await conversations.join(channel.id, withPassword);
      store.upsertRoom(room);
      open(room.id);
    } catch (reason) {
      setBusy(null);
      if (reason instanceof ChatError && reason.code === 'CHAT_ERR_ROOM_PASSWORD') {
        setPasswordError(reason.message);
        setAsking(channel.id);
      } else setError(failure(reason));
    }
  }

  function onJoinClick(channel: DirectoryEntry) {
    if (channel.protected) {
      setAsking(channel.id);
      setPassword('');
      setPasswordError(null);
    } else void join(channel);
  }

  function submitPassword(event: FormEvent, channel: DirectoryEntry) {
    event.preventDefault();
    void join(channel, password);
  }

  const channels = found?.result ?? null;
  return (
    <Dialog title={t.rooms.browse} lead={t.rooms.browseLead} onClose={onClose}>
      {error ? <Alert>{error}</Alert> : null}
      <Field
        label={t.rooms.search}
        type="text"
        autoComplete="off"
        autoCapitalize="none"
        spellCheck={false}
        autoFocus
        value={query}
        onChange={(event) => setQuery(event.target.value)}
      />
      {channels === null ? (
        <p className="muted small" role="status">
          {t.loading}
        </p>
      ) : channels.length === 0 ? (
        <p className="empty-line">{trimmed ? t.rooms.noChannels : t.rooms.noChannelsYet}</p>
      ) : (
        <ul className="directory">
          {channels.map((channel) => (
            <li key={channel.id} className="directory-row">
              <div className="directory-main">
                <div className="directory-name">
                  <span aria-hidden="true">#</span>
                  {channel.name}
                  {channel.protected ? (
                    <span className="badge badge-muted">
                      <Icon name="lock" /> {t.rooms.protectedRoom}
                    </span>
                  ) : null}
                </div>
                {channel.topic ? <div className="directory-topic">{channel.topic}</div> : null}
                <div className="list-meta">{t.rooms.members(channel.memberCount)}</div>
              </div>
              {channel.joined ? (
                <Button
                  aria-label={t.rooms.openLabel(channel.name)}
                  onClick={() => open(channel.id)}
                >
                  {t.rooms.open}
                </Button>
              ) : asking === channel.id ? null : (
                <Button
                  variant="primary"
                  aria-label={t.rooms.joinLabel(channel.name)}
                  busy={busy === channel.id}
                  onClick={() => onJoinClick(channel)}
                >
                  {t.rooms.join}
                </Button>
              )}
              {asking === channel.id && !channel.joined ? (
                <form
                  className="directory-password"
                  onSubmit={(event) => submitPassword(event, channel)}
                  noValidate
                >
                  <Field
                    label={t.rooms.roomPassword}
                    type="password"
                    autoComplete="off"
                    autoFocus
                    value={password}
                    onChange={(event) => setPassword(event.target.value)}
                    hint={t.rooms.roomPasswordHint}
                    invalid={passwordError !== null}
                  />
                  {passwordError ? <Alert>{passwordError}</Alert> : null}
                  <div className="dialog-actions">
                    <Button variant="ghost" onClick={() => setAsking(null)}>
                      {t.rooms.cancel}
                    </Button>
                    <Button variant="primary" type="submit" busy={busy === channel.id}>
                      {t.rooms.join}
                    </Button>
                  </div>
                </form>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  );
}
