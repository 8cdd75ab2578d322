/**
 * A room an administrator closed: a read-only archive. Its history stays readable, so the
 * conversation shows as ever, with a banner saying why nothing new appears, and in place of
 * the composer a line saying nobody can send (the server would refuse it: CHAT_ERR_ROOM_CLOSED).
 */
import { t } from '../../strings';
import { Icon } from '../../ui/Icon';

export function ClosedRoomBanner() {
  return (
    <section className="security-banner" aria-label={t.conversation.closed.title}>
      <div className="security-warning closed-room">
        <Icon name="lock" />
        <p>{t.conversation.closed.banner}</p>
      </div>
    </section>
  );
}

/** What stands where the composer was. */
export function ClosedRoomComposer() {
  return (
    <p className="composer composer-closed">
      <Icon name="lock" />
      <span>{t.conversation.closed.composer}</span>
    </p>
  );
}
