import { sql, type Kysely } from 'kysely';
import type { Database } from '../storage/types.js';

/** Answers only when the database answers a trivial query. */
export async function checkDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
