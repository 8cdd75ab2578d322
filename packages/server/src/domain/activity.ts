/**
 * Account activity and the audit log, read back. Each user sees their own security events
 * (sign-ins with their device and network, new devices, password, two-factor and passkey
 * changes, failed sign-ins folded into bursts); administrators see the whole log, filtered.
 * Events older than AUDIT_RETENTION_DAYS are deleted (`pruneAudit`, run by a timer).
 */
import {
  ChatError,
  Limits,
  canonicalUsername,
  type ActivityEntry,
  type AuditEntry,
  type AuditQuery,
} from '@securechat/protocol';
import { sql, type Kysely } from 'kysely';
import { networkOf } from './address.js';
import type { Database } from '../storage/types.js';
import { accessAdmin } from './access.js';
import { openNullable, type Vault } from './vault.js';
import { iso, type AuthContext } from './context.js';

/** The events a user's own activity page shows (the rest are the administrators' business). */
const OWN_EVENTS: readonly string[] = [
  'account.register',
  'account.login',
  'account.login_failed',
  'account.second_factor_failed',
  'account.password_change',
  'account.password_reset',
  'account.sign_out_others',
  'account.role_change',
  'account.unsuspend',
  'device.revoke',
  'identity.set',
  'reset.link_created',
  'totp.enable',
  'totp.disable',
  'totp.recovery_used',
  'totp.recovery_regenerated',
  'passkey.add',
  'passkey.remove',
  'passkey.rename',
  'admin.second_factor_removed',
];

/** Failures in a row fold into one entry. */
const FOLDED = new Set(['account.login_failed', 'account.second_factor_failed']);

type Detail = Record<string, string | number | boolean | null>;

function parseDetail(text: string): Detail {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Detail)
      : {};
  } catch {
    return {};
  }
}

const count = (text: string | undefined): number | undefined =>
  text === undefined ? undefined : Number(text);

export function createActivity(deps: { db: Kysely<Database>; now: () => number; vault: Vault }) {
  const { db, now, vault } = deps;

  return {
    /** The caller's own activity, newest first; `before` pages back by audit id. */
    async activity(
      auth: AuthContext,
      before?: string,
    ): Promise<{ entries: ActivityEntry[]; next: number | null }> {
      let query = db
        .selectFrom('audit_log')
        .select(['id', 'at', 'event', 'ip', 'detail'])
        .where('user_id', '=', auth.user.id)
        .where('event', 'in', OWN_EVENTS as string[])
        .orderBy('id', 'desc')
        .limit(Limits.ACTIVITY_SCAN_MAX + 1);
      const cursor = count(before);
      if (cursor !== undefined) query = query.where('id', '<', cursor);
      const rows = await query.execute();
      const more = rows.length > Limits.ACTIVITY_SCAN_MAX;
      const scanned = rows.slice(0, Limits.ACTIVITY_SCAN_MAX);

      const details = scanned.map((row) => parseDetail(row.detail));
      const deviceIds = [
        ...new Set(details.flatMap((d) => (typeof d.device === 'string' ? [d.device] : []))),
      ];
      const names = new Map<string, string>();
      if (deviceIds.length > 0) {
        const devices = await db
          .selectFrom('devices')
          .select(['id', 'name'])
          .where('id', 'in', deviceIds)
          .where('user_id', '=', auth.user.id)
          .execute();
        for (const device of devices)
          names.set(device.id, await vault.open('device-name', device.name));
      }

      const entries: ActivityEntry[] = [];
      let last = 0;
      for (const [i, row] of scanned.entries()) {
        const detail = details[i] ?? {};
        const ip = await openNullable(vault, 'audit-address', row.ip);
        const previous = entries.at(-1);
        if (previous && FOLDED.has(row.event) && previous.event === row.event) {
          previous.count += 1;
          previous.since = iso(row.at);
          last = row.id;
          continue;
        }
        if (entries.length === Limits.ACTIVITY_PAGE_MAX) break;
        const by = detail.by;
        entries.push({
          id: row.id,
          at: iso(row.at),
          event: row.event,
          device: typeof detail.device === 'string' ? (names.get(detail.device) ?? null) : null,
          network: ip === null ? null : networkOf(ip),
          byAdmin: by !== undefined && by !== null && by !== auth.user.id,
          newDevice: detail.newDevice === true,
          count: 1,
          since: iso(row.at),
        });
        last = row.id;
      }
      const cut = last !== scanned.at(-1)?.id;
      return { entries, next: (more || cut) && last > 0 ? last : null };
    },

    /** The server-wide audit log, for administrators: newest first, filtered, paged by id. */
    async auditLog(
      auth: AuthContext,
      filter: AuditQuery,
    ): Promise<{ entries: AuditEntry[]; next: number | null }> {
      accessAdmin(auth);
      const limit = Math.min(count(filter.limit) ?? Limits.AUDIT_PAGE_MAX, Limits.AUDIT_PAGE_MAX);
      let query = db
        .selectFrom('audit_log')
        .leftJoin('users', 'users.id', 'audit_log.user_id')
        .select([
          'audit_log.id',
          'audit_log.at',
          'audit_log.event',
          'audit_log.user_id',
          'audit_log.ip',
          'audit_log.detail',
          'users.username',
        ])
        .orderBy('audit_log.id', 'desc')
        .limit(limit + 1);
      if (filter.event !== undefined) {
        const event = filter.event;
        query = event.includes('.')
          ? query.where('audit_log.event', '=', event)
          : query.where(sql<boolean>`audit_log.event like ${`${event}.%`}`);
      }
      if (filter.username !== undefined) {
        const user = await db
          .selectFrom('users')
          .select('id')
          .where('username_index', '=', vault.index('username', canonicalUsername(filter.username)))
          .executeTakeFirst();
        if (!user) throw new ChatError('CHAT_ERR_NOT_FOUND', 'There is no one with that username.');
        query = query.where('audit_log.user_id', '=', user.id);
      }
      const since = filter.since === undefined ? undefined : Date.parse(filter.since);
      const until = filter.until === undefined ? undefined : Date.parse(filter.until);
      if (since !== undefined) query = query.where('audit_log.at', '>=', since);
      if (until !== undefined) query = query.where('audit_log.at', '<', until);
      const before = count(filter.before);
      if (before !== undefined) query = query.where('audit_log.id', '<', before);
      const rows = await query.execute();
      const page = rows.slice(0, limit);
      return {
        entries: await Promise.all(
          page.map(async (row) => ({
            id: row.id,
            at: iso(row.at),
            event: row.event,
            userId: row.user_id,
            username: await openNullable(vault, 'username', row.username),
            address: await openNullable(vault, 'audit-address', row.ip),
            detail: parseDetail(row.detail),
          })),
        ),
        next: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
      };
    },

    /** Delete audit events older than `days` days, in batches; returns how many. */
    async pruneAudit(days: number): Promise<number> {
      const cutoff = now() - days * 86_400_000;
      let total = 0;
      for (;;) {
        const batch = await db
          .selectFrom('audit_log')
          .select('id')
          .where('at', '<', cutoff)
          .limit(5000)
          .execute();
        if (batch.length === 0) return total;
        await db
          .deleteFrom('audit_log')
          .where(
            'id',
            'in',
            batch.map((r) => r.id),
          )
          .execute();
        total += batch.length;
      }
    },
  };
}
