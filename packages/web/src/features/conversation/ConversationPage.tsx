import { GENERAL_ROOM_ID, type Member, type RoomSummary } from '@securechat/sdk';
import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useFailureMessage } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Icon } from '../../ui/Icon';
import { AppShell } from '../shell/AppShell';
import { Composer } from './Composer';
import { DeleteDialog } from './DeleteDialog';
import { MembersPanel } from './MembersPanel';
import { MessageList, type PendingMessage } from './MessageList';
import { roomPath } from './paths';
import { encodeMessage } from './payload';
import { useRealtime, useRealtimeStore } from './RealtimeProvider';
import { roomName } from './store';
import { applyEvents, applyPage, emptyTimeline } from './timeline';

/** Events per history page. */
const PAGE_SIZE = 50;
/** Closer than this to the bottom, the list follows new messages. */
const STICK_PX = 80;

function newCmid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** "#general" for rooms, the person's name for direct messages. */
const roomLabel = (room: RoomSummary): string =>
  room.kind === 'direct' ? roomName(room) : `#${roomName(room)}`;

/** `/rooms/:roomId`, and #general at `/`. */
export function ConversationPage() {
  const { roomId = GENERAL_ROOM_ID } = useParams();
  const { rooms } = useRealtime();
  const room = rooms?.find((r) => r.id === roomId);
  return (
    <AppShell label={t.shell.conversation} title={room ? roomLabel(room) : null}>
      {rooms === null ? (
        <div className="pane-loading" role="status">
          <span className="spinner" aria-hidden="true" />
          {t.loading}
        </div>
      ) : room ? (
        <Conversation key={room.id} room={room} />
      ) : (
        <div className="empty center">
          <div className="empty-art" aria-hidden="true">
            <Icon name="chat" />
          </div>
          <h1 className="empty-title">{t.conversation.unknownRoom}</h1>
          <p>{t.conversation.unknownRoomLead}</p>
          <Link to={roomPath(GENERAL_ROOM_ID)} className="button">
            {t.conversation.backToGeneral}
          </Link>
        </div>
      )}
    </AppShell>
  );
}

