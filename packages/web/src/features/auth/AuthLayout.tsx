import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { Brand } from '../../ui/Brand';
import { Icon } from '../../ui/Icon';
import { t } from '../../strings';

/** The centred card every signed-out page uses. */
export function AuthLayout({
  title,
  lead,
  wide = false,
  children,
}: {
  title: string;
  lead: string;
  /** A wider card, for reading (About). */
  wide?: boolean;
  children: ReactNode;
}) {
  return (
    <div className="auth-page">
      <main className={wide ? 'auth-card wide' : 'auth-card'} aria-labelledby="auth-title">
        <Link to="/" className="auth-brand">
          <Brand />
        </Link>
        <h1 id="auth-title">{title}</h1>
        <p className="lead">{lead}</p>
        {children}
      </main>
      <footer className="auth-footer">
        <Icon name="lock" />
        <span>{t.e2ee}</span>
        <span aria-hidden="true">·</span>
        <Link to="/about">{t.shell.about}</Link>
      </footer>
    </div>
  );
}
