/**
 * Sessions and devices. A device is a browser profile, not a sign-in: it is created by the
 * first sign-in (or registration) there, is one MLS client with its own keys, and outlives
 * signing out. Its secret (DEVICE_SECRET_BYTES, shown once when it is created; the server keeps
 * its SHA-256) lets a later sign-in in the same browser reuse it: a new session on the same
 * device, no new device for the rooms to add. Removing the device (signing out with
 * `removeDevice`, or from the devices list) or a revocation ends it.
 *
 * Each sign-in is one server-side session. The browser holds only a random 32-byte token in
 * its cookie; the session row's id is the token's SHA-256. A session ends after
 * Limits.SESSION_IDLE_SECONDS without use or Limits.SESSION_ABSOLUTE_SECONDS after sign-in,
 * whichever comes first, at sign-out, and at once when its device is revoked or its user
 * suspended.
 */
import {
  ChatError,
  Limits,
  type DeviceCredential,
  type DeviceInfo,
  type PublicUser,
} from '@securechat/protocol';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, DevicesTable, UsersTable } from '../storage/types.js';
import { accessOwnDevice } from './access.js';
import { audit } from './audit.js';
import { iso, type AccountsDeps, type AuthContext, type RequestContext } from './context.js';
import { hashToken, newId, newToken, tokenMatches } from './crypto.js';
import { devicesChanged } from './delivery/devices.js';
import { publishEvents, senderOf, type Accepted, type Sender } from './delivery/events.js';
import { deviceIdOf, userIdOf } from './ids.js';
import { deviceNameFromUserAgent } from './device-name.js';
import type { Vault } from './vault.js';

/** last_seen_at is written at most this often per session (and device). */
const TOUCH_INTERVAL_MS = 60_000;
const IDLE_MS = Limits.SESSION_IDLE_SECONDS * 1000;

export function toPublicUser(
  row: Pick<Selectable<UsersTable>, 'id' | 'username' | 'role' | 'created_at'>,
): PublicUser {
  return { id: row.id, username: row.username, role: row.role, createdAt: iso(row.created_at) };
}

/** A device row as shown; its name is sealed at rest. */
async function toDevice(
  vault: Vault,
  row: Selectable<DevicesTable>,
): Promise<Omit<DeviceInfo, 'current'>> {
  return {
    id: row.id,
    name: await vault.open('device-name', row.name),
    createdAt: iso(row.created_at),
    lastSeenAt: iso(row.last_seen_at),
  };
}

/**
 * Revoke devices of one user and end their sessions, in the caller's transaction; each
 * revocation is a `devices` notice in the user's rooms (returned, to fan out after commit).
 */
async function revokeDevices(
  trx: Transaction<Database>,
  vault: Vault,
  actor: Sender,
  userId: string,
  ids: string[],
  at: number,
): Promise<Accepted[]> {
  if (ids.length === 0) return [];
  await trx.updateTable('devices').set({ revoked_at: at }).where('id', 'in', ids).execute();
  await trx.deleteFrom('sessions').where('device_id', 'in', ids).execute();
  const notices: Accepted[] = [];
  for (const id of ids)
    notices.push(
      ...(await devicesChanged(trx, vault, at, actor, userIdOf(userId), deviceIdOf(id), 'revoked')),
    );
  return notices;
}

/**
 * Revoke every live device of a user and end all their sessions, in the caller's transaction
 * (a password reset): each device is the actor of its own `revoked` notice. Returns the
 * notices to fan out after commit, and how many devices and sessions ended.
 */
export async function revokeAllDevices(
  trx: Transaction<Database>,
  vault: Vault,
  userId: string,
  at: number,
): Promise<{ notices: Accepted[]; devices: number; sessions: number }> {
  const live = await trx
    .selectFrom('devices')
    .select('id')
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
  const ended = await trx.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
  const notices: Accepted[] = [];
  for (const { id } of live) {
    const actor = { userId: userIdOf(userId), deviceId: deviceIdOf(id) };
    notices.push(...(await revokeDevices(trx, vault, actor, userId, [id], at)));
  }
  return { notices, devices: live.length, sessions: Number(ended.numDeletedRows) };
}

