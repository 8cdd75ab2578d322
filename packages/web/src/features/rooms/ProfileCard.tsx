import type { Member, PresenceStatus } from '@securechat/sdk';
import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Avatar } from '../profile/Avatar';
import { usePerson } from '../profile/avatars';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Dialog } from '../../ui/Dialog';
import { Icon } from '../../ui/Icon';
import { roomPath } from '../conversation/paths';
import { useRealtime, useRealtimeStore } from '../conversation/RealtimeProvider';

/** Whom the card shows: from the members list, or a message's sender. */
export interface Profile {
  user: string;
  username: string;
  /** Their role in the room on screen; null when not known (not in the members list). */
  role: Member['role'] | null;
}

/**
 * A person, from the members panel or a message's sender: their username, presence, role in
 * this room and encryption trust, with Message (their direct room), Block or Unblock, and
 * Verify (the safety-number dialog, through `onVerify`).
 */
export function ProfileCard({
  profile,
  onVerify,
  onClose,
}: {
  profile: Profile;
  onVerify: (user: string, name: string) => void;
  onClose: () => void;
}) {
  const store = useRealtimeStore();
  const { conversations, me, presence } = useRealtime();
  const navigate = useNavigate();
  const failure = useFailureMessage();
  const p = t.profile;
  const { user, username, role } = profile;
  const self = user === me;
  const person = usePerson(conversations, user);
  /** null until the blocked list arrives. */
  const [blocked, setBlocked] = useState<boolean | null>(null);
  const [busy, setBusy] = useState<'message' | 'block' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const status: PresenceStatus | undefined = presence.get(user);
  const trust = conversations && !self ? conversations.trustState(user) : null;

  useEffect(() => {
    if (!conversations || self) return;
    let cancelled = false;
    conversations.blocked().then(
      (list) => {
        if (!cancelled) setBlocked(list.some((u) => u.id === user));
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [conversations, self, user]);

  async function message() {
    if (!conversations) return;
    setBusy('message');
    setError(null);
    try {
      const room = await conversations.direct(username);
      store.upsertRoom(room);
      onClose();
      void navigate(roomPath(room.id));
    } catch (reason) {
      setError(failure(reason));
      setBusy(null);
    }
  }

  async function toggleBlock() {
    if (!conversations || blocked === null) return;
    setBusy('block');
    setError(null);
    setDone(null);
    try {
      await conversations.block(username, !blocked);
      setDone(blocked ? p.unblockDone(username) : p.blockDone(username));
      setBlocked(!blocked);
    } catch (reason) {
      setError(failure(reason));
    } finally {
      setBusy(null);
    }
  }

  const trustText =
    trust === 'verified' ? p.verified : trust === 'changed' ? p.changed : p.unverified;
  const roleText = role ? p.roles[role] : null;
  return (
    <Dialog title={person.name ? `${person.name} (${username})` : username} onClose={onClose}>
      <div className="profile">
        <Avatar
          conversations={conversations}
          user={user}
          name={person.name ?? username}
          className="large"
        >
          {status ? <span className={`presence-dot ${status}`} /> : null}
        </Avatar>
        <dl className="facts profile-facts">
          {status ? (
            <>
              <dt>{p.presence}</dt>
              <dd>{t.conversation.presence[status]}</dd>
            </>
          ) : null}
          {roleText ? (
            <>
              <dt>{p.role}</dt>
              <dd>{roleText}</dd>
            </>
          ) : null}
          {trust ? (
            <>
              <dt>{p.encryption}</dt>
              <dd className={`trust-${trust}`}>
                {trust === 'verified' ? <Icon name="shield" /> : null}
                {trust === 'changed' ? <Icon name="warning" /> : null}
                {trustText}
              </dd>
            </>
          ) : null}
        </dl>
      </div>
      {self ? <p className="muted">{p.you}</p> : null}
      {blocked ? <Alert kind="info">{p.blockedNote}</Alert> : null}
      {error ? <Alert>{error}</Alert> : null}
      {done ? <Alert kind="success">{done}</Alert> : null}
      {!self ? (
        <div className="profile-actions">
          <Button
            variant="primary"
            busy={busy === 'message'}
            disabled={busy !== null}
            onClick={() => void message()}
          >
            <Icon name="chat" />
            {p.message}
          </Button>
          <Button onClick={() => onVerify(user, username)}>
            <Icon name="key" />
            {p.verify}
          </Button>
        </div>
      ) : null}
      {!self ? (
        <div className="profile-block">
          <Button
            variant="ghost"
            className={blocked ? undefined : 'danger-text'}
            busy={busy === 'block'}
            disabled={blocked === null || busy !== null}
            onClick={() => void toggleBlock()}
          >
            {blocked ? p.unblock : p.block}
          </Button>
        </div>
      ) : null}
    </Dialog>
  );
}