function Conversation({ room }: { room: RoomSummary }) {
  const store = useRealtimeStore();
  const { connection, state, names, me, typing, presence } = useRealtime();
  const failure = useFailureMessage();
  const [timeline, setTimeline] = useState(emptyTimeline);
  const [pending, setPending] = useState<PendingMessage[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const [membersOpen, setMembersOpen] = useState(false);
  const [members, setMembers] = useState<{ list: Member[]; total: number } | null>(null);
  const [deleting, setDeleting] = useState<{ seq: number; code: string } | null>(null);
  const [now] = useState(() => Date.now());
  const panelId = useId();
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const fromBottom = useRef(0);
  const firstSeq = useRef<number | null>(null);
  const open = state === 'open';
  const roomId = room.id;
  const label = roomLabel(room);

  // Messages here are read as they arrive; the sidebar counts the other rooms'.
  useEffect(() => {
    store.setActive(roomId);
    return () => store.setActive(null);
  }, [store, roomId]);

  useEffect(
    () =>
      store.onEvent((event) => {
        if (event.room !== roomId) return;
        setTimeline((current) => applyEvents(current, [event]));
        if (event.kind === 'message')
          setPending((list) => list.filter((p) => p.cmid !== event.cmid));
      }),
    [store, roomId],
  );

  // The newest page once connected; later events arrive live (and after a reconnect, resumed).
  useEffect(() => {
    if (!connection || !open || timeline.loaded) return;
    let cancelled = false;
    connection.history(roomId, PAGE_SIZE).then(
      (page) => {
        if (!cancelled) setTimeline((current) => applyPage(current, page.events, page.more));
      },
      (reason: unknown) => {
        if (!cancelled) setError(failure(reason));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [connection, open, roomId, timeline.loaded, failure]);

  // Members give senders their names; fetched again when someone new speaks or a notice arrives.
  const unknownSenders = [
    ...new Set(timeline.items.map((i) => i.sender).filter((id) => !names.has(id))),
  ].join(',');
  const notices = timeline.items.filter((i) => i.type === 'notice').length;
  useEffect(() => {
    if (!connection || !open) return;
    let cancelled = false;
    connection.members(roomId).then(
      (reply) => {
        if (cancelled) return;
        store.learnNames(reply.members.map((m) => ({ id: m.user, username: m.username })));
        store.learnPresence(reply.members);
        setMembers({ list: reply.members, total: reply.total });
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [connection, open, roomId, store, unknownSenders, notices, room.memberCount]);

  const shownPending = pending.filter(
    (p) => !timeline.items.some((i) => i.type === 'message' && i.cmid === p.cmid),
  );

  // Follow new messages at the bottom; keep the view still when older ones load above.
  const first = timeline.items[0]?.seq ?? null;
  const last = timeline.items.at(-1)?.seq ?? null;
  const count = timeline.items.length + shownPending.length;
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const prepended = firstSeq.current !== null && first !== null && first < firstSeq.current;
    if (prepended && !stick.current) el.scrollTop = el.scrollHeight - fromBottom.current;
    else if (stick.current) el.scrollTop = el.scrollHeight;
    firstSeq.current = first;
  }, [first, last, count]);

  const loadEarlier = useCallback(async () => {
    if (!connection || timeline.oldest === null) return;
    const el = scroller.current;
    if (el) fromBottom.current = el.scrollHeight - el.scrollTop;
    setLoadingEarlier(true);
    try {
      const page = await connection.history(roomId, PAGE_SIZE, timeline.oldest);
      setTimeline((current) => applyPage(current, page.events, page.more));
    } catch (reason) {
      setError(failure(reason));
    } finally {
      setLoadingEarlier(false);
    }
  }, [connection, roomId, timeline.oldest, failure]);

  function onScroll() {
    const el = scroller.current;
    if (!el) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
    fromBottom.current = el.scrollHeight - el.scrollTop;
    if (el.scrollTop < 40 && timeline.more && !loadingEarlier && open) void loadEarlier();
  }

  function transmit(cmid: string, text: string) {
    if (!connection) return;
    connection
      .send({ room: roomId, kind: 'message', payload: encodeMessage({ text }), cmid })
      .catch((reason: unknown) => {
        const message = failure(reason);
        setPending((list) => list.map((p) => (p.cmid === cmid ? { ...p, error: message } : p)));
      });
  }

  function send(text: string) {
    const cmid = newCmid();
    setPending((list) => [...list, { cmid, text, at: Date.now(), error: null }]);
    stick.current = true;
    transmit(cmid, text);
  }

  function retry(cmid: string) {
    const message = pending.find((p) => p.cmid === cmid);
    if (!message) return;
    setPending((list) => list.map((p) => (p.cmid === cmid ? { ...p, error: null } : p)));
    transmit(cmid, message.text);
  }

  async function edit(seq: number, text: string): Promise<boolean> {
    if (!connection) return false;
    try {
      await connection.edit(roomId, seq, encodeMessage({ text }));
      return true;
    } catch (reason) {
      setError(failure(reason));
      return false;
    }
  }

  async function askDelete(seq: number) {
    if (!connection) return;
    setError(null);
    try {
      const { code } = await connection.deleteCode(roomId, seq);
      setDeleting({ seq, code });
    } catch (reason) {
      setError(failure(reason));
    }
  }

  async function confirmDelete(typed: string): Promise<string | null> {
    if (!connection || !deleting) return null;
    try {
      await connection.deleteMessage(roomId, deleting.seq, typed);
      return null;
    } catch (reason) {
      return failure(reason);
    }
  }

  const typists = (typing.get(roomId) ?? []).map((id) => names.get(id) ?? t.conversation.someone);
  const typingText =
    typists.length === 0
      ? ''
      : typists.length === 1
        ? t.conversation.typing1(typists[0] ?? '')
        : typists.length === 2
          ? t.conversation.typing2(typists[0] ?? '', typists[1] ?? '')
          : t.conversation.typingMany;
  const status =
    state === 'reconnecting'
      ? t.conversation.reconnecting
      : state === 'connecting'
        ? t.conversation.connecting
        : '';

  return (
    <div className="conversation">
      <header className="conv-head">
        <div className="conv-title">
          <h1>
            {room.kind === 'direct' ? null : (
              <span className="conv-hash" aria-hidden="true">
                #
              </span>
            )}
            {roomName(room)}
          </h1>
          {room.topic ? <p className="conv-topic">{room.topic}</p> : null}
        </div>
        {room.protected ? (
          <span className="badge badge-muted conv-badge">
            <Icon name="lock" /> {t.rooms.protectedRoom}
          </span>
        ) : null}
        <button
          type="button"
          className="button ghost members-toggle"
          aria-expanded={membersOpen}
          aria-controls={membersOpen ? panelId : undefined}
          onClick={() => setMembersOpen((o) => !o)}
        >
          <Icon name="users" />
          <span className="members-toggle-text">{t.conversation.membersButton}</span>
          <span className="count">{members?.total ?? room.memberCount}</span>
        </button>
      </header>
      <div className="conv-body">
        <div className="conv-main">
          <div className="conv-scroll" ref={scroller} onScroll={onScroll}>
            <div className="conv-top">
              {!timeline.loaded ? (
                <p className="muted small" role="status">
                  <span className="spinner" aria-hidden="true" /> {t.conversation.loading}
                </p>
              ) : timeline.more ? (
                <Button
                  variant="ghost"
                  className="small"
                  busy={loadingEarlier}
                  disabled={!open}
                  onClick={() => void loadEarlier()}
                >
                  {loadingEarlier ? t.conversation.loadingEarlier : t.conversation.loadEarlier}
                </Button>
              ) : (
                <p className="conv-beginning">
                  {room.kind === 'direct'
                    ? t.conversation.beginningDirect(label)
                    : t.conversation.beginning(label)}
                </p>
              )}
            </div>
            <div
              role="log"
              aria-live="polite"
              aria-label={t.conversation.messages}
              aria-busy={!timeline.loaded || undefined}
            >
              <MessageList
                items={timeline.items}
                pending={shownPending}
                names={names}
                me={me}
                kind={room.kind}
                now={now}
                onEdit={edit}
                onDelete={(seq) => void askDelete(seq)}
                onRetry={retry}
                onDiscard={(cmid) => setPending((list) => list.filter((p) => p.cmid !== cmid))}
              />
            </div>
          </div>
          <div className="conv-foot">
            <p className="conv-status" role="status">
              {status}
            </p>
            {error ? (
              <div className="conv-error">
                <Alert>{error}</Alert>
                <button
                  type="button"
                  className="icon-button small"
                  aria-label={t.rooms.close}
                  onClick={() => setError(null)}
                >
                  <Icon name="close" />
                </button>
              </div>
            ) : null}
            <p className="typing">{typingText}</p>
            <Composer
              roomLabel={label}
              onSend={send}
              onTyping={(on) => void connection?.typing(roomId, on).catch(() => undefined)}
            />
          </div>
        </div>
        {membersOpen ? (
          <MembersPanel
            id={panelId}
            members={members?.list ?? null}
            total={members?.total ?? 0}
            presence={presence}
            onClose={() => setMembersOpen(false)}
          />
        ) : null}
      </div>
      {deleting ? (
        <DeleteDialog
          key={deleting.seq}
          code={deleting.code}
          onConfirm={confirmDelete}
          onClose={() => setDeleting(null)}
        />
      ) : null}
    </div>
  );
}
