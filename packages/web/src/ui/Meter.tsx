import { checkPassword, type PasswordCheck } from '@securechat/sdk';
import { useEffect, useState } from 'react';
import { t } from '../strings';

/**
 * Debounced strength estimate for a password field. The sdk loads the zxcvbn dictionaries on
 * the first call, so the first page paints without them.
 */
export function usePasswordCheck(password: string, username: string): PasswordCheck | null {
  const [check, setCheck] = useState<PasswordCheck | null>(null);
  useEffect(() => {
    if (password === '') return;
    let cancelled = false;
    const timer = setTimeout(() => {
      checkPassword(password, { username }).then(
        (result) => {
          if (!cancelled) setCheck(result);
        },
        () => {
          if (!cancelled) setCheck(null);
        },
      );
    }, 200);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [password, username]);
  return password === '' ? null : check;
}

/** Colour band of a score: the bar and label use it. */
const band = (score: number): 'bad' | 'fair' | 'good' =>
  score <= 1 ? 'bad' : score === 2 ? 'fair' : 'good';

/**
 * The password strength meter: a native <meter> for assistive tech (value 0–4) drawn as four
 * segments, with the label ("Strong") and, when the password is refused, the reason.
 */
export function StrengthMeter({ check }: { check: PasswordCheck | null }) {
  const score = check?.score ?? 0;
  const filled = check ? Math.max(1, score) : 0;
  return (
    <div className="strength" data-band={check ? band(score) : undefined}>
      <meter
        className="visually-hidden"
        aria-label={t.auth.strength}
        aria-valuetext={check?.label}
        min={0}
        max={4}
        low={2}
        high={3}
        optimum={4}
        value={score}
      />
      <div className="strength-bar" aria-hidden="true">
        {[1, 2, 3, 4].map((segment) => (
          <span key={segment} className={segment <= filled ? 'on' : undefined} />
        ))}
      </div>
      <div className="strength-text" aria-live="polite">
        {check ? (
          <>
            <strong className="strength-label">{check.label}</strong>
            {check.message ? <span> — {check.message}</span> : null}
            {!check.ok && check.suggestions[0] ? (
              <span className="strength-tip"> {check.suggestions[0]}</span>
            ) : null}
          </>
        ) : (
          <span>{t.auth.strengthHint}</span>
        )}
      </div>
    </div>
  );
}
