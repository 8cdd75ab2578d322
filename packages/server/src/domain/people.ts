/**
 * Usernames as the domain shows them: stored sealed (domain/vault.ts), opened here, and
 * ordered in memory (the database can no longer order or match them).
 */
import type { UserRef } from '@securechat/protocol';
import { userIdOf } from './ids.js';
import type { Vault } from './vault.js';

export const byUsername = (a: { username: string }, b: { username: string }): number =>
  a.username < b.username ? -1 : a.username > b.username ? 1 : 0;

/** Rows with a sealed `username`, opened, in the order they came. */
export async function openUsernames<Row extends { username: string }>(
  vault: Vault,
  rows: readonly Row[],
): Promise<Row[]> {
  return Promise.all(
    rows.map(async (row) => ({ ...row, username: await vault.open('username', row.username) })),
  );
}

/** `{ id, username }` rows as user refs, opened and sorted by username. */
export async function openUserRefs(
  vault: Vault,
  rows: readonly { id: string; username: string }[],
): Promise<UserRef[]> {
  const opened = await openUsernames(vault, rows);
  return opened.sort(byUsername).map((r) => ({ id: userIdOf(r.id), username: r.username }));
}
