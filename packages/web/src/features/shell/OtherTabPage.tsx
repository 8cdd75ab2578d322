import { useEffect, useRef } from 'react';
import { t } from '../../strings';
import { Brand } from '../../ui/Brand';
import { Button } from '../../ui/Button';
import { Icon } from '../../ui/Icon';
import { usePageTitle } from '../../ui/usePageTitle';
import { useRealtime, useRealtimeStore } from '../conversation/RealtimeProvider';

/**
 * Instead of the chat, in a tab of this browser while another tab has this device's
 * conversations open: two tabs would each advance the encryption state and break it. "Use it
 * here" asks the other tab to hand them over.
 */
export function OtherTabPage() {
  usePageTitle(t.otherTab.title);
  const store = useRealtimeStore();
  const { tab } = useRealtime();
  const taking = tab === 'taking';
  const heading = useRef<HTMLHeadingElement>(null);
  // A tab that just handed its conversations over lands here: say so to screen readers too.
  useEffect(() => heading.current?.focus(), []);

  return (
    <div className="auth-page">
      <main className="auth-card center-text other-tab" aria-labelledby="other-tab-title">
        <div className="auth-brand">
          <Brand />
        </div>
        <div className="empty-art other-tab-art" aria-hidden="true">
          <Icon name="shield" />
        </div>
        <h1 id="other-tab-title" ref={heading} tabIndex={-1}>
          {t.otherTab.title}
        </h1>
        <p className="lead">{t.otherTab.lead}</p>
        <p className="muted other-tab-hint">{t.otherTab.hint}</p>
        <Button variant="primary" wide busy={taking} onClick={() => store.takeOver()}>
          {taking ? t.otherTab.opening : t.otherTab.useHere}
        </Button>
        <p className="visually-hidden" role="status">
          {taking ? t.otherTab.waiting : ''}
        </p>
      </main>
      <footer className="auth-footer">
        <Icon name="lock" />
        <span>{t.e2ee}</span>
      </footer>
    </div>
  );
}
