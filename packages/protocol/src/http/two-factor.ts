/**
 * Two-factor sign-in over HTTP (TOTP, RFC 6238, with single-use recovery codes).
 *
 * A sign-in whose OPAQUE proof is right, for an account with a second factor (or on a server
 * with REQUIRE_2FA, for one without: then it must enrol first), is answered with a
 * `SecondFactorChallenge` instead of a session: a short-lived ticket, the only authority of
 * the second step. No session exists until the second step succeeds.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Limits } from '../limits.js';
import { DeviceCredential, SessionResponse, Timestamp, Token } from './schemas.js';

const strict = { additionalProperties: false } as const;

/** A TOTP code: Limits.TOTP_DIGITS decimal digits. */
export const TotpCode = Type.String({ pattern: `^[0-9]{${Limits.TOTP_DIGITS}}$` });

/**
 * A recovery code as handed out: two groups of five base32 letters and digits, lower case,
 * joined by a dash (`abcde-fgh23`). Clients normalize what people type before sending.
 */
export const RecoveryCode = Type.String({ pattern: '^[a-z2-7]{5}-[a-z2-7]{5}$' });

/** What a sign-in's second step must do: give a code, or enrol first (REQUIRE_2FA). */
export const SecondFactorStep = Type.Union([Type.Literal('verify'), Type.Literal('enrol')]);
export type SecondFactorStep = Static<typeof SecondFactorStep>;

export const SecondFactorChallenge = Type.Object(
  {
    secondFactor: Type.Object(
      { ticket: Token, step: SecondFactorStep, expiresAt: Timestamp },
      strict,
    ),
  },
  strict,
);
export type SecondFactorChallenge = Static<typeof SecondFactorChallenge>;

/** A sign-in's (or, with REQUIRE_2FA, a registration's) answer: a session, or a second step. */
export const SignInResponse = Type.Union([SessionResponse, SecondFactorChallenge]);
export type SignInResponse = Static<typeof SignInResponse>;

/** A code from the authenticator app, or one of the recovery codes: exactly one of the two. */
const SecondFactorProof = {
  code: Type.Optional(TotpCode),
  recoveryCode: Type.Optional(RecoveryCode),
};

export const SecondFactorRequest = Type.Object(
  {
    ticket: Token,
    ...SecondFactorProof,
    /** As in a sign-in's finish: reuse this browser's device. */
    device: Type.Optional(DeviceCredential),
  },
  strict,
);
export type SecondFactorRequest = Static<typeof SecondFactorRequest>;

/** A new TOTP secret, for the authenticator app: as text (base32) and as an otpauth:// URI. */
export const TotpSetupResponse = Type.Object({ secret: Type.String(), uri: Type.String() }, strict);
export type TotpSetupResponse = Static<typeof TotpSetupResponse>;

/** Recovery codes, shown once: the server keeps only their hashes. */
export const RecoveryCodesResponse = Type.Object(
  {
    recoveryCodes: Type.Array(RecoveryCode, {
      minItems: Limits.RECOVERY_CODES,
      maxItems: Limits.RECOVERY_CODES,
    }),
  },
  strict,
);
export type RecoveryCodesResponse = Static<typeof RecoveryCodesResponse>;

/** Enrolment during a sign-in (REQUIRE_2FA): the ticket is the authority. */
export const EnrolStartRequest = Type.Object({ ticket: Token }, strict);
export type EnrolStartRequest = Static<typeof EnrolStartRequest>;

export const EnrolFinishRequest = Type.Object(
  { ticket: Token, code: TotpCode, device: Type.Optional(DeviceCredential) },
  strict,
);
export type EnrolFinishRequest = Static<typeof EnrolFinishRequest>;

/** The session the enrolment opened, and the new recovery codes. */
export const EnrolFinishResponse = Type.Composite([SessionResponse, RecoveryCodesResponse], strict);
export type EnrolFinishResponse = Static<typeof EnrolFinishResponse>;

/** The signed-in user's second factors. */
export const TwoFactorStatus = Type.Object(
  {
    totp: Type.Boolean(),
    /** Unused recovery codes. */
    recoveryCodesLeft: Type.Integer({ minimum: 0 }),
    /** REQUIRE_2FA: turning the last second factor off is refused. */
    required: Type.Boolean(),
  },
  strict,
);
export type TwoFactorStatus = Static<typeof TwoFactorStatus>;

/** Confirm a new TOTP secret with its first code. */
export const TotpConfirmRequest = Type.Object({ code: TotpCode }, strict);
export type TotpConfirmRequest = Static<typeof TotpConfirmRequest>;

/** Turn TOTP off, or make new recovery codes: a fresh code (or a recovery code) first. */
export const FreshCodeRequest = Type.Object(SecondFactorProof, strict);
export type FreshCodeRequest = Static<typeof FreshCodeRequest>;
