/**
 * Opening the vault for a server or CLI run: the master key (made on the first start of an
 * empty database, required once the database holds data keys) and the keyring on it. The
 * caller then migrates (0012 needs the keyring), which also loads and checks the keys.
 */
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from '../storage/types.js';
import { createKeyring, storedKeyCount, type Keyring } from './keyring.js';
import { masterKeySource } from './master-key.js';

export async function openVault(config: Config, db: Kysely<Database>): Promise<Keyring> {
  const stored = await storedKeyCount(db);
  return createKeyring(db, masterKeySource(config.masterKey, { create: stored === 0 }));
}
