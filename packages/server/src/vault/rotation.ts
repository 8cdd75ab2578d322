/**
 * `securechat keys rotate` and `keys status` (docs/operations.md, "Keys and rotation").
 *
 * A rotation, resumable at every step (run it again after a crash):
 *   1. a new master key is written beside the key file (`<file>.next`, 0600) — or the one a
 *      cut-short rotation left there is taken up again;
 *   2. every data key is re-wrapped by it (nodes read both key files, so they open keys
 *      wrapped by either);
 *   3. each purpose that has sealed columns gets a new data key (the blind-index key is only
 *      re-wrapped: indexes stay valid); after two keyring refreshes every node seals with it;
 *   4. every sealed value not under its purpose's new key is re-encrypted, in batches, while
 *      the servers run (a row changed meanwhile is left for the next pass), until two passes
 *      a wait apart find none left;
 *   5. once no value names them, the old data keys are deleted, and `<file>.next` replaces
 *      the key file (an atomic rename): the old master key opens nothing any more.
 */
import { sql, type Kysely } from 'kysely';
import type { SealPurpose } from '../domain/vault.js';
import { isUniqueViolation } from '../storage/errors.js';
import type { Database } from '../storage/types.js';
import { randomBytes } from 'node:crypto';
import { KEYRING_REFRESH_MS, type DataKey, type Keyring, type KeyPurpose } from './keyring.js';
import {
  nextFileOf,
  promoteNextKeyFile,
  VaultKeyError,
  writeNewKeyFile,
  type MasterKey,
} from './master-key.js';

type DB = Kysely<Database>;

/** A column that holds sealed values, and the primary key of its rows. */
interface SealedColumn {
  table: keyof Database;
  column: string;
  purpose: SealPurpose;
  key: readonly string[];
}

/**
 * Every column that holds sealed values. A purpose is rotated (new data key, values
 * re-encrypted, old key deleted) only when it is listed here; a purpose that is not keeps its
 * data key, re-wrapped by the new master key, so nothing becomes unreadable.
 */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: 'users', column: 'username', purpose: 'username', key: ['id'] },
  { table: 'rooms', column: 'name', purpose: 'room-name', key: ['id'] },
  { table: 'rooms', column: 'topic', purpose: 'room-topic', key: ['id'] },
  { table: 'devices', column: 'name', purpose: 'device-name', key: ['id'] },
  { table: 'audit_log', column: 'ip', purpose: 'audit-address', key: ['id'] },
  { table: 'login_attempts', column: 'ip', purpose: 'audit-address', key: ['id'] },
  { table: 'events', column: 'notice', purpose: 'notice', key: ['room_id', 'seq'] },
  { table: 'invites', column: 'meta', purpose: 'link-meta', key: ['id'] },
  { table: 'reset_links', column: 'meta', purpose: 'link-meta', key: ['token_hash'] },
  { table: 'totp', column: 'secret', purpose: 'totp-secret', key: ['user_id'] },
  { table: 'second_factor_tickets', column: 'ip', purpose: 'audit-address', key: ['id'] },
];

const ROTATED: ReadonlySet<KeyPurpose> = new Set(SEALED_COLUMNS.map((c) => c.purpose));

export interface KeyStatus {
  id: string;
  purpose: string;
  generation: number;
  masterId: string;
  current: boolean;
  /** Sealed values in the database that name this key. */
  values: number;
}

export interface VaultStatus {
  master: { current: string; next: string | null };
  keys: KeyStatus[];
  /** Values whose key id names no key (should be 0). */
  orphans: number;
}

/** How many values each key id seals, over every sealed column. */
async function countByKey(db: DB): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const { table, column } of SEALED_COLUMNS) {
    const rows = await sql<{ key_id: string; n: number | string }>`
      select substr(${sql.ref(column)}, 4, 12) as key_id, count(*) as n
      from ${sql.table(table)} where ${sql.ref(column)} is not null
      group by substr(${sql.ref(column)}, 4, 12)`.execute(db);
    for (const row of rows.rows)
      counts.set(row.key_id, (counts.get(row.key_id) ?? 0) + Number(row.n));
  }
  return counts;
}

export async function vaultStatus(keyring: Keyring, db: DB): Promise<VaultStatus> {
  await keyring.reload();
  const counts = await countByKey(db);
  const keys = keyring
    .keys()
    .sort((a, b) => a.purpose.localeCompare(b.purpose) || a.generation - b.generation)
    .map((key) => ({
      id: key.id,
      purpose: key.purpose,
      generation: key.generation,
      masterId: key.masterId,
      current: keyring.current(key.purpose).id === key.id,
      values: counts.get(key.id) ?? 0,
    }));
  const known = new Set(keys.map((k) => k.id));
  const orphans = [...counts].reduce((sum, [id, n]) => (known.has(id) ? sum : sum + n), 0);
  const { current, next } = keyring.masters();
  return { master: { current: current.id, next: next?.id ?? null }, keys, orphans };
}

export interface RotateOptions {
  /** Rows re-encrypted per batch. */
  batch?: number;
  /** How long new data keys are given to reach every node before re-encryption starts. */
  graceMs?: number;
  log?: (line: string) => void;
}

