/**
 * The admin console's rooms: every room with what the server knows of it (kind, the name of a
 * public channel, member count, size of its log, last activity, whether it is closed),
 * closing, reopening and deleting one. Names and topics of groups and direct rooms are
 * end-to-end encrypted: the console never has them.
 *
 * Closing a room makes it a read-only archive (what that allows is decided in one place,
 * access.ts `accessOpen`): its members keep it and its history, nothing new is written in it
 * until it is reopened. A `closed` notice in the room tells every member's open apps at once,
 * and the room's summary carries `closedAt` for apps that were away. Closing and reopening
 * are idempotent: doing it again changes nothing, tells no one and is not audited again.
 *
 * Deleting a room removes it, its log and (through the file collector) its encrypted files
 * for everyone. Each member is sent a notice that they were removed, so open apps drop the
 * room at once; apps that were away learn it when they resume. #general can be neither
 * closed nor deleted.
 */
import {
  ChatError,
  Limits,
  type AdminRoom,
  type AdminRoomDeleted,
  type AdminRoomsQuery,
  type AdminRoomsResponse,
} from '@securechat/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/types.js';
import { accessAdmin } from './access.js';
import { audit } from './audit.js';
import { iso, type AccountsDeps, type AuthContext, type RequestContext } from './context.js';
import { publishEvents, senderOf, type Accepted } from './delivery/events.js';
import { userIdOf } from './ids.js';
import { memberIds, membersChanged } from './membership.js';
import { notify } from './rooms/kit.js';
import { openNullable } from './vault.js';

/** Every room matching `kind` and `state`, with its figures (names are matched afterwards). */
async function roomRows(
  db: Kysely<Database>,
  { kind, state }: Pick<AdminRoomsQuery, 'kind' | 'state'>,
) {
  let query = db
    .selectFrom('rooms as r')
    .select((eb) => [
      'r.id',
      'r.kind',
      'r.name',
      'r.password_hash',
      'r.created_at',
      'r.last_seq',
      'r.closed_at',
      eb
        .selectFrom('room_members as m')
        .select(eb.fn.countAll<number | string>().as('n'))
        .whereRef('m.room_id', '=', 'r.id')
        .as('members'),
      eb
        .selectFrom('events as e')
        .select('e.at')
        .whereRef('e.room_id', '=', 'r.id')
        .orderBy('e.seq', 'desc')
        .limit(1)
        .as('last_at'),
    ]);
  if (kind !== undefined) query = query.where('r.kind', '=', kind);
  if (state !== undefined)
    query = query.where('r.closed_at', state === 'closed' ? 'is not' : 'is', null);
  return query.execute();
}

/** The room an administrator acts on, or CHAT_ERR_NOT_FOUND. */
async function administeredRoom(db: Kysely<Database>, roomId: string) {
  const room = await db
    .selectFrom('rooms')
    .select(['kind', 'last_seq'])
    .where('id', '=', roomId)
    .executeTakeFirst();
  if (!room) throw new ChatError('CHAT_ERR_NOT_FOUND', 'There is no such room.');
  return room;
}

/** #general holds everyone: it is never closed or deleted (`done`: what would be done to it). */
function notGeneral(kind: string, done: 'closed' | 'deleted'): void {
  if (kind === 'general')
    throw new ChatError('CHAT_ERR_FORBIDDEN', `Everyone is in #general: it can’t be ${done}.`);
}

