import type { ServerInfo } from '@securechat/sdk';
import { useEffect, useState } from 'react';
import { client } from '../../sdk/client';
import { useSession } from '../../session';
import { t } from '../../strings';
import { Icon } from '../../ui/Icon';
import { usePageTitle } from '../../ui/usePageTitle';
import { AuthLayout } from '../auth/AuthLayout';
import { AppShell } from '../shell/AppShell';

/**
 * What protects a user and what the server can see or decide, in the plain words of the threat
 * model. Only what the code does now, with what is not built yet said plainly.
 */
function AboutContent({ info }: { info: ServerInfo | null }) {
  return (
    <>
      <div className="about-grid">
        <section className="about-section" aria-labelledby="about-protected">
          <h2 id="about-protected">
            <span className="about-icon good" aria-hidden="true">
              <Icon name="lock" />
            </span>
            {t.about.protectedNow}
          </h2>
          <ul>
            {t.about.protections.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </section>
        <section className="about-section" aria-labelledby="about-can">
          <h2 id="about-can">
            <span className="about-icon" aria-hidden="true">
              <Icon name="eye" />
            </span>
            {t.about.serverCan}
          </h2>
          <ul>
            {t.about.can.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </section>
      </div>
      <section className="about-section about-limits" aria-labelledby="about-limits">
        <h2 id="about-limits">{t.about.limits}</h2>
        <ul>
          {t.about.limitsList.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      </section>
      <p className="about-note">{t.about.outOfScope}</p>
      <dl className="about-facts">
        <div>
          <dt>{t.about.server}</dt>
          <dd>{info?.name ?? '—'}</dd>
        </div>
        <div>
          <dt>{t.about.version}</dt>
          <dd>{info?.version ?? '—'}</dd>
        </div>
        <div>
          <dt>{t.about.registration}</dt>
          <dd>{info ? t.about.registrationMode[info.registration] : '—'}</dd>
        </div>
      </dl>
    </>
  );
}

export function AboutPage() {
  const { session } = useSession();
  const [info, setInfo] = useState<ServerInfo | null>(null);
  usePageTitle(t.about.title);
  useEffect(() => {
    client.serverInfo().then(setInfo, () => setInfo(null));
  }, []);
  if (!session) {
    return (
      <AuthLayout title={t.about.title} lead={t.about.lead} wide>
        <AboutContent info={info} />
      </AuthLayout>
    );
  }
  return (
    <AppShell label={t.about.title} title={t.about.title}>
      <div className="page">
        <header className="page-head">
          <h1>{t.about.title}</h1>
          <p className="lead">{t.about.lead}</p>
        </header>
        <div className="card">
          <AboutContent info={info} />
        </div>
      </div>
    </AppShell>
  );
}
