import { GENERAL_ROOM_ID, type RoomSummary } from '@securechat/sdk';
import { useNavigate } from 'react-router';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { roomPath } from '../conversation/paths';
import { useRealtime, useRealtimeStore } from '../conversation/RealtimeProvider';

/**
 * Leave a room, after saying what happens. An owner with others in the room is told to hand
 * ownership on first (the server refuses otherwise); the last member is told the room goes.
 */
export function LeaveRoomDialog({
  room,
  label,
  onClose,
}: {
  room: RoomSummary;
  label: string;
  onClose: () => void;
}) {
  const store = useRealtimeStore();
  const { conversations } = useRealtime();
  const navigate = useNavigate();
  const failure = useFailureMessage();
  const s = t.roomSettings;
  const alone = room.memberCount <= 1 && room.kind !== 'direct';
  const blocked = room.role === 'owner' && !alone && room.kind !== 'direct';

  async function leave(): Promise<string | null> {
    if (!conversations) return null;
    try {
      await conversations.leave(room.id);
    } catch (reason) {
      return failure(reason);
    }
    store.removeRoom(room.id);
    void navigate(roomPath(GENERAL_ROOM_ID));
    return null;
  }

  return blocked ? (
    <ConfirmDialog title={s.leaveTitle(label)} lead={s.leaveOwnerLead} onClose={onClose} />
  ) : (
    <ConfirmDialog
      title={s.leaveTitle(label)}
      lead={alone ? s.leaveLastLead : s.leaveLead}
      confirm={s.leaveConfirm}
      busyLabel={s.leaving}
      onConfirm={leave}
      onClose={onClose}
    />
  );
}
