import { sql, type Kysely } from 'kysely';

/**
 * Encryption at rest (docs/decisions/0022-encryption-at-rest.md): the table of data keys, the
 * blind-index columns, and every protected value already stored sealed by the vault.
 *
 * Usernames, channel names and topics, device names, client addresses (audit log and login
 * attempts), room notices and the invite and reset-link metadata are sealed; usernames and
 * channel names get a blind index (their uniqueness moves there), and the username skeleton
 * becomes one. Who used an invitation and who made a reset link move from their
 * foreign-key columns into a sealed `meta`.
 */

/** What this migration needs of the vault (src/vault/keyring.ts), in its own words. */
export interface MigrationVault {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
  prepare(db: Kysely<any>): Promise<void>;
  seal(purpose: string, plaintext: string): Promise<string>;
  index(purpose: 'username' | 'username-skeleton' | 'room-name', value: string): string;
}

const PAGE = 500;

/** Rewrite the rows of a table page by page, in primary-key order. */
async function eachRow<Row extends Record<string, unknown>>(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
  db: Kysely<any>,
  table: string,
  key: string[],
  columns: string[],
  rewrite: (row: Row) => Promise<Record<string, unknown> | null>,
): Promise<void> {
  let after: Row | null = null;
  for (;;) {
    let query = db
      .selectFrom(table)
      .select([...key, ...columns])
      .limit(PAGE);
    for (const k of key) query = query.orderBy(k);
    if (after !== null) {
      const last = after;
      // (k1, k2) > (v1, v2), spelled out: both dialects, any number of key columns.
      query = query.where((eb) =>
        eb.or(
          key.map((_, i) =>
            eb.and([
              ...key.slice(0, i).map((k) => eb(k, '=', last[k])),
              eb(key[i] ?? '', '>', last[key[i] ?? '']),
            ]),
          ),
        ),
      );
    }
    const rows = (await query.execute()) as Row[];
    for (const row of rows) {
      const changes = await rewrite(row);
      if (changes === null) continue;
      let update = db.updateTable(table).set(changes);
      for (const k of key) update = update.where(k, '=', row[k]);
      await update.execute();
    }
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1] ?? null;
  }
}

export function encryptionAtRest(vault: MigrationVault) {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('vault_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('master_id', 'text', (c) => c.notNull())
        .addColumn('wrapped', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('rotation', 'text')
        .execute();
      await db.schema
        .createIndex('vault_keys_generation')
        .on('vault_keys')
        .columns(['purpose', 'generation'])
        .unique()
        .execute();
      await db.schema.alterTable('users').addColumn('username_index', 'text').execute();
      await db.schema.alterTable('rooms').addColumn('name_index', 'text').execute();
      await db.schema.alterTable('invites').addColumn('meta', 'text').execute();
      await db.schema.alterTable('reset_links').addColumn('meta', 'text').execute();

      await vault.prepare(db);
      const seal = (purpose: string, value: unknown) =>
        typeof value === 'string' ? vault.seal(purpose, value) : Promise.resolve(null);

      await eachRow<{ username: string; username_skeleton: string }>(
        db,
        'users',
        ['id'],
        ['username', 'username_skeleton'],
        async (row) => ({
          username: await vault.seal('username', row.username),
          username_index: vault.index('username', row.username),
          username_skeleton: vault.index('username-skeleton', row.username_skeleton),
        }),
      );
      await eachRow<{ name: string | null; topic: string | null; kind: string }>(
        db,
        'rooms',
        ['id'],
        ['name', 'topic', 'kind'],
        async (row) =>
          row.name === null && row.topic === null
            ? null
            : {
                name: await seal('room-name', row.name),
                name_index:
                  row.kind === 'channel' && row.name !== null
                    ? vault.index('room-name', row.name.toLowerCase())
                    : null,
                topic: await seal('room-topic', row.topic),
              },
      );
      await eachRow<{ name: string }>(db, 'devices', ['id'], ['name'], async (row) => ({
        name: await vault.seal('device-name', row.name),
      }));
      for (const table of ['audit_log', 'login_attempts']) {
        await eachRow<{ ip: string | null }>(db, table, ['id'], ['ip'], async (row) =>
          row.ip === null ? null : { ip: await vault.seal('audit-address', row.ip) },
        );
      }
      await eachRow<{ notice: string | null }>(
        db,
        'events',
        ['room_id', 'seq'],
        ['notice'],
        async (row) =>
          row.notice === null ? null : { notice: await vault.seal('notice', row.notice) },
      );
      await eachRow<{ used_by: string | null }>(db, 'invites', ['id'], ['used_by'], async (row) =>
        row.used_by === null
          ? null
          : {
              meta: await vault.seal('link-meta', JSON.stringify({ usedBy: row.used_by })),
              used_by: null,
            },
      );
      await eachRow<{ created_by: string | null }>(
        db,
        'reset_links',
        ['token_hash'],
        ['created_by'],
        async (row) => ({
          meta: await vault.seal('link-meta', JSON.stringify({ createdBy: row.created_by })),
          created_by: null,
        }),
      );

      await db.schema
        .createIndex('users_username_index')
        .on('users')
        .column('username_index')
        .unique()
        .execute();
      await db.schema.dropIndex('rooms_kind_name').execute();
      await db.schema.dropIndex('rooms_channel_name').execute();
      await sql`
        create unique index rooms_channel_name_index on rooms (name_index)
        where kind = 'channel'`.execute(db);
    },
  };
}
