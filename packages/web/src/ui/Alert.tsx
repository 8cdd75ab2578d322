import type { ReactNode } from 'react';
import { Icon } from './Icon';

/**
 * A message box. `error` is role=alert (announced at once), `success` is role=status (polite),
 * `info` is a plain note: a page shows at most one alert, so tests and screen readers find it.
 */
export function Alert({
  kind = 'error',
  children,
}: {
  kind?: 'error' | 'success' | 'info';
  children: ReactNode;
}) {
  const role = kind === 'error' ? 'alert' : kind === 'success' ? 'status' : 'note';
  return (
    <div className={`alert alert-${kind}`} role={role}>
      {kind === 'info' ? <Icon name="shield" /> : null}
      <div>{children}</div>
    </div>
  );
}
