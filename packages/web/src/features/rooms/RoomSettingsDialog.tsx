import { Limits, type Member, type RoomSummary, type Visibility } from '@securechat/sdk';
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { Dialog } from '../../ui/Dialog';
import { Field } from '../../ui/Field';
import { ACCESS_OPTIONS } from './roles';
import { OptionGroup } from '../../ui/OptionGroup';
import { Icon } from '../../ui/Icon';
import { Menu, type MenuItem } from '../../ui/Menu';
import { useRealtime, useRealtimeStore } from '../conversation/RealtimeProvider';
import { PeoplePicker } from './PeoplePicker';
import { atLeast, managed, mayInvite, maySetUp } from './roles';

type Tab = 'about' | 'members';

const CHANNEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * A room's settings, from the conversation's ⋯ menu: its name, topic, history and (channels)
 * password; its members and their roles, with invite, remove, moderator and owner changes.
 * A channel's settings are the server's; a group's name and topic are end-to-end content
 * (the room profile). Those who may not change something see it read-only.
 */
export function RoomSettingsDialog({
  room,
  label,
  profile,
  admin,
  onLeave,
  onClose,
}: {
  room: RoomSummary;
  /** "#plans", or the group's name. */
  label: string;
  /** The group's name and topic (end-to-end content). */
  profile: { name: string | null; topic: string | null };
  /** The signed-in user is a server administrator. */
  admin: boolean;
  onLeave: () => void;
  onClose: () => void;
}) {
  const store = useRealtimeStore();
  const { conversations } = useRealtime();
  const failure = useFailureMessage();
  const [tab, setTab] = useState<Tab>('about');
  /** A change to a member waiting for its confirmation (in its own dialog, over this one). */
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [version, setVersion] = useState(0);
  const s = t.roomSettings;

  async function act(work: () => Promise<RoomSummary>): Promise<string | null> {
    try {
      store.upsertRoom(await work());
      setVersion((v) => v + 1);
      return null;
    } catch (reason) {
      return failure(reason);
    }
  }
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);
  const base = useId();
  const order: Tab[] = ['about', 'members'];
  const names: Record<Tab, string> = {
    about: t.roomSettings.about,
    members: t.roomSettings.members,
  };

  function onTabKey(event: KeyboardEvent) {
    const index = order.indexOf(tab);
    const next =
      event.key === 'ArrowRight'
        ? (index + 1) % order.length
        : event.key === 'ArrowLeft'
          ? (index - 1 + order.length) % order.length
          : event.key === 'Home'
            ? 0
            : event.key === 'End'
              ? order.length - 1
              : null;
    if (next === null) return;
    event.preventDefault();
    const target = order[next] ?? 'about';
    setTab(target);
    tabs.current[next]?.focus();
  }

  return (
    <>
      <Dialog title={t.roomSettings.title(label)} onClose={onClose}>
        <div className="tabs" role="tablist" aria-label={t.roomSettings.tabs} onKeyDown={onTabKey}>
          {order.map((id, index) => (
            <button
              key={id}
              ref={(el) => {
                tabs.current[index] = el;
              }}
              type="button"
              role="tab"
              id={`${base}-${id}-tab`}
              aria-selected={tab === id}
              aria-controls={`${base}-${id}`}
              tabIndex={tab === id ? 0 : -1}
              className="tab"
              onClick={() => setTab(id)}
            >
              {names[id]}
              {id === 'members' ? <span className="count">{room.memberCount}</span> : null}
            </button>
          ))}
        </div>
        <div
          role="tabpanel"
          id={`${base}-${tab}`}
          aria-labelledby={`${base}-${tab}-tab`}
          className="tab-panel"
        >
          {tab === 'about' ? (
            <AboutTab room={room} profile={profile} admin={admin} />
          ) : (
            <MembersTab room={room} version={version} onConfirm={setConfirming} />
          )}
        </div>
        {room.kind !== 'general' ? (
          <div className="settings-leave">
            <Button variant="ghost" className="danger-text" onClick={onLeave}>
              {t.roomSettings.leave}
            </Button>
          </div>
        ) : null}
      </Dialog>
      {confirming?.kind === 'kick' && conversations ? (
        <ConfirmDialog
          title={s.kickTitle(confirming.member.username)}
          lead={s.kickLead}
          confirm={s.kickConfirm}
          busyLabel={s.working}
          onConfirm={() => act(() => conversations.kick(room.id, confirming.member.user))}
          onClose={() => setConfirming(null)}
        />
      ) : null}
      {confirming?.kind === 'transfer' && conversations ? (
        <ConfirmDialog
          title={s.transferTitle(confirming.member.username)}
          lead={s.transferLead}
          confirm={s.transferConfirm}
          busyLabel={s.working}
          onConfirm={() => act(() => conversations.transfer(room.id, confirming.member.user))}
          onClose={() => setConfirming(null)}
        />
      ) : null}
    </>
  );
}

