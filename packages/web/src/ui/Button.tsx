import type { ButtonHTMLAttributes } from 'react';

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost';

interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: Variant;
  /** Full width, as on the sign-in card. */
  wide?: boolean;
  /** Shows a spinner and disables the button while an action runs. */
  busy?: boolean;
}

/** The one button of the app. `type` defaults to "button" so no button submits by accident. */
export function Button({
  variant = 'secondary',
  wide = false,
  busy = false,
  className,
  type = 'button',
  disabled,
  children,
  ...rest
}: ButtonProps) {
  const classes = ['button', variant, wide ? 'wide' : null, className ?? null]
    .filter(Boolean)
    .join(' ');
  return (
    <button
      type={type}
      className={classes}
      disabled={disabled === true || busy}
      aria-busy={busy || undefined}
      {...rest}
    >
      {busy ? <span className="spinner" aria-hidden="true" /> : null}
      {children}
    </button>
  );
}
