/** End-to-end encryption in the conversation: the header's state, warnings and trust marks. */
import type { ConversationView, Conversations } from '@securechat/sdk';
import { useCallback, useId, useMemo, useState, useSyncExternalStore } from 'react';
import { t } from '../../strings';
import { Button } from '../../ui/Button';
import { Icon, type IconName } from '../../ui/Icon';

export type RoomSecurity = ConversationView['security'];
type SecurityWarning = RoomSecurity['warnings'][number];
export type TrustState = ReturnType<Conversations['trustState']>;

const STATE: Record<RoomSecurity['state'], { text: string; icon: IconName | null }> = {
  encrypted: { text: t.conversation.security.encrypted, icon: 'lock' },
  verified: { text: t.conversation.security.verified, icon: 'shield' },
  warning: { text: t.conversation.security.warning, icon: 'warning' },
  joining: { text: t.conversation.security.joining, icon: null },
};

/**
 * The header's "End-to-end encrypted" / "Verified" / "Warning" / "Setting up…" badge. It is a
 * button: on a phone only its icon shows, and tapping it says in words what it means.
 */
export function SecurityBadge({ security }: { security: RoomSecurity }) {
  const { text, icon } = STATE[security.state];
  const [open, setOpen] = useState(false);
  const infoId = useId();
  const label = t.conversation.security.label(text);
  return (
    <div className="security">
      <button
        type="button"
        className={`badge security-badge ${security.state}`}
        aria-label={label}
        aria-expanded={open}
        aria-controls={open ? infoId : undefined}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(event) => {
          if (event.key === 'Escape') setOpen(false);
        }}
      >
        {icon ? <Icon name={icon} /> : <span className="spinner small" aria-hidden="true" />}
        <span className="security-text">{text}</span>
      </button>
      <span className="visually-hidden" role="status" aria-label={label}>
        {text}
      </span>
      {open ? (
        <p id={infoId} className="security-info">
          {t.conversation.security.explain[security.state]}
        </p>
      ) : null}
    </div>
  );
}

/** The warnings of a room, each in plain words with what to do about it. */
export function SecurityBanner({
  warnings,
  names,
  onCheck,
  onAcknowledge,
}: {
  warnings: readonly SecurityWarning[];
  names: ReadonlyMap<string, string>;
  onCheck: (user: string) => void;
  onAcknowledge: (user: string) => void;
}) {
  if (warnings.length === 0) return null;
  const s = t.conversation.security;
  return (
    <section className="security-banner" aria-label={s.warningTitle}>
      {warnings.map((warning) => (
        <div
          key={warning.type === 'key-changed' ? `key:${warning.user}` : `refused:${warning.reason}`}
          className="security-warning"
        >
          <Icon name="warning" />
          {warning.type === 'key-changed' ? (
            <>
              <p>{s.keyChanged(names.get(warning.user) ?? t.conversation.someone)}</p>
              <div className="security-actions">
                <Button className="small" onClick={() => onCheck(warning.user)}>
                  {s.check}
                </Button>
                <Button
                  variant="ghost"
                  className="small"
                  onClick={() => onAcknowledge(warning.user)}
                >
                  {s.acknowledge}
                </Button>
              </div>
            </>
          ) : (
            <p>
              {s.refusedChange} <span className="security-reason">{warning.reason}</span>
            </p>
          )}
        </div>
      ))}
    </section>
  );
}

/** How this device trusts each of `users` (re-rendered when any of them changes). */
export function useTrust(
  conversations: Conversations | null,
  users: readonly string[],
): ReadonlyMap<string, TrustState> {
  const key = users.join(',');
  const snapshot = useCallback(
    () =>
      conversations && key !== ''
        ? key
            .split(',')
            .map((user) => `${user}=${conversations.trustState(user)}`)
            .join(',')
        : '',
    [conversations, key],
  );
  const subscribe = useCallback(
    (listener: () => void) => (conversations ? conversations.subscribe(listener) : () => undefined),
    [conversations],
  );
  const joined = useSyncExternalStore(subscribe, snapshot);
  return useMemo(
    () =>
      new Map(
        joined === ''
          ? []
          : joined.split(',').map((pair) => {
              const [user = '', state = 'unknown'] = pair.split('=');
              return [user, state as TrustState];
            }),
      ),
    [joined],
  );
}
