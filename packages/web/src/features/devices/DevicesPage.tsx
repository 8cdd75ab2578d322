import type { DeviceInfo } from '@securechat/sdk';
import { useCallback, useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { client } from '../../sdk/client';
import { useSession } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { errorMessage } from '../../ui/errors';
import { formatTime } from '../../ui/format';
import { AppShell } from '../shell/AppShell';

export function DevicesPage() {
  const { setSession } = useSession();
  const navigate = useNavigate();
  const [devices, setDevices] = useState<DeviceInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setDevices(await client.devices());
    } catch (failure) {
      setError(errorMessage(failure));
    }
  }, []);
  useEffect(() => {
    client.devices().then(setDevices, (failure: unknown) => setError(errorMessage(failure)));
  }, []);

  async function revoke(device: DeviceInfo) {
    const question = device.current
      ? t.devices.confirmRevokeCurrent
      : t.devices.confirmRevoke(device.name);
    if (!window.confirm(question)) return;
    try {
      await client.revokeDevice(device.id);
      if (device.current) {
        setSession(null);
        void navigate('/login', { replace: true });
        return;
      }
      await load();
    } catch (failure) {
      setError(errorMessage(failure));
    }
  }

  return (
    <AppShell label={t.devices.title}>
      <div className="page">
        <h1>{t.devices.title}</h1>
        <p className="lead">{t.devices.lead}</p>
        {error ? <Alert>{error}</Alert> : null}
        {devices === null ? (
          <p className="muted">{t.loading}</p>
        ) : (
          <ul className="list" aria-label={t.devices.title}>
            {devices.map((device) => (
              <li key={device.id} className="list-row">
                <div className="list-main">
                  <div className="list-title">
                    {device.name}
                    {device.current ? <span className="badge">{t.devices.thisDevice}</span> : null}
                  </div>
                  <div className="list-meta">
                    {t.devices.added} {formatTime(device.createdAt)} · {t.devices.lastSeen}{' '}
                    {formatTime(device.lastSeenAt)}
                  </div>
                </div>
                <button
                  type="button"
                  className="button danger-outline"
                  aria-label={t.devices.revokeLabel(device.name)}
                  onClick={() => void revoke(device)}
                >
                  {t.devices.revoke}
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </AppShell>
  );
}
