import { useEffect, useState } from 'react';
import { client } from '../../sdk/client';
import { useSession } from '../../session';
import { t } from '../../strings';
import { AuthLayout } from '../auth/AuthLayout';
import { AppShell } from '../shell/AppShell';

function AboutContent({ version }: { version: string | null }) {
  return (
    <>
      <section className="about-section">
        <h2>{t.about.serverCannot}</h2>
        <ul className="checks">
          {t.about.cannot.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      </section>
      <section className="about-section">
        <h2>{t.about.serverCan}</h2>
        <ul className="dots">
          {t.about.can.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
        <p className="muted">{t.about.outOfScope}</p>
      </section>
      {version ? (
        <p className="muted small">
          {t.about.version}: {version}
        </p>
      ) : null}
    </>
  );
}

export function AboutPage() {
  const { session } = useSession();
  const [version, setVersion] = useState<string | null>(null);
  useEffect(() => {
    client.serverInfo().then(
      (info) => setVersion(info.version),
      () => setVersion(null),
    );
  }, []);
  if (!session) {
    return (
      <AuthLayout title={t.about.title} lead={t.about.lead}>
        <AboutContent version={version} />
      </AuthLayout>
    );
  }
  return (
    <AppShell label={t.about.title}>
      <div className="page">
        <h1>{t.about.title}</h1>
        <p className="lead">{t.about.lead}</p>
        <div className="card">
          <AboutContent version={version} />
        </div>
      </div>
    </AppShell>
  );
}
