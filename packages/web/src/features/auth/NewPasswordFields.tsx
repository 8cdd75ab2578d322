import { Limits, type PasswordCheck } from '@securechat/sdk';
import { t } from '../../strings';
import { Field } from '../../ui/Field';
import { StrengthMeter } from '../../ui/Meter';

/**
 * A new password and its confirmation, with the strength meter: registration and reset.
 * `errors.password` of '' marks the field invalid when the reason is shown elsewhere.
 */
export function NewPasswordFields({
  label,
  password,
  confirm,
  check,
  errors,
  onPassword,
  onConfirm,
}: {
  label: string;
  password: string;
  confirm: string;
  check: PasswordCheck | null;
  errors: { password?: string; confirm?: string };
  onPassword: (value: string) => void;
  onConfirm: (value: string) => void;
}) {
  return (
    <>
      <Field
        label={label}
        name="new-password"
        type="password"
        autoComplete="new-password"
        required
        minLength={Limits.PASSWORD_MIN_LENGTH}
        error={errors.password || null}
        invalid={errors.password !== undefined}
        value={password}
        onChange={(e) => onPassword(e.target.value)}
      >
        <StrengthMeter check={check} />
      </Field>
      <Field
        label={t.auth.confirmPassword}
        name="confirm-password"
        type="password"
        autoComplete="new-password"
        required
        error={errors.confirm ?? null}
        value={confirm}
        onChange={(e) => onConfirm(e.target.value)}
      />
    </>
  );
}
