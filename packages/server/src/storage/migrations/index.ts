/**
 * Numbered migrations, applied in order on start. A migration is frozen once released: fix
 * forward with a new number, never edit an old one.
 */
import type { Migration } from 'kysely';
import type { Dialect } from '../dialect.js';
import { accounts } from './0001_accounts.js';
import { rooms } from './0002_rooms.js';
import { roomFeatures } from './0003_room_features.js';
import { loginAttemptAddress } from './0004_login_attempt_address.js';
import { blobs } from './0005_blobs.js';
import { roomConstraints } from './0006_room_constraints.js';
import { metadataApart } from './0007_metadata_apart.js';
import { identity } from './0008_identity.js';
import { files } from './0009_files.js';
import { receipts } from './0010_receipts.js';
import { resetLinks } from './0011_reset_links.js';
import { encryptionAtRest, type MigrationVault } from './0012_encryption_at_rest.js';
import { twoFactor } from './0013_two_factor.js';
import { deletedAccounts } from './0014_deleted_accounts.js';
import { closedRooms } from './0015_closed_rooms.js';

/** `vault`: 0012 seals the values stored before it with the server's keyring. */
export function migrations(dialect: Dialect, vault: MigrationVault): Record<string, Migration> {
  return {
    '0001_accounts': accounts(dialect),
    '0002_rooms': rooms(dialect),
    '0003_room_features': roomFeatures(dialect),
    '0004_login_attempt_address': loginAttemptAddress(dialect),
    '0005_blobs': blobs(dialect),
    '0006_room_constraints': roomConstraints(dialect),
    '0007_metadata_apart': metadataApart(dialect),
    '0008_identity': identity(dialect),
    '0009_files': files(),
    '0010_receipts': receipts(),
    '0011_reset_links': resetLinks(),
    '0012_encryption_at_rest': encryptionAtRest(vault),
    '0013_two_factor': twoFactor(),
    '0014_deleted_accounts': deletedAccounts(),
    '0015_closed_rooms': closedRooms(),
  };
}

/** The migrations' names, oldest first (for a backup's manifest: nothing runs). */
export function migrationNames(dialect: Dialect): string[] {
  const unused = async (): Promise<never> => {
    throw new Error('listing migrations runs none');
  };
  return Object.keys(
    migrations(dialect, {
      prepare: unused,
      seal: unused,
      index: () => {
        throw new Error('listing migrations runs none');
      },
    }),
  ).sort();
}
