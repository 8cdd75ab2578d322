import type { MessageItem, RoomSummary } from '@securechat/sdk';
import { useEffect } from 'react';
import { useNavigate } from 'react-router';
import { t } from '../../strings';
import { roomPath } from '../conversation/paths';
import { roomName } from '../conversation/store';
import { useRealtime } from '../conversation/RealtimeProvider';
import { notificationSettings, notificationsSupported } from './settings';

/** A short, quiet two-tone chime made on the spot (no sound file to fetch). */
function chime(): void {
  try {
    const audio = new AudioContext();
    const gain = audio.createGain();
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
    gain.connect(audio.destination);
    for (const [frequency, start] of [
      [880, 0],
      [1320, 0.12],
    ] as const) {
      const tone = audio.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(audio.currentTime + start);
      tone.stop(audio.currentTime + start + 0.2);
    }
    setTimeout(() => void audio.close(), 1_000);
  } catch {
    // No audio here: the notification still shows.
  }
}

const label = (room: RoomSummary, name: string) => (room.kind === 'direct' ? name : `#${name}`);

/**
 * The tab's title shows how many unread messages wait outside muted rooms ("(3) #general ·
 * SecureChat"); while the tab is hidden, a new message in a room that is not muted raises a
 * desktop notification (after the person allowed them in Settings), with a chime if chosen.
 * It names the room and the sender; the text only when "show message text" is on.
 */
export function useNotifications(): void {
  const { conversations, rooms, unread, names, me } = useRealtime();
  const navigate = useNavigate();

  const total = [...unread].reduce(
    (sum, [room, count]) => (rooms?.find((r) => r.id === room)?.muted ? sum : sum + count),
    0,
  );
  useEffect(() => {
    const base = document.title.replace(/^\(\d+\+?\) /, '');
    document.title = total > 0 ? `(${total > 99 ? '99+' : total}) ${base}` : base;
  });

  useEffect(() => {
    if (!conversations || !rooms) return;
    let last = new Map(conversations.unreadCounts());
    return conversations.subscribe(() => {
      const now = conversations.unreadCounts();
      const grown = [...now].filter(([room, count]) => count > (last.get(room) ?? 0));
      last = new Map(now);
      const settings = notificationSettings();
      if (grown.length === 0 || !document.hidden || !settings.desktop) return;
      if (!notificationsSupported() || Notification.permission !== 'granted') return;
      let shown = false;
      for (const [roomId, count] of grown) {
        const room = rooms.find((r) => r.id === roomId);
        if (!room || room.muted) continue;
        const newest = [...conversations.view(roomId).items]
          .reverse()
          .find((item): item is MessageItem => item.type === 'message' && item.sender !== me);
        const sender = newest ? (names.get(newest.sender) ?? t.conversation.someone) : null;
        const title = label(room, roomName(room, conversations.profile(roomId)));
        const body =
          settings.preview && newest?.text
            ? `${sender ?? t.conversation.someone}: ${newest.text.slice(0, 200)}`
            : sender
              ? t.notifications.from(sender, count)
              : t.notifications.count(count);
        const notification = new Notification(title, { body, tag: roomId });
        notification.onclick = () => {
          window.focus();
          void navigate(roomPath(roomId));
        };
        shown = true;
      }
      if (shown && settings.sound) chime();
    });
  }, [conversations, rooms, names, me, navigate]);
}
