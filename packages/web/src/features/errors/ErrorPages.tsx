import { Component, type ErrorInfo, type ReactNode } from 'react';
import { Link } from 'react-router';
import { t } from '../../strings';
import { Brand } from '../../ui/Brand';
import { Button } from '../../ui/Button';
import { usePageTitle } from '../../ui/usePageTitle';

function ErrorLayout({
  code,
  title,
  lead,
  action,
}: {
  code: string;
  title: string;
  lead: string;
  action: ReactNode;
}) {
  return (
    <div className="auth-page">
      <main className="auth-card center-text" aria-labelledby="error-title">
        <div className="auth-brand">
          <Brand />
        </div>
        <p className="eyebrow">{code}</p>
        <h1 id="error-title">{title}</h1>
        <p className="lead">{lead}</p>
        {action}
      </main>
    </div>
  );
}

export function NotFoundPage() {
  usePageTitle(t.errors.notFound);
  return (
    <ErrorLayout
      code="404"
      title={t.errors.notFound}
      lead={t.errors.notFoundLead}
      action={
        <Link className="button primary" to="/">
          {t.errors.home}
        </Link>
      }
    />
  );
}

export class ErrorBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override componentDidCatch(_error: Error, _info: ErrorInfo): void {
    // Nothing is sent anywhere: errors may contain user content.
    document.title = `${t.errors.crashed} · ${t.product}`;
  }

  override render(): ReactNode {
    if (!this.state.failed) return this.props.children;
    return (
      <ErrorLayout
        code="500"
        title={t.errors.crashed}
        lead={t.errors.crashedLead}
        action={
          <Button variant="primary" onClick={() => window.location.reload()}>
            {t.errors.reload}
          </Button>
        }
      />
    );
  }
}
