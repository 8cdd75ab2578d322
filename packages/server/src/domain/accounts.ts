/** Placeholder: accounts domain being implemented. */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { RegistrationMode } from '../config.js';
import type { Database } from '../storage/types.js';

export interface AccountsDeps {
  db: Kysely<Database>;
  now: () => number;
  opaqueServerSetup: string;
  registration: RegistrationMode;
  publicOrigin: string;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Accounts {}

export function createAccounts(_deps: AccountsDeps): Accounts {
  return {};
}
