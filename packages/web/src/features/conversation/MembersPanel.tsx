import type { Member, PresenceStatus } from '@securechat/sdk';
import { t } from '../../strings';
import { Icon } from '../../ui/Icon';
import { Avatar } from '../profile/Avatar';
import { useRealtime } from './RealtimeProvider';
import type { TrustState } from './security';

const RANK: Record<PresenceStatus, number> = { online: 0, away: 1, offline: 2 };

/**
 * Who is in the room, online first, with a presence dot, their room role, a mark for those
 * verified or whose safety number changed, and a way to each one's safety number.
 */
export function MembersPanel({
  id,
  members,
  total,
  presence,
  stale = false,
  me,
  trust,
  onSafetyNumber,
  onOpen,
  onClose,
}: {
  id: string;
  members: readonly Member[] | null;
  total: number;
  presence: ReadonlyMap<string, PresenceStatus>;
  /** Offline: who is online is not known, so no dot claims it. */
  stale?: boolean;
  me: string | null;
  trust: ReadonlyMap<string, TrustState>;
  onSafetyNumber: (member: Member) => void;
  /** Open the member's profile card. */
  onOpen: (member: Member) => void;
  onClose: () => void;
}) {
  const { conversations } = useRealtime();
  const status = (m: Member): PresenceStatus => presence.get(m.user) ?? m.presence;
  const sorted = members
    ? [...members].sort(
        (a, b) => RANK[status(a)] - RANK[status(b)] || a.username.localeCompare(b.username),
      )
    : null;
  return (
    <aside id={id} className="members-panel" aria-label={t.conversation.membersTitle}>
      <div className="members-head">
        <h2 className="sidebar-title">{t.conversation.membersTitle}</h2>
        <button
          type="button"
          className="icon-button small"
          aria-label={t.rooms.close}
          onClick={onClose}
        >
          <Icon name="close" />
        </button>
      </div>
      {stale ? <p className="muted small members-stale">{t.conversation.presenceStale}</p> : null}
      {sorted === null ? (
        <p className="muted small">{t.loading}</p>
      ) : (
        <ul className="member-list">
          {sorted.map((member) => {
            const s = status(member);
            const role = t.conversation.role[member.role];
            const state = trust.get(member.user);
            const shown = conversations?.person(member.user)?.profile.name ?? null;
            return (
              <li key={member.user} className="member">
                <Avatar
                  conversations={conversations}
                  user={member.user}
                  name={shown ?? member.username}
                  className="tiny"
                >
                  <span className={`presence-dot ${stale ? 'unknown' : s}`} />
                </Avatar>
                <button
                  type="button"
                  className="member-name member-open"
                  aria-haspopup="dialog"
                  onClick={() => onOpen(member)}
                >
                  {shown ?? member.username}
                  {shown ? <span className="msg-handle"> {member.username}</span> : null}
                  <span className="visually-hidden">
                    , {stale ? t.conversation.presenceUnknown : t.conversation.presence[s]}
                  </span>
                </button>
                {state === 'verified' ? (
                  <span className="trust-mark verified" title={t.conversation.trust.verified}>
                    <Icon name="shield" />
                    <span className="visually-hidden">, {t.conversation.trust.verified}</span>
                  </span>
                ) : state === 'changed' ? (
                  <span className="trust-mark changed" title={t.conversation.trust.changed}>
                    <Icon name="warning" />
                    <span className="visually-hidden">, {t.conversation.trust.changed}</span>
                  </span>
                ) : null}
                {role ? <span className="badge badge-muted">{role}</span> : null}
                {member.user !== me ? (
                  <button
                    type="button"
                    className="icon-button small"
                    aria-label={t.conversation.safety.buttonFor(member.username)}
                    title={t.conversation.safety.buttonFor(member.username)}
                    onClick={() => onSafetyNumber(member)}
                  >
                    <Icon name="key" />
                  </button>
                ) : null}
              </li>
            );
          })}
          {total > sorted.length ? (
            <li className="member muted small">
              {t.conversation.membersMore(total - sorted.length)}
            </li>
          ) : null}
        </ul>
      )}
    </aside>
  );
}
