import { useId } from 'react';

export interface Option<T extends string> {
  value: T;
  label: string;
  hint?: string;
}

/** A titled set of radio choices, each with a label and an optional hint. */
export function OptionGroup<T extends string>({
  legend,
  options,
  value,
  onChange,
}: {
  legend: string;
  options: readonly Option<T>[];
  value: T;
  onChange: (value: T) => void;
}) {
  const name = useId();
  return (
    <fieldset className="option-group">
      <legend>{legend}</legend>
      {options.map((option) => (
        <label key={option.value} className="option">
          <input
            type="radio"
            name={name}
            checked={value === option.value}
            onChange={() => onChange(option.value)}
          />
          <span>
            <span className="option-label">{option.label}</span>
            {option.hint ? <span className="option-hint">{option.hint}</span> : null}
          </span>
        </label>
      ))}
    </fieldset>
  );
}
