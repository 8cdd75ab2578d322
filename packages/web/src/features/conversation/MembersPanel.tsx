import type { Member, PresenceStatus } from '@securechat/sdk';
import { t } from '../../strings';
import { Icon } from '../../ui/Icon';

const RANK: Record<PresenceStatus, number> = { online: 0, away: 1, offline: 2 };

/** Who is in the room, online first, with a presence dot and their room role. */
export function MembersPanel({
  id,
  members,
  total,
  presence,
  onClose,
}: {
  id: string;
  members: readonly Member[] | null;
  total: number;
  presence: ReadonlyMap<string, PresenceStatus>;
  onClose: () => void;
}) {
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
      {sorted === null ? (
        <p className="muted small">{t.loading}</p>
      ) : (
        <ul className="member-list">
          {sorted.map((member) => {
            const s = status(member);
            const role = t.conversation.role[member.role];
            return (
              <li key={member.user} className="member">
                <span className="avatar tiny" aria-hidden="true">
                  {member.username.slice(0, 1).toUpperCase()}
                  <span className={`presence-dot ${s}`} />
                </span>
                <span className="member-name">{member.username}</span>
                <span className="visually-hidden">, {t.conversation.presence[s]}</span>
                {role ? <span className="badge badge-muted">{role}</span> : null}
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
