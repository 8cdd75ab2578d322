import { GENERAL_ROOM_ID } from '@securechat/sdk';

export const roomPath = (roomId: string): string => `/rooms/${encodeURIComponent(roomId)}`;

/** The room a page shows: `/rooms/:roomId`, or #general at `/`; null elsewhere. */
export function roomIdFromPath(pathname: string): string | null {
  if (pathname === '/') return GENERAL_ROOM_ID;
  const match = /^\/rooms\/([^/]+)\/?$/.exec(pathname);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}