function AboutTab({
  room,
  profile,
  admin,
}: {
  room: RoomSummary;
  profile: { name: string | null; topic: string | null };
  admin: boolean;
}) {
  const store = useRealtimeStore();
  const { conversations } = useRealtime();
  const failure = useFailureMessage();
  const s = t.roomSettings;
  const editable = maySetUp(room, admin);
  const group = room.kind === 'group';
  const channel = room.kind === 'channel';
  const savedName = (group ? profile.name : room.name) ?? '';
  const savedTopic = (group ? profile.topic : room.topic) ?? '';
  const [name, setName] = useState(savedName);
  const [topic, setTopic] = useState(savedTopic);
  const [visibility, setVisibility] = useState<Visibility>(room.visibility);
  const [guarded, setGuarded] = useState(room.protected);
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ name?: string; password?: string }>({});
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const min = Limits.ROOM_PASSWORD_MIN_LENGTH;

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!conversations) return;
    setDone(null);
    setError(null);
    const next: typeof errors = {};
    const nameChanged = room.kind !== 'general' && name.trim() !== savedName;
    const topicChanged = topic.trim() !== savedTopic;
    if (nameChanged && channel && !CHANNEL_NAME.test(name.trim()))
      next.name = t.rooms.channelNameInvalid;
    if (nameChanged && group && name.trim() === '') next.name = t.rooms.groupNameMissing;
    const newPassword = channel && guarded && (password !== '' || !room.protected);
    if (newPassword && password.length < min) next.password = t.rooms.passwordMissing(min);
    setErrors(next);
    if (next.name || next.password) return;
    const server: Parameters<typeof conversations.settings>[1] = {};
    if (visibility !== room.visibility) server.visibility = visibility;
    if (!group && nameChanged) server.name = name.trim();
    if (!group && topicChanged) server.topic = topic.trim() || null;
    if (newPassword) server.password = password;
    if (channel && !guarded && room.protected) server.password = null;
    const content = group && (nameChanged || topicChanged);
    if (Object.keys(server).length === 0 && !content) {
      setDone(s.nothingChanged);
      return;
    }
    setBusy(true);
    try {
      if (Object.keys(server).length > 0)
        store.upsertRoom(await conversations.settings(room.id, server));
      if (content)
        await conversations.setRoomProfile(room.id, {
          ...(nameChanged ? { name: name.trim() } : {}),
          ...(topicChanged ? { topic: topic.trim() || null } : {}),
        });
      setPassword('');
      setDone(s.saved);
    } catch (reason) {
      setError(failure(reason));
    } finally {
      setBusy(false);
    }
  }

  if (!editable) {
    return (
      <div className="settings-readonly">
        <Alert kind="info">{room.kind === 'general' ? s.readOnlyGeneral : s.readOnly}</Alert>
        <dl className="facts">
          {room.kind !== 'general' ? (
            <>
              <dt>{s.name}</dt>
              <dd>{savedName || '—'}</dd>
            </>
          ) : null}
          <dt>{s.topic}</dt>
          <dd>{savedTopic || '—'}</dd>
          <dt>{s.history}</dt>
          <dd>{room.visibility === 'shared' ? s.historyShared : s.historyJoined}</dd>
          {channel ? (
            <>
              <dt>{s.access}</dt>
              <dd>{room.protected ? t.rooms.accessProtected : t.rooms.accessPublic}</dd>
            </>
          ) : null}
        </dl>
      </div>
    );
  }

  return (
    <form onSubmit={(event) => void save(event)} noValidate>
      {error ? <Alert>{error}</Alert> : null}
      {done ? <Alert kind="success">{done}</Alert> : null}
      {room.kind !== 'general' ? (
        <Field
          label={group ? t.rooms.groupName : s.name}
          autoComplete="off"
          autoCapitalize={channel ? 'none' : undefined}
          spellCheck={channel ? false : undefined}
          maxLength={Limits.ROOM_NAME_MAX_LENGTH}
          value={name}
          onChange={(event) => setName(event.target.value)}
          hint={channel ? t.rooms.channelNameHint : t.rooms.groupNameHint}
          error={errors.name ?? null}
        />
      ) : null}
      <Field
        label={s.topic}
        autoComplete="off"
        maxLength={Limits.ROOM_TOPIC_MAX_LENGTH}
        value={topic}
        onChange={(event) => setTopic(event.target.value)}
        hint={s.topicHint}
      />
      <OptionGroup
        legend={s.history}
        options={[
          { value: 'shared', label: s.historyShared, hint: s.historySharedHint },
          { value: 'joined', label: s.historyJoined },
        ]}
        value={visibility}
        onChange={setVisibility}
      />
      {channel ? (
        <>
          <OptionGroup
            legend={s.access}
            options={ACCESS_OPTIONS}
            value={guarded ? 'protected' : 'public'}
            onChange={(choice) => setGuarded(choice === 'protected')}
          />
          {guarded ? (
            <Field
              label={s.newPassword}
              type="password"
              autoComplete="new-password"
              maxLength={Limits.ROOM_PASSWORD_MAX_LENGTH}
              value={password}
              onChange={(event) => setPassword(event.target.value)}
              hint={room.protected ? s.keepPassword : s.newPasswordHint(min)}
              error={errors.password ?? null}
            />
          ) : null}
        </>
      ) : null}
      <div className="dialog-actions">
        <Button variant="primary" type="submit" busy={busy}>
          {busy ? s.saving : s.save}
        </Button>
      </div>
    </form>
  );
}

