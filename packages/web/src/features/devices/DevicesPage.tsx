import type { DeviceInfo } from '@securechat/sdk';
import { useCallback, useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { client, forgetThisDevice } from '../../sdk/client';
import { forgetKnownDevice } from '../../sdk/knownDevice';
import { useFailureMessage, useSession } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { Dialog } from '../../ui/Dialog';
import { Icon } from '../../ui/Icon';
import { formatRelative, formatTime } from '../../ui/time';
import { AppShell } from '../shell/AppShell';

/**
 * Names people can tell apart: two browsers of one kind read "Chrome on Linux (1)" and
 * "Chrome on Linux (2)", numbered in the order they were added.
 */
function labelsOf(devices: readonly DeviceInfo[]): Map<string, string> {
  const byName = new Map<string, DeviceInfo[]>();
  for (const device of devices)
    byName.set(device.name, [...(byName.get(device.name) ?? []), device]);
  const labels = new Map<string, string>();
  for (const [name, same] of byName) {
    const ordered = [...same].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    ordered.forEach((device, index) =>
      labels.set(device.id, same.length === 1 ? name : t.devices.numbered(name, index + 1)),
    );
  }
  return labels;
}

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
  const [confirming, setConfirming] = useState<DeviceInfo | null>(null);
  const [endingOthers, setEndingOthers] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const labels = labelsOf(devices ?? []);
  const labelOf = (device: DeviceInfo) => labels.get(device.id) ?? device.name;

  const show = useCallback((list: DeviceInfo[]) => setDevices([...list].sort(byRelevance)), []);
  useEffect(() => {
    client.devices().then(show, (failure: unknown) => setError(errorMessage(failure)));
  }, [show, errorMessage]);

  async function revoke(device: DeviceInfo) {
    setConfirming(null);
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
        {notice ? <Alert kind="success">{notice}</Alert> : null}
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
                    {labelOf(device)}
                    {device.current ? <span className="badge">{t.devices.thisDevice}</span> : null}
                  </div>
                  <div className="list-meta">
                    {t.devices.added}{' '}
                    <time dateTime={device.createdAt}>{formatTime(device.createdAt)}</time>
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
                  aria-label={t.devices.revokeLabel(labelOf(device))}
                  busy={pending === device.id}
                  onClick={() => setConfirming(device)}
                >
                  {t.devices.revoke}
                </Button>
              </li>
            ))}
          </ul>
        )}
        <section className="card" aria-labelledby="others-title">
          <div className="card-head">
            <div className="card-intro">
              <h2 id="others-title">{t.devices.othersTitle}</h2>
              <p className="muted">{t.devices.othersLead}</p>
            </div>
            <Button
              variant="danger"
              onClick={() => {
                setNotice(null);
                setEndingOthers(true);
              }}
            >
              {t.devices.signOutOthers}
            </Button>
          </div>
        </section>
      </div>
      {endingOthers ? (
        <ConfirmDialog
          title={t.devices.confirmOthersTitle}
          lead={t.devices.confirmOthers}
          confirm={t.devices.signOutOthers}
          busyLabel={t.devices.signingOutOthers}
          onConfirm={async () => {
            try {
              setNotice(t.devices.othersEnded(await client.signOutOthers()));
              return null;
            } catch (failure) {
              return errorMessage(failure);
            }
          }}
          onClose={() => setEndingOthers(false)}
        />
      ) : null}
      {confirming ? (
        <Dialog
          title={t.devices.confirmTitle(labelOf(confirming))}
          lead={confirming.current ? t.devices.confirmRevokeCurrent : t.devices.confirmRevoke}
          onClose={() => setConfirming(null)}
        >
          <div className="dialog-actions">
            <Button variant="ghost" onClick={() => setConfirming(null)}>
              {t.conversation.cancel}
            </Button>
            <Button variant="danger" autoFocus onClick={() => void revoke(confirming)}>
              {t.devices.revoke}
            </Button>
          </div>
        </Dialog>
      ) : null}
    </AppShell>
  );
}
