import type { DeviceInfo } from '@securechat/sdk';
import { useCallback, useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { client, forgetThisDevice } from '../../sdk/client';
import { forgetKnownDevice } from '../../sdk/knownDevice';
import { useFailureMessage, useSession } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Icon } from '../../ui/Icon';
import { formatDay, formatRelative, formatTime } from '../../ui/time';
import { AppShell } from '../shell/AppShell';

/** This device first, then the others from the most recently active. */
const byRelevance = (a: DeviceInfo, b: DeviceInfo): number =>
  Number(b.current) - Number(a.current) || b.lastSeenAt.localeCompare(a.lastSeenAt);

export function DevicesPage() {
  const { session, setSession } = useSession();
  const errorMessage = useFailureMessage();
  const navigate = useNavigate();
  const [devices, setDevices] = useState<DeviceInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<string | null>(null);

  const show = useCallback((list: DeviceInfo[]) => setDevices([...list].sort(byRelevance)), []);
  useEffect(() => {
    client.devices().then(show, (failure: unknown) => setError(errorMessage(failure)));
  }, [show, errorMessage]);

  async function revoke(device: DeviceInfo) {
    const question = device.current
      ? t.devices.confirmRevokeCurrent
      : t.devices.confirmRevoke(device.name);
    if (!window.confirm(question)) return;
    setError(null);
    setPending(device.id);
    try {
      await client.revokeDevice(device.id);
      if (device.current) {
        // This device is gone for good: so is what it kept of its conversations here.
        if (session) {
          forgetKnownDevice(session.user.username);
          void forgetThisDevice({ userId: session.user.id, deviceId: device.id });
        }
        setSession(null);
        void navigate('/login', { replace: true });
        return;
      }
      show(await client.devices());
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setPending(null);
    }
  }

  return (
    <AppShell label={t.devices.title} title={t.devices.title}>
      <div className="page">
        <header className="page-head">
          <h1>{t.devices.title}</h1>
          <p className="lead">{t.devices.lead}</p>
        </header>
        {error ? <Alert>{error}</Alert> : null}
        {devices === null ? (
          error ? null : (
            <p className="muted" role="status">
              {t.loading}
            </p>
          )
        ) : (
          <ul className="list card-list" aria-label={t.devices.title}>
            {devices.map((device) => (
              <li key={device.id} className="list-row">
                <span className="row-icon" aria-hidden="true">
                  <Icon name="laptop" />
                </span>
                <div className="list-main">
                  <div className="list-title">
                    {device.name}
                    {device.current ? <span className="badge">{t.devices.thisDevice}</span> : null}
                  </div>
                  <div className="list-meta">
                    {t.devices.added}{' '}
                    <time dateTime={device.createdAt} title={formatTime(device.createdAt)}>
                      {formatDay(device.createdAt)}
                    </time>
                    <span aria-hidden="true"> · </span>
                    {device.current ? (
                      t.devices.activeNow
                    ) : (
                      <>
                        {t.devices.lastSeen}{' '}
                        <time dateTime={device.lastSeenAt} title={formatTime(device.lastSeenAt)}>
                          {formatRelative(device.lastSeenAt)}
                        </time>
                      </>
                    )}
                  </div>
                </div>
                <Button
                  variant="danger"
                  aria-label={t.devices.revokeLabel(device.name)}
                  busy={pending === device.id}
                  onClick={() => void revoke(device)}
                >
                  {t.devices.revoke}
                </Button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </AppShell>
  );
}
