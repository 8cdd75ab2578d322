import type { Conversations } from '@securechat/sdk';
import QRCode from 'qrcode';
import { useEffect, useState } from 'react';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Dialog } from '../../ui/Dialog';
import { Icon } from '../../ui/Icon';
import { useTrust } from './security';

/**
 * What the QR code holds: the sdk's `safetyNumberPayload` (mls/identity.ts), which its index
 * does not export — the version and the 60 digits.
 */
const payloadOf = (groups: readonly string[]): string =>
  `securechat-safety-number:1:${groups.join('')}`;

type Loaded =
  | { state: 'loading' }
  | { state: 'none' }
  | { state: 'ready'; groups: string[]; qr: string | null };

/**
 * The safety number of this user and `user`: 12 groups of 5 digits and their QR code, to
 * compare in person or over a call, and "Mark as verified" once they match.
 */
export function SafetyNumberDialog({
  conversations,
  user,
  name,
  onClose,
}: {
  conversations: Conversations;
  user: string;
  name: string;
  onClose: () => void;
}) {
  const failure = useFailureMessage();
  const trust = useTrust(conversations, [user]).get(user) ?? 'unknown';
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const s = t.conversation.safety;

  // The number depends on the key this device trusts, which acknowledging a change replaces.
  const changed = trust === 'changed';
  useEffect(() => {
    let cancelled = false;
    conversations.safetyNumber(user).then(
      async (groups) => {
        if (!groups) {
          if (!cancelled) setLoaded({ state: 'none' });
          return;
        }
        const qr = await QRCode.toDataURL(payloadOf(groups), {
          errorCorrectionLevel: 'M',
          margin: 2,
          width: 360,
        }).catch(() => null);
        if (!cancelled) setLoaded({ state: 'ready', groups, qr });
      },
      (reason: unknown) => {
        if (!cancelled) {
          setError(failure(reason));
          setLoaded({ state: 'none' });
        }
      },
    );
    return () => {
      cancelled = true;
    };
  }, [conversations, user, changed, failure]);

  async function toggle() {
    setBusy(true);
    setError(null);
    try {
      if (trust === 'verified') await conversations.setVerified(user, false);
      else {
        // Verifying the number shown, which after a change is the new key's.
        if (trust === 'changed') await conversations.acknowledgeKeyChange(user);
        await conversations.setVerified(user, true);
      }
    } catch (reason) {
      setError(failure(reason));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title={s.title(name)} lead={s.lead(name)} onClose={onClose}>
      {error ? <Alert>{error}</Alert> : null}
      {loaded.state === 'loading' ? (
        <p className="muted" role="status">
          <span className="spinner" aria-hidden="true" /> {s.loading}
        </p>
      ) : loaded.state === 'none' ? (
        error ? null : (
          <p className="muted">{s.none(name)}</p>
        )
      ) : (
        <>
          <div className="safety">
            <div className="safety-digits" role="group" aria-label={s.digits}>
              {loaded.groups.map((group, index) => (
                <span key={index}>{group}</span>
              ))}
            </div>
            {loaded.qr ? (
              <img
                className="safety-qr"
                src={loaded.qr}
                alt={s.qr(name)}
                width={180}
                height={180}
              />
            ) : null}
          </div>
          <p className={`safety-state ${trust}`} role="status">
            {trust === 'verified' ? (
              <Icon name="shield" />
            ) : trust === 'changed' ? (
              <Icon name="warning" />
            ) : null}
            {trust === 'verified'
              ? s.verified(name)
              : trust === 'changed'
                ? s.changed(name)
                : s.unverified(name)}
          </p>
          <div className="dialog-actions">
            <Button variant="ghost" onClick={onClose}>
              {t.rooms.close}
            </Button>
            <Button
              variant={trust === 'verified' ? 'secondary' : 'primary'}
              busy={busy}
              onClick={() => void toggle()}
            >
              {trust === 'verified' ? s.removeVerification : s.markVerified}
            </Button>
          </div>
        </>
      )}
    </Dialog>
  );
}
