import { useState } from 'react';
import { t } from '../../strings';
import { Icon } from '../../ui/Icon';

/** Set by a sign-in that made a new device; cleared when the notice is dismissed. */
const KEY = 'securechat.newDeviceNotice';

/** Show the new-device notice (once: until dismissed) after this sign-in. */
export function markNewDevice(): void {
  try {
    sessionStorage.setItem(KEY, '1');
  } catch {
    // Storage refused: no notice.
  }
}

function pending(): boolean {
  try {
    return sessionStorage.getItem(KEY) === '1';
  } catch {
    return false;
  }
}

/**
 * "This is a new device": after a sign-in that made one, a new device has none of the history
 * sent before it joined, and it says so once.
 */
export function NewDeviceNotice() {
  const [shown, setShown] = useState(pending);
  if (!shown) return null;
  return (
    <div className="shell-notice" role="status">
      <Icon name="laptop" />
      <p>{t.shell.newDevice}</p>
      <button
        type="button"
        className="button ghost small"
        onClick={() => {
          try {
            sessionStorage.removeItem(KEY);
          } catch {
            // nothing kept
          }
          setShown(false);
        }}
      >
        {t.shell.dismiss}
      </button>
    </div>
  );
}
