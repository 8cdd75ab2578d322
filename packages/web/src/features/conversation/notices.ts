/** The sentence for a server notice: "bob joined", "alice invited carol". */
import type { Notice, RoomSummary } from '@securechat/sdk';
import { t } from '../../strings';

export function noticeText(
  notice: Notice,
  actor: string,
  subject: string,
  kind: RoomSummary['kind'],
): string {
  const n = t.conversation.notice;
  switch (notice.type) {
    case 'create':
      return kind === 'direct' ? n.createDirect(actor) : n.create(actor);
    case 'join':
      return n.join(subject);
    case 'leave':
      return n.leave(subject);
    case 'invite':
      return n.invite(actor, subject);
    case 'kick':
      return n.kick(actor, subject);
    case 'role':
      return n.role(actor, subject, t.conversation.roleName[notice.role]);
    case 'transfer':
      return n.transfer(actor, subject);
    case 'settings':
      if (typeof notice.name === 'string') return n.rename(actor, notice.name);
      if (typeof notice.topic === 'string') return n.topic(actor, notice.topic);
      if (notice.topic === null) return n.clearTopic(actor);
      return n.settings(actor);
    case 'closed':
      return notice.closed ? n.closed : n.reopened;
    case 'devices':
      return notice.change === 'added' ? n.deviceAdded(subject) : n.deviceRevoked(subject);
  }
}
