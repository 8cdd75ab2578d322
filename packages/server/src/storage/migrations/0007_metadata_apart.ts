import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Server metadata apart from content (docs/decisions/0009-server-metadata.md): the names and
 * topics of groups and direct rooms are erased (their members keep them end-to-end), and the
 * stored notices take their one-shape-per-type form: `create` says what was created (a
 * group's or direct room's without a name), notices about someone name them, the ones a
 * future MLS commit must confirm say so, and a group's settings notices lose name and topic.
 */
type Old = {
  type?: string;
  user?: string;
  username?: string;
  role?: string;
  name?: string | null;
  topic?: string | null;
  visibility?: string;
  protected?: boolean;
};

const AWAITS_COMMIT = new Set(['join', 'invite', 'leave', 'kick']);
const PAGE = 1000;

function reshape(old: Old, roomKind: string, roomName: string | null, username: string) {
  const isPublic = roomKind === 'channel' || roomKind === 'general';
  const subject = { user: old.user, username: old.username ?? username };
  switch (old.type ?? '') {
    case 'create':
      return isPublic
        ? {
            type: 'create',
            kind: 'channel',
            name: old.name ?? roomName ?? '',
            protected: old.protected === true,
          }
        : { type: 'create', kind: roomKind };
    case 'role':
      return { type: 'role', ...subject, role: old.role === 'moderator' ? 'moderator' : 'member' };
    case 'transfer':
      return { type: 'transfer', ...subject };
    case 'settings': {
      const notice: Record<string, unknown> = { type: 'settings' };
      if (isPublic && typeof old.name === 'string') notice.name = old.name;
      if (isPublic && old.topic !== undefined) notice.topic = old.topic;
      if (old.visibility !== undefined) notice.visibility = old.visibility;
      if (isPublic && old.protected !== undefined) notice.protected = old.protected;
      return notice;
    }
    default:
      return AWAITS_COMMIT.has(old.type ?? '')
        ? { type: old.type, ...subject, awaitsCommit: true }
        : old;
  }
}

export function metadataApart(_dialect: Dialect) {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time
    async up(db: Kysely<any>): Promise<void> {
      await db
        .updateTable('rooms')
        .set({ name: null, topic: null })
        .where('kind', 'in', ['group', 'direct'])
        .execute();
      let after = { room: '', seq: -1 };
      for (;;) {
        const rows: {
          room_id: string;
          seq: number | string;
          sender_id: string;
          notice: string | null;
          room_kind: string;
          room_name: string | null;
        }[] = await db
          .selectFrom('events as e')
          .innerJoin('rooms as r', 'r.id', 'e.room_id')
          .select(['e.room_id', 'e.seq', 'e.sender_id', 'e.notice'])
          .select(['r.kind as room_kind', 'r.name as room_name'])
          .where('e.kind', '=', 'notice')
          .where((eb) =>
            eb.or([
              eb('e.room_id', '>', after.room),
              eb.and([eb('e.room_id', '=', after.room), eb('e.seq', '>', after.seq)]),
            ]),
          )
          .orderBy('e.room_id')
          .orderBy('e.seq')
          .limit(PAGE)
          .execute();
        if (rows.length === 0) break;
        const olds = rows.map((row) => {
          const old = JSON.parse(row.notice ?? '{}') as Old;
          return { ...old, user: old.user ?? row.sender_id };
        });
        const ids = [...new Set(olds.map((old) => old.user))];
        const users: { id: string; username: string }[] = await db
          .selectFrom('users')
          .select(['id', 'username'])
          .where('id', 'in', ids)
          .execute();
        const names = new Map(users.map((u) => [u.id, u.username]));
        for (const [i, row] of rows.entries()) {
          const old: Old = olds[i] ?? {};
          const notice = reshape(
            old,
            row.room_kind,
            row.room_name,
            names.get(old.user ?? '') ?? '',
          );
          await db
            .updateTable('events')
            .set({ notice: JSON.stringify(notice) })
            .where('room_id', '=', row.room_id)
            .where('seq', '=', row.seq)
            .execute();
        }
        const last = rows[rows.length - 1];
        if (!last || rows.length < PAGE) break;
        after = { room: last.room_id, seq: Number(last.seq) };
      }
    },
  };
}
