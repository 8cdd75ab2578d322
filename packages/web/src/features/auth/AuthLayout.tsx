import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { Brand, LockIcon } from '../../ui/Brand';
import { t } from '../../strings';

/** The centred card every signed-out page uses. */
export function AuthLayout({
  title,
  lead,
  children,
}: {
  title: string;
  lead: string;
  children: ReactNode;
}) {
  return (
    <div className="auth-page">
      <main className="auth-card" aria-labelledby="auth-title">
        <Link to="/" className="auth-brand" aria-label={t.product}>
          <Brand />
        </Link>
        <h1 id="auth-title">{title}</h1>
        <p className="lead">{lead}</p>
        {children}
      </main>
      <p className="auth-footer">
        <LockIcon /> {t.e2ee} · <Link to="/about">{t.shell.about}</Link>
      </p>
    </div>
  );
}
