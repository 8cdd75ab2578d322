import { checkPassword, type PasswordCheck } from '@securechat/sdk';
import { useEffect, useState } from 'react';
import { t } from '../strings';

/** Debounced strength estimate for a password field. */
export function usePasswordCheck(password: string, username: string): PasswordCheck | null {
  const [check, setCheck] = useState<PasswordCheck | null>(null);
  useEffect(() => {
    let cancelled = false;
    const timer = setTimeout(() => {
      if (password === '') {
        setCheck(null);
        return;
      }
      void checkPassword(password, { username }).then((result) => {
        if (!cancelled) setCheck(result);
      });
    }, 150);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [password, username]);
  return password === '' ? null : check;
}

export function StrengthMeter({ check }: { check: PasswordCheck | null }) {
  const score = check?.score ?? 0;
  return (
    <div className="strength" data-score={check ? score : undefined}>
      <meter
        aria-label={t.auth.strength}
        min={0}
        max={4}
        low={2}
        high={3}
        optimum={4}
        value={check ? score : 0}
      />
      <div className="strength-text" aria-live="polite">
        {check ? (
          <>
            <strong>{check.label}</strong>
            {check.message ? <span> — {check.message}</span> : null}
          </>
        ) : (
          <span>{t.auth.strength}</span>
        )}
      </div>
    </div>
  );
}