/** Re-wrap every data key not wrapped by `next`. */
async function rewrap(keyring: Keyring, db: DB, next: MasterKey): Promise<number> {
  let count = 0;
  for (const key of keyring.keys()) {
    if (key.masterId === next.id) continue;
    await db
      .updateTable('vault_keys')
      .set({
        master_id: next.id,
        wrapped: keyring.wrap(next, key.id, key.purpose, key.generation, key.key),
      })
      .where('id', '=', key.id)
      .where('master_id', '=', key.masterId)
      .execute();
    count += 1;
  }
  return count;
}

/** A new data key for each rotated purpose, unless this rotation already made it. */
async function newDataKeys(keyring: Keyring, db: DB, next: MasterKey): Promise<number> {
  let count = 0;
  for (const purpose of ROTATED) {
    const current = keyring.current(purpose);
    if (current.rotation === next.id) continue;
    const id = randomBytes(9).toString('base64url');
    const generation = current.generation + 1;
    try {
      await db
        .insertInto('vault_keys')
        .values({
          id,
          purpose,
          generation,
          master_id: next.id,
          wrapped: keyring.wrap(next, id, purpose, generation, randomBytes(32)),
          created_at: Date.now(),
          rotation: next.id,
        })
        .execute();
      count += 1;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  await keyring.reload();
  return count;
}

/** Re-encrypt, in batches, every value of `column` not under its purpose's current key. */
async function reseal(keyring: Keyring, db: DB, column: SealedColumn, batch: number) {
  const current: DataKey = keyring.current(column.purpose);
  let done = 0;
  for (;;) {
    const rows = (await db
      .selectFrom(column.table)
      .select([...column.key, column.column] as never[])
      .where(sql.ref(column.column), 'is not', null)
      .where(sql`substr(${sql.ref(column.column)}, 1, 16)`, '!=', `v1.${current.id}.`)
      .limit(batch)
      .execute()) as Record<string, unknown>[];
    let changed = 0;
    for (const row of rows) {
      const old = row[column.column] as string;
      const plain = await keyring.open(column.purpose, old);
      let update = db
        .updateTable(column.table)
        .set({ [column.column]: await keyring.seal(column.purpose, plain) } as never)
        .where(sql.ref(column.column), '=', old);
      for (const k of column.key) update = update.where(sql.ref(k), '=', row[k]);
      const result = await update.executeTakeFirst();
      changed += Number(result.numUpdatedRows);
    }
    done += changed;
    // A batch in which nothing could change (every row changed under us) ends this pass.
    if (rows.length < batch || changed === 0) return done;
  }
}

/** Run (or resume) a rotation to a new master key; returns when the old one opens nothing. */
export async function rotate(keyring: Keyring, db: DB, options: RotateOptions = {}): Promise<void> {
  const { batch = 500, graceMs = 2 * KEYRING_REFRESH_MS, log = () => undefined } = options;
  const file = keyring.source.file;
  if (file !== null) {
    if (writeNewKeyFile(nextFileOf(file))) log(`New master key written to ${nextFileOf(file)}.`);
    else log(`Resuming the rotation to the key in ${nextFileOf(file)}.`);
  }
  await keyring.reload();
  const next = keyring.masters().next;
  if (!next) {
    throw new VaultKeyError(
      file === null
        ? 'MASTER_KEY comes from the environment: set the new key as MASTER_KEY_NEXT on every node (`securechat keys generate` makes one), restart them, then rotate.'
        : `The new master key in ${nextFileOf(file)} is missing.`,
    );
  }

  log(`Data keys re-wrapped by the new master key: ${await rewrap(keyring, db, next)}.`);
  await keyring.reload();
  log(`New data keys: ${await newDataKeys(keyring, db, next)}.`);
  log(`Waiting ${Math.round(graceMs / 1000)} s for every node to seal with them.`);
  await new Promise((resolve) => setTimeout(resolve, graceMs));

  // Done when two passes, a wait apart, find nothing left under an old key: a write sealed
  // under one just before a node refreshed has landed by then.
  let quiet = false;
  for (let pass = 1; ; pass += 1) {
    for (const column of SEALED_COLUMNS) {
      const done = await reseal(keyring, db, column, batch);
      if (done > 0) log(`${column.table}.${column.column}: ${done} values re-encrypted.`);
    }
    const status = await vaultStatus(keyring, db);
    const left = status.keys
      .filter((k) => !k.current && ROTATED.has(k.purpose as KeyPurpose))
      .reduce((sum, k) => sum + k.values, 0);
    if (left === 0 && quiet) break;
    if (pass >= 10)
      throw new Error(`${left} values are still under old keys after ${pass} passes.`);
    if (left > 0) log(`${left} values written under old keys meanwhile: another pass.`);
    else await new Promise((resolve) => setTimeout(resolve, graceMs));
    quiet = left === 0;
  }

  let deleted = 0;
  for (const purpose of ROTATED) {
    const result = await db
      .deleteFrom('vault_keys')
      .where('purpose', '=', purpose)
      .where('generation', '<', keyring.current(purpose).generation)
      .executeTakeFirst();
    deleted += Number(result.numDeletedRows);
  }
  log(`Old data keys deleted: ${deleted}.`);
  if (file === null) {
    log(
      `Rotation complete: every key is wrapped by master key ${next.id}. On every node, set MASTER_KEY to the value of MASTER_KEY_NEXT and remove MASTER_KEY_NEXT.`,
    );
    return;
  }
  promoteNextKeyFile(file);
  await keyring.reload();
  log(`Rotation complete: master key ${next.id} is now in ${file}.`);
}