export function createRoomAdministration(deps: Pick<AccountsDeps, 'db' | 'now' | 'bus' | 'vault'>) {
  const { db, now, vault } = deps;

  /** An administrator's action on a room, in the audit log (`by` the CLI without `auth`). */
  const auditRoom = (
    at: number,
    event: 'admin.room_closed' | 'admin.room_reopened' | 'admin.room_deleted',
    auth: AuthContext | null,
    context: RequestContext | null,
    details: Record<string, string | number>,
  ) =>
    audit(
      db,
      vault,
      at,
      event,
      { userId: auth?.user.id ?? null, ip: context?.ip ?? null },
      { ...details, by: auth?.user.id ?? 'cli' },
    );

  /**
   * Close (`closed`) or reopen a room. From the console (`auth` given) a `closed` notice in
   * the room tells each member's open apps at once; from the command line, which has no
   * connection to them, they learn it from the room's summary at their next resume.
   */
  async function setClosed(
    auth: AuthContext | null,
    roomId: string,
    closed: boolean,
    context: RequestContext | null,
  ): Promise<void> {
    if (auth) accessAdmin(auth);
    const at = now();
    const outcome = await db.transaction().execute(async (trx) => {
      const room = await administeredRoom(trx, roomId);
      if (closed) notGeneral(room.kind, 'closed');
      // A conditional update, atomic on both databases: of two administrators closing the
      // room at once, one changes it; the other changes nothing.
      const changed = await trx
        .updateTable('rooms')
        .set({ closed_at: closed ? at : null })
        .where('id', '=', roomId)
        .where('closed_at', closed ? 'is' : 'is not', null)
        .executeTakeFirst();
      if (Number(changed.numUpdatedRows) === 0) return null;
      const notices = auth
        ? [await notify(trx, { now, vault }, roomId, senderOf(auth), { type: 'closed', closed })]
        : [];
      return { kind: room.kind, notices };
    });
    if (!outcome) return;
    if (deps.bus) publishEvents(deps.bus, outcome.notices);
    await auditRoom(at, closed ? 'admin.room_closed' : 'admin.room_reopened', auth, context, {
      room: roomId,
      kind: outcome.kind,
    });
  }

  return {
    /**
     * Rooms, most recently active first (then newest), `limit` from `offset`. A name filter
     * matches public channels and #general only: other rooms have no name on the server.
     */
    async adminRooms(
      auth: AuthContext | null,
      query: AdminRoomsQuery,
    ): Promise<AdminRoomsResponse> {
      if (auth) accessAdmin(auth);
      const offset = Number(query.offset ?? 0);
      const limit = Number(query.limit ?? Limits.ADMIN_ROOMS_PAGE_MAX);
      if (limit > Limits.ADMIN_ROOMS_PAGE_MAX)
        throw new ChatError(
          'CHAT_ERR_VALIDATION',
          `A page holds at most ${Limits.ADMIN_ROOMS_PAGE_MAX} rooms.`,
        );
      const needle = query.name?.trim().toLowerCase();
      // Names are sealed at rest: opened here, then matched.
      const rows = await Promise.all(
        (await roomRows(db, query)).map(async (row) => ({
          ...row,
          name:
            row.kind === 'channel' || row.kind === 'general'
              ? await openNullable(vault, 'room-name', row.name)
              : null,
        })),
      );
      const rooms = rows
        .filter((row) => !needle || (row.name ?? '').toLowerCase().includes(needle))
        .map((row): AdminRoom => ({
          id: row.id,
          kind: row.kind,
          name: row.name,
          protected: row.password_hash !== null,
          members: Number(row.members ?? 0),
          events: Number(row.last_seq),
          createdAt: iso(row.created_at),
          lastActivityAt: row.last_at === null ? null : iso(Number(row.last_at)),
          closedAt: row.closed_at === null ? null : iso(row.closed_at),
        }))
        .sort(
          (a, b) =>
            (b.lastActivityAt ?? '').localeCompare(a.lastActivityAt ?? '') ||
            b.createdAt.localeCompare(a.createdAt) ||
            a.id.localeCompare(b.id),
        );
      return { rooms: rooms.slice(offset, offset + limit), total: rooms.length };
    },

    /** Make a room a read-only archive for its members (never #general). Idempotent. */
    closeRoom: (auth: AuthContext | null, roomId: string, context: RequestContext | null) =>
      setClosed(auth, roomId, true, context),

    /** Let a closed room's members write in it again. Idempotent. */
    reopenRoom: (auth: AuthContext | null, roomId: string, context: RequestContext | null) =>
      setClosed(auth, roomId, false, context),

    /**
     * Delete a room for everyone. From the console (`auth` given) each member's open apps are
     * told at once; from the command line, which has no connection to them, at their next
     * resume.
     */
    async deleteRoom(
      auth: AuthContext | null,
      roomId: string,
      context: RequestContext | null,
    ): Promise<AdminRoomDeleted> {
      if (auth) accessAdmin(auth);
      const at = now();
      const outcome = await db.transaction().execute(async (trx) => {
        const room = await administeredRoom(trx, roomId);
        notGeneral(room.kind, 'deleted');
        const members = await memberIds(trx, roomId);
        const notices: Accepted[] = [];
        if (auth) {
          // Told one by one, each only about themselves: "you were removed".
          await trx.deleteFrom('room_members').where('room_id', '=', roomId).execute();
          for (const user of members)
            notices.push(
              await notify(
                trx,
                { now, vault },
                roomId,
                senderOf(auth),
                { type: 'kick', user: userIdOf(user) },
                [user],
              ),
            );
        }
        await membersChanged(trx, roomId);
        await trx.deleteFrom('rooms').where('id', '=', roomId).execute();
        return { kind: room.kind, members: members.length, events: Number(room.last_seq), notices };
      });
      if (deps.bus) publishEvents(deps.bus, outcome.notices);
      await auditRoom(at, 'admin.room_deleted', auth, context, {
        room: roomId,
        kind: outcome.kind,
        members: outcome.members,
        events: outcome.events,
      });
      return { members: outcome.members, events: outcome.events };
    },
  };
}
