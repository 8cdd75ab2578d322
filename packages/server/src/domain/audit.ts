import type { Kysely } from 'kysely';
import type { Database } from '../storage/types.js';
import { sealNullable, type Vault } from './vault.js';

export type AuditEvent =
  | 'account.register'
  | 'account.login'
  | 'account.login_failed'
  | 'account.logout'
  | 'account.password_change'
  | 'account.password_reset'
  | 'account.sign_out_others'
  | 'account.suspend'
  | 'account.unsuspend'
  | 'account.role_change'
  | 'account.delete'
  | 'device.revoke'
  | 'identity.set'
  | 'invite.create'
  | 'invite.revoke'
  | 'setup.link_created'
  | 'setup.link_used'
  | 'reset.link_created'
  | 'account.second_factor_failed'
  | 'totp.enable'
  | 'totp.disable'
  | 'totp.recovery_used'
  | 'totp.recovery_regenerated'
  | 'passkey.add'
  | 'passkey.remove'
  | 'passkey.rename'
  | 'admin.second_factor_removed'
  | 'admin.room_closed'
  | 'admin.room_reopened'
  | 'admin.room_deleted';

/**
 * Record a security event. `detail` is small and never holds secrets; the client address is
 * sealed at rest.
 */
export async function audit(
  db: Kysely<Database>,
  vault: Vault,
  at: number,
  event: AuditEvent,
  who: { userId?: string | null; ip?: string | null },
  detail: Record<string, string | number | boolean | null> = {},
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at,
      event,
      user_id: who.userId ?? null,
      ip: await sealNullable(vault, 'audit-address', who.ip ?? null),
      detail: JSON.stringify(detail),
    })
    .execute();
}