/**
 * The live device of this user that `credential` names, when its secret matches; else
 * undefined — a wrong id, someone else's or a revoked device, a wrong secret all alike.
 */
async function reusableDevice(
  db: Kysely<Database>,
  userId: string,
  credential: DeviceCredential,
): Promise<Selectable<DevicesTable> | undefined> {
  const device = await db
    .selectFrom('devices')
    .selectAll()
    .where('id', '=', credential.id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!device || device.secret_hash === null) return undefined;
  return tokenMatches(credential.secret, device.secret_hash) ? device : undefined;
}

export function createSessions(deps: Pick<AccountsDeps, 'db' | 'now' | 'bus' | 'vault'>) {
  const { db, now, vault } = deps;
  const publish = (notices: readonly Accepted[]) => {
    if (deps.bus) publishEvents(deps.bus, notices);
  };

  return {
    /**
     * Sign a verified user in, in one transaction: a session on the device `reuse` names
     * (a live device of theirs, with its secret), or else on a new device. Past
     * Limits.DEVICES_PER_USER_MAX the least recently seen devices are revoked to make room
     * for a new one; the user's dead sessions are swept. Returns the cookie token and, for a
     * new device, its secret (both shown once, never stored).
     */
    async start(
      user: Selectable<UsersTable>,
      context: RequestContext,
      reuse?: DeviceCredential,
    ): Promise<{ token: string; auth: AuthContext; deviceSecret: string | null }> {
      const at = now();
      const token = newToken();
      const sessionId = hashToken(token);
      const { device, deviceSecret, evicted, notices } = await db
        .transaction()
        .execute(async (trx) => {
          await trx
            .deleteFrom('sessions')
            .where('user_id', '=', user.id)
            .where((eb) =>
              eb.or([eb('expires_at', '<=', at), eb('last_seen_at', '<=', at - IDLE_MS)]),
            )
            .execute();
          const openSession = (deviceId: string) =>
            trx
              .insertInto('sessions')
              .values({
                id: sessionId,
                user_id: user.id,
                device_id: deviceId,
                created_at: at,
                last_seen_at: at,
                expires_at: at + Limits.SESSION_ABSOLUTE_SECONDS * 1000,
                reauth_at: null,
              })
              .execute();
          const kept = reuse ? await reusableDevice(trx, user.id, reuse) : undefined;
          if (kept) {
            // The same device again: nothing changes for the rooms it is in.
            await trx
              .updateTable('devices')
              .set({ last_seen_at: at })
              .where('id', '=', kept.id)
              .execute();
            await openSession(kept.id);
            return {
              device: await toDevice(vault, { ...kept, last_seen_at: at }),
              deviceSecret: null,
              evicted: [],
              notices: [],
            };
          }
          const secret = newToken();
          const name = deviceNameFromUserAgent(context.userAgent);
          const device = {
            id: newId(),
            user_id: user.id,
            name: await vault.seal('device-name', name),
            created_at: at,
            last_seen_at: at,
            revoked_at: null,
            secret_hash: hashToken(secret),
          };
          const actor = { userId: userIdOf(user.id), deviceId: deviceIdOf(device.id) };
          const active = await trx
            .selectFrom('devices')
            .select('id')
            .where('user_id', '=', user.id)
            .where('revoked_at', 'is', null)
            .orderBy('last_seen_at', 'asc')
            .orderBy('created_at', 'asc')
            .execute();
          const excess = active.length - (Limits.DEVICES_PER_USER_MAX - 1);
          const oldest = excess > 0 ? active.slice(0, excess).map((d) => d.id) : [];
          await trx.insertInto('devices').values(device).execute();
          const notices = await revokeDevices(trx, vault, actor, user.id, oldest, at);
          notices.push(
            ...(await devicesChanged(trx, vault, at, actor, actor.userId, actor.deviceId, 'added')),
          );
          await openSession(device.id);
          return {
            device: {
              id: device.id,
              name,
              createdAt: iso(at),
              lastSeenAt: iso(at),
            },
            deviceSecret: secret,
            evicted: oldest,
            notices,
          };
        });
      publish(notices);
      for (const id of evicted) {
        await audit(
          db,
          vault,
          at,
          'device.revoke',
          { userId: user.id },
          { device: id, reason: 'limit' },
        );
      }
      await audit(
        db,
        vault,
        at,
        'account.login',
        { userId: user.id, ip: context.ip },
        { device: device.id, newDevice: deviceSecret !== null },
      );
      return {
        token,
        deviceSecret,
        auth: {
          sessionId,
          user: toPublicUser({ ...user, username: await vault.open('username', user.username) }),
          device,
          reauthAt: null,
        },
      };
    },

    /** Resolve a session cookie; null when unknown, expired, revoked or suspended. */
    /**
     * Which of these sessions are still usable (not ended, expired, idle, revoked or
     * suspended): one query per 500 sessions, for re-checking many open sockets at once.
     * An open socket is use: the valid ones are marked seen, as a request would.
     */
    async stillValid(sessionIds: readonly string[]): Promise<Set<string>> {
      const at = now();
      const valid = new Set<string>();
      for (let i = 0; i < sessionIds.length; i += 500) {
        const rows = await db
          .selectFrom('sessions')
          .innerJoin('users', 'users.id', 'sessions.user_id')
          .innerJoin('devices', 'devices.id', 'sessions.device_id')
          .select('sessions.id')
          .where('sessions.id', 'in', sessionIds.slice(i, i + 500))
          .where('sessions.last_seen_at', '>', at - IDLE_MS)
          .where('sessions.expires_at', '>', at)
          .where('devices.revoked_at', 'is', null)
          .where('users.suspended_at', 'is', null)
          .execute();
        for (const row of rows) valid.add(row.id);
        if (rows.length > 0) {
          await db
            .updateTable('sessions')
            .set({ last_seen_at: at })
            .where(
              'id',
              'in',
              rows.map((r) => r.id),
            )
            .where('last_seen_at', '<=', at - TOUCH_INTERVAL_MS)
            .execute();
        }
      }
      return valid;
    },

    async authenticate(token: string): Promise<AuthContext | null> {
      const at = now();
      const row = await db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .innerJoin('devices', 'devices.id', 'sessions.device_id')
        .select([
          'sessions.id as session_id',
          'sessions.last_seen_at as session_seen',
          'sessions.expires_at',
          'sessions.reauth_at',
          'users.id as user_id',
          'users.username',
          'users.role',
          'users.created_at as user_created',
          'users.suspended_at',
          'devices.id as device_id',
          'devices.name as device_name',
          'devices.created_at as device_created',
          'devices.last_seen_at as device_seen',
          'devices.revoked_at',
        ])
        .where('sessions.id', '=', hashToken(token))
        .executeTakeFirst();
      if (!row) return null;
      if (
        row.session_seen + IDLE_MS <= at ||
        row.expires_at <= at ||
        row.revoked_at !== null ||
        row.suspended_at !== null
      ) {
        await db.deleteFrom('sessions').where('id', '=', row.session_id).execute();
        return null;
      }
      let deviceSeen = row.device_seen;
      if (at - row.session_seen >= TOUCH_INTERVAL_MS) {
        deviceSeen = Math.max(at, row.device_seen);
        await db
          .updateTable('sessions')
          .set({ last_seen_at: at })
          .where('id', '=', row.session_id)
          .execute();
        await db
          .updateTable('devices')
          .set({ last_seen_at: deviceSeen })
          .where('id', '=', row.device_id)
          .execute();
      }
      return {
        sessionId: row.session_id,
        user: toPublicUser({
          id: row.user_id,
          username: await vault.open('username', row.username),
          role: row.role,
          created_at: row.user_created,
        }),
        device: {
          id: row.device_id,
          name: await vault.open('device-name', row.device_name),
          createdAt: iso(row.device_created),
          lastSeenAt: iso(deviceSeen),
        },
        reauthAt: row.reauth_at,
      };
    },

    /**
     * Sign out: this session ends on the server. The device stays (its keys and its place in
     * its rooms' groups: signing in again with its secret reuses it), unless `removeDevice`:
     * then it is revoked as from the devices list, with its `devices` notices.
     */
    async logout(auth: AuthContext, context: RequestContext, removeDevice = false): Promise<void> {
      const at = now();
      if (removeDevice) {
        const actor = senderOf(auth);
        publish(
          await db
            .transaction()
            .execute((trx) => revokeDevices(trx, vault, actor, auth.user.id, [auth.device.id], at)),
        );
      } else {
        await db.deleteFrom('sessions').where('id', '=', auth.sessionId).execute();
      }
      await audit(
        db,
        vault,
        at,
        'account.logout',
        { userId: auth.user.id, ip: context.ip },
        { device: auth.device.id, removeDevice },
      );
    },

    /** The caller's devices (not revoked), oldest first, with the current one flagged. */
    async devices(auth: AuthContext): Promise<DeviceInfo[]> {
      const rows = await db
        .selectFrom('devices')
        .selectAll()
        .where('user_id', '=', auth.user.id)
        .where('revoked_at', 'is', null)
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .execute();
      return Promise.all(
        rows.map(async (row) => ({
          ...(await toDevice(vault, row)),
          current: row.id === auth.device.id,
        })),
      );
    },

    /** Revoke one of the caller's own devices and end its sessions. */
    async revokeDevice(
      auth: AuthContext,
      deviceId: string,
      context: RequestContext,
    ): Promise<void> {
      const at = now();
      const actor = senderOf(auth);
      const notices = await db.transaction().execute(async (trx) => {
        const device = await accessOwnDevice(trx, auth, deviceId);
        const updated = await trx
          .updateTable('devices')
          .set({ revoked_at: at })
          .where('id', '=', device.id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        // Revoked concurrently: the same answer as for any device that isn't there.
        if (Number(updated.numUpdatedRows) !== 1) throw new ChatError('CHAT_ERR_NOT_FOUND');
        await trx.deleteFrom('sessions').where('device_id', '=', device.id).execute();
        return devicesChanged(
          trx,
          vault,
          at,
          actor,
          actor.userId,
          deviceIdOf(device.id),
          'revoked',
        );
      });
      publish(notices);
      await audit(
        db,
        vault,
        at,
        'device.revoke',
        { userId: auth.user.id, ip: context.ip },
        { device: deviceId },
      );
    },

    /**
     * Sign out everywhere else: every other session of the caller ends (their sockets close at
     * the next session check). Devices stay: signing in there again reuses them.
     */
    async signOutOthers(auth: AuthContext, context: RequestContext): Promise<number> {
      const at = now();
      const deleted = await db
        .deleteFrom('sessions')
        .where('user_id', '=', auth.user.id)
        .where('id', '!=', auth.sessionId)
        .executeTakeFirst();
      const ended = Number(deleted.numDeletedRows);
      await audit(
        db,
        vault,
        at,
        'account.sign_out_others',
        { userId: auth.user.id, ip: context.ip },
        { device: auth.device.id, endedSessions: ended },
      );
      return ended;
    },

    /** Record that this session just confirmed the password. */
    async markReauthenticated(auth: AuthContext): Promise<void> {
      await db
        .updateTable('sessions')
        .set({ reauth_at: now() })
        .where('id', '=', auth.sessionId)
        .execute();
    },
  };
}
