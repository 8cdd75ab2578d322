/**
 * Every authorization decision of the accounts capability, in one place. Each access*
 * function either returns what the caller may act on or throws; a thing the caller may not
 * see is answered exactly like a thing that does not exist (CHAT_ERR_NOT_FOUND), so ids
 * can't be probed. Routes reach these through `requireUser` / `requireAdmin` and the
 * domain actions; nothing else decides who may do what.
 */
import { ChatError } from '@securechat/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { Database, DevicesTable, InvitesTable } from '../storage/types.js';
import type { AuthContext } from './context.js';

/** A signed-in session, or CHAT_ERR_UNAUTHENTICATED. */
export function accessSignedIn(auth: AuthContext | null | undefined): AuthContext {
  if (!auth) throw new ChatError('CHAT_ERR_UNAUTHENTICATED');
  return auth;
}

/** A signed-in administrator: CHAT_ERR_UNAUTHENTICATED anonymous, CHAT_ERR_FORBIDDEN otherwise. */
export function accessAdmin(auth: AuthContext | null | undefined): AuthContext {
  const signedIn = accessSignedIn(auth);
  if (signedIn.user.role !== 'admin') throw new ChatError('CHAT_ERR_FORBIDDEN');
  return signedIn;
}

/** One of the caller's own, not revoked devices. Anyone else's is "not found". */
export async function accessOwnDevice(
  db: Kysely<Database>,
  auth: AuthContext,
  deviceId: string,
): Promise<Selectable<DevicesTable>> {
  const device = await db
    .selectFrom('devices')
    .selectAll()
    .where('id', '=', deviceId)
    .where('user_id', '=', auth.user.id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!device) throw new ChatError('CHAT_ERR_NOT_FOUND');
  return device;
}

/** An invitation, for an administrator only. */
export async function accessInvite(
  db: Kysely<Database>,
  auth: AuthContext,
  inviteId: string,
): Promise<Selectable<InvitesTable>> {
  accessAdmin(auth);
  const invite = await db
    .selectFrom('invites')
    .selectAll()
    .where('id', '=', inviteId)
    .executeTakeFirst();
  if (!invite) throw new ChatError('CHAT_ERR_NOT_FOUND');
  return invite;
}
