import { useId, type InputHTMLAttributes, type ReactNode, type Ref } from 'react';

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'children'> {
  label: string;
  hint?: ReactNode;
  error?: string | null;
  /** Marks the input invalid when the reason is shown by a sibling (e.g. the strength meter). */
  invalid?: boolean;
  /** Shown under the input, before the hint: a strength meter, for instance. */
  children?: ReactNode;
  /** The input element (React 19 passes `ref` as a prop). */
  ref?: Ref<HTMLInputElement>;
}

/** A labelled input with an optional hint and error, wired for screen readers. */
export function Field({ label, hint, error, invalid = false, children, ...input }: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        aria-invalid={error || invalid ? true : undefined}
        aria-describedby={describedBy || undefined}
        {...input}
      />
      {children}
      {hint ? (
        <div id={hintId} className="field-hint">
          {hint}
        </div>
      ) : null}
      {error ? (
        <div id={errorId} className="field-error">
          {error}
        </div>
      ) : null}
    </div>
  );
}