type Confirming = { kind: 'kick' | 'transfer'; member: Member } | null;

function MembersTab({
  room,
  version,
  onConfirm,
}: {
  room: RoomSummary;
  /** Changes when the list must be fetched again (after a confirmed change). */
  version: number;
  onConfirm: (what: NonNullable<Confirming>) => void;
}) {
  const store = useRealtimeStore();
  const { conversations, me, presence } = useRealtime();
  const failure = useFailureMessage();
  const s = t.roomSettings;
  const [members, setMembers] = useState<Member[] | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [inviting, setInviting] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    if (!conversations) return;
    let cancelled = false;
    conversations.members(room.id).then(
      (reply) => {
        if (cancelled) return;
        store.learnNames(reply.members.map((m) => ({ id: m.user, username: m.username })));
        setMembers(reply.members);
        setTotal(reply.total);
      },
      (reason: unknown) => {
        if (!cancelled) setError(failure(reason));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [conversations, room.id, store, failure, version, reload, room.memberCount]);

  async function act(work: () => Promise<RoomSummary>, success?: string): Promise<string | null> {
    setError(null);
    setDone(null);
    try {
      store.upsertRoom(await work());
      if (success) setDone(success);
      setReload((n) => n + 1);
      return null;
    } catch (reason) {
      const message = failure(reason);
      setError(message);
      return message;
    }
  }

  async function invite(username: string) {
    if (!conversations) return;
    setInviting(username);
    await act(() => conversations.invite(room.id, username), s.invited(username));
    setInviting(null);
  }

  const mine = room.role;
  const manager = managed(room) && atLeast(mine, 'moderator');
  const actionsFor = (member: Member): MenuItem[] => {
    if (!conversations || !managed(room) || member.user === me) return [];
    const items: MenuItem[] = [];
    if (mine === 'owner' && member.role !== 'owner') {
      items.push(
        member.role === 'moderator'
          ? {
              label: s.removeModerator,
              onSelect: () => void act(() => conversations.setRole(room.id, member.user, 'member')),
            }
          : {
              label: s.makeModerator,
              onSelect: () =>
                void act(() => conversations.setRole(room.id, member.user, 'moderator')),
            },
      );
      items.push({ label: s.transfer, onSelect: () => onConfirm({ kind: 'transfer', member }) });
    }
    if (atLeast(mine, 'moderator') && !atLeast(member.role, mine))
      items.push({
        label: s.kick,
        danger: true,
        onSelect: () => onConfirm({ kind: 'kick', member }),
      });
    return items;
  };

  const ids = new Set((members ?? []).map((m) => m.user));
  return (
    <>
      {error ? <Alert>{error}</Alert> : null}
      {done ? <Alert kind="success">{done}</Alert> : null}
      {mayInvite(room) ? (
        <PeoplePicker
          label={s.invite}
          hint={t.rooms.peopleHint}
          actionLabel={s.inviteLabel}
          exclude={ids}
          excludedNote={s.alreadyMember}
          busy={inviting}
          onPick={(user) => void invite(user.username)}
        />
      ) : null}
      {members === null ? (
        <p className="muted small" role="status">
          {s.loadingMembers}
        </p>
      ) : (
        <ul className="settings-members">
          {members.map((member) => {
            const status = presence.get(member.user) ?? member.presence;
            const role = t.conversation.role[member.role];
            const items = actionsFor(member);
            return (
              <li key={member.user} className="settings-member">
                <span className="avatar small" aria-hidden="true">
                  {member.username.slice(0, 1).toUpperCase()}
                  <span className={`presence-dot ${status}`} />
                </span>
                <span className="settings-member-name">
                  {member.username}
                  {member.user === me ? <span className="muted"> {s.you}</span> : null}
                  <span className="visually-hidden">, {t.conversation.presence[status]}</span>
                </span>
                {role ? <span className="badge badge-muted">{role}</span> : null}
                {items.length > 0 ? (
                  <Menu
                    label={s.memberActions(member.username)}
                    className="member-menu"
                    trigger={<Icon name="more" />}
                    items={items}
                  />
                ) : manager ? (
                  // Keeps the role badges in one column.
                  <span className="member-menu-space" aria-hidden="true" />
                ) : null}
              </li>
            );
          })}
          {total > members.length ? (
            <li className="settings-member muted small">
              {t.conversation.membersMore(total - members.length)}
            </li>
          ) : null}
        </ul>
      )}
    </>
  );
}
