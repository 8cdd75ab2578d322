import { useState } from 'react';
import { t } from '../../strings';
import { Button } from '../../ui/Button';
import { Icon } from '../../ui/Icon';

/** A link shown once (the server keeps only a hash of its token), with a copy button. */
export function OneTimeLink({
  title,
  label,
  hint,
  url,
}: {
  title: string;
  label: string;
  hint: string;
  url: string;
}) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="invite-link">
      <p className="invite-link-title">
        <Icon name="link" /> {title}
      </p>
      <div className="copy-row">
        <input readOnly value={url} aria-label={label} onFocus={(e) => e.target.select()} />
        <Button
          variant="primary"
          onClick={() => {
            void navigator.clipboard?.writeText(url).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {t.admin.copy}
        </Button>
      </div>
      <p className="field-hint" role="status">
        {copied ? t.admin.copied : hint}
      </p>
    </div>
  );
}
