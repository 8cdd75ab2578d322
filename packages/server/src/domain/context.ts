/**
 * What every accounts module is built from, and the two contexts actions take: who is asking
 * (the transport's view) and which session is signed in.
 */
import type { DeviceInfo, PublicUser } from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { RegistrationMode } from '../config.js';
import type { EventBus } from '../events/bus.js';
import type { Dialect } from '../storage/dialect.js';
import type { Database } from '../storage/types.js';
import type { Vault } from './vault.js';

export interface AccountsDeps {
  db: Kysely<Database>;
  /** Milliseconds since the epoch; tests move it. */
  now: () => number;
  /** The OPAQUE server setup (server key pair and OPRF seed). Never logged. */
  opaqueServerSetup: string;
  registration: RegistrationMode;
  /** `https://chat.example.org`: links (setup, invitations) are built on it. */
  publicOrigin: string;
  /** Where the first-run setup link is announced (pino's logger fits). */
  log: { warn(message: string): void };
  /**
   * Fan-out for the `devices` notices a sign-in or revocation writes (absent in the CLI: the
   * notices are stored all the same and reach members when they next resume).
   */
  bus?: Pick<EventBus, 'publish'> | undefined;
  /** Which database (for the few figures read differently on each); absent in some tests. */
  dialect?: Dialect | undefined;
  /** REQUIRE_2FA: an account without a second factor enrols at sign-in before any session. */
  requireSecondFactor: boolean;
  /** Encryption at rest of the values the server keeps but should not show a thief. */
  vault: Vault;
}

/** Who is asking, as far as the transport knows. */
export interface RequestContext {
  ip: string;
  userAgent?: string | undefined;
}

/** A valid session, as resolved from its cookie. */
export interface AuthContext {
  /** SHA-256 of the cookie token: the session row's id. */
  sessionId: string;
  user: PublicUser;
  device: Omit<DeviceInfo, 'current'>;
  /** When this session last confirmed the password (ms), or null. */
  reauthAt: number | null;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
