import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The client address a login attempt came from, so an attempt left unfinished (a wrong
 * password ends in the client, before the second step) is audited as a failed sign-in from
 * that address when it expires.
 */
export function loginAttemptAddress(_dialect: Dialect) {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('login_attempts').addColumn('ip', 'text').execute();
    },
  };
}
