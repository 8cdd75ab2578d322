/**
 * Two-factor sign-in over HTTP: TOTP (RFC 6238) with single-use recovery codes, and passkeys
 * (WebAuthn) as a second factor.
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

/** The second factors an account can sign in with. */
export const SecondFactorMethod = Type.Union([Type.Literal('totp'), Type.Literal('passkey')]);
export type SecondFactorMethod = Static<typeof SecondFactorMethod>;

export const SecondFactorChallenge = Type.Object(
  {
    secondFactor: Type.Object(
      {
        ticket: Token,
        step: SecondFactorStep,
        expiresAt: Timestamp,
        /** What this account has (`verify`), or can enrol at sign-in (`enrol`: TOTP). */
        methods: Type.Array(SecondFactorMethod, { maxItems: 2 }),
      },
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
    /** Passkeys registered. */
    passkeys: Type.Integer({ minimum: 0 }),
    /** Unused recovery codes. */
    recoveryCodesLeft: Type.Integer({ minimum: 0 }),
    /** REQUIRE_2FA: removing the last second factor is refused. */
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

// Passkeys (WebAuthn). The server makes the ceremony's options (RP id and origin from
// PUBLIC_ORIGIN, user verification required) and checks the browser's answer with
// @simplewebauthn/server; the shapes below bound what it reads.

const B64 = Type.String({
  pattern: '^[A-Za-z0-9_-]*$',
  maxLength: Limits.WEBAUTHN_FIELD_MAX_LENGTH,
});
/** A credential id: at most 1023 bytes (WebAuthn), base64url. */
const CredentialId = Type.String({ pattern: '^[A-Za-z0-9_-]{16,1364}$' });
/** What the browser's extensions answered (credProps…): passed through to the verifier. */
const ClientExtensionResults = Type.Object({}, { additionalProperties: true, maxProperties: 16 });
const Attachment = Type.Optional(
  Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')]),
);

/** A passkey's public options for the browser (`navigator.credentials.create` or `.get`). */
export const PasskeyOptionsResponse = Type.Object(
  { options: Type.Record(Type.String(), Type.Unknown()) },
  strict,
);
export type PasskeyOptionsResponse = Static<typeof PasskeyOptionsResponse>;

/** The browser's answer to `navigator.credentials.create` (RegistrationResponseJSON). */
export const PasskeyRegistration = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    response: Type.Object(
      {
        clientDataJSON: B64,
        attestationObject: B64,
        authenticatorData: Type.Optional(B64),
        transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8 })),
        publicKeyAlgorithm: Type.Optional(Type.Integer()),
        publicKey: Type.Optional(B64),
      },
      strict,
    ),
    authenticatorAttachment: Attachment,
    clientExtensionResults: ClientExtensionResults,
    type: Type.Literal('public-key'),
  },
  strict,
);
export type PasskeyRegistration = Static<typeof PasskeyRegistration>;

/** The browser's answer to `navigator.credentials.get` (AuthenticationResponseJSON). */
export const PasskeyAssertion = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    response: Type.Object(
      {
        clientDataJSON: B64,
        authenticatorData: B64,
        signature: B64,
        userHandle: Type.Optional(B64),
      },
      strict,
    ),
    authenticatorAttachment: Attachment,
    clientExtensionResults: ClientExtensionResults,
    type: Type.Literal('public-key'),
  },
  strict,
);
export type PasskeyAssertion = Static<typeof PasskeyAssertion>;

const PasskeyName = Type.String({ minLength: 1, maxLength: Limits.PASSKEY_NAME_MAX_LENGTH });

export const PasskeyInfo = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    createdAt: Timestamp,
    lastUsedAt: Type.Union([Timestamp, Type.Null()]),
  },
  strict,
);
export type PasskeyInfo = Static<typeof PasskeyInfo>;

export const PasskeysResponse = Type.Object({ passkeys: Type.Array(PasskeyInfo) }, strict);
export type PasskeysResponse = Static<typeof PasskeysResponse>;

export const PasskeyAddRequest = Type.Object(
  { name: PasskeyName, credential: PasskeyRegistration },
  strict,
);
export type PasskeyAddRequest = Static<typeof PasskeyAddRequest>;

export const PasskeyRenameRequest = Type.Object({ name: PasskeyName }, strict);
export type PasskeyRenameRequest = Static<typeof PasskeyRenameRequest>;

export const PasskeyParams = Type.Object({ passkeyId: CredentialId }, strict);
export type PasskeyParams = Static<typeof PasskeyParams>;

/** A sign-in's second step with a passkey. */
export const PasskeySignInRequest = Type.Object(
  { ticket: Token, credential: PasskeyAssertion, device: Type.Optional(DeviceCredential) },
  strict,
);
export type PasskeySignInRequest = Static<typeof PasskeySignInRequest>;
