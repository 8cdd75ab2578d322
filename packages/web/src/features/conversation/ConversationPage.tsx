import {
  ChatError,
  GENERAL_ROOM_ID,
  type Member,
  type MessageItem,
  type RichDocument,
  type RoomProfile,
  type RoomSummary,
  type SearchHit,
  type TimelineItem,
} from '@securechat/sdk';
import {
  useCallback,
  useEffect,
  useId,
  useRef,
  useState,
  useSyncExternalStore,
  type DragEvent,
} from 'react';
import { useNavigate, useParams, useSearchParams } from 'react-router';
import { useFailureMessage, useSession } from '../../session';
import { t } from '../../strings';
import { Alert } from '../../ui/Alert';
import { Button } from '../../ui/Button';
import { Dialog } from '../../ui/Dialog';
import { errorMessage } from '../../ui/errors';
import { Icon } from '../../ui/Icon';
import { Menu } from '../../ui/Menu';
import { JoinRoom } from '../rooms/JoinRoom';
import { LeaveRoomDialog } from '../rooms/LeaveRoomDialog';
import { ProfileCard, type Profile } from '../rooms/ProfileCard';
import { mayModerate } from '../rooms/roles';
import { RoomSettingsDialog } from '../rooms/RoomSettingsDialog';
import { AppShell } from '../shell/AppShell';
import { ClosedRoomBanner, ClosedRoomComposer } from './ClosedRoom';
import { Composer } from './Composer';
import { DeleteDialog } from './DeleteDialog';
import { EmojiPanel } from './emoji';
import { ExportDialog } from './ExportDialog';
import { MembersPanel } from './MembersPanel';
import { MessageList, type MessageListHandle, type PendingMessage } from './MessageList';
import { roomPath } from './paths';
import { useConversationView, useRealtime, useRealtimeStore } from './RealtimeProvider';
import { SafetyNumberDialog } from './SafetyNumberDialog';
import { SearchPanel } from './SearchPanel';
import { SecurityBadge, SecurityBanner, useTrust } from './security';
import { roomName } from './store';
import { useAttachments } from './attachments';

/** Whether the browser says it has a network (the socket may take a while to notice). */
function useNetwork(): boolean {
  return useSyncExternalStore(
    (changed) => {
      window.addEventListener('online', changed);
      window.addEventListener('offline', changed);
      return () => {
        window.removeEventListener('online', changed);
        window.removeEventListener('offline', changed);
      };
    },
    () => navigator.onLine,
  );
}

/** How long a message found by search stays highlighted. */
const FLASH_MS = 2_500;
const noItems: readonly TimelineItem[] = [];
const joining = { state: 'joining', warnings: [] } as const;

/** "#general" for channels; a group's name; the person's name for direct messages. */
const roomLabel = (room: RoomSummary, profile?: RoomProfile): string =>
  room.kind === 'direct' || room.kind === 'group'
    ? roomName(room, profile)
    : `#${roomName(room, profile)}`;

/** `/rooms/:roomId`, and #general at `/`. */
export function ConversationPage() {
  const { roomId = GENERAL_ROOM_ID } = useParams();
  const { rooms, conversations } = useRealtime();
  const room = rooms?.find((r) => r.id === roomId);
  return (
    <AppShell
      label={t.shell.conversation}
      title={room ? roomLabel(room, conversations?.profile(room.id)) : null}
    >
      {rooms === null ? (
        <div className="pane-loading" role="status">
          <span className="spinner" aria-hidden="true" />
          {t.loading}
        </div>
      ) : room ? (
        <Conversation key={room.id} room={room} />
      ) : (
        // Not one of this user's rooms: a public channel offers Join, anything else is "not
        // available".
        <JoinRoom key={roomId} roomId={roomId} />
      )}
    </AppShell>
  );
}

function Conversation({ room }: { room: RoomSummary }) {
  const store = useRealtimeStore();
  const { conversations, state, names, me, typing, presence, rooms } = useRealtime();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const view = useConversationView(room.id);
  const failure = useFailureMessage();
  const [error, setError] = useState<string | null>(null);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const [membersOpen, setMembersOpen] = useState(false);
  const [searchOpen, setSearchOpen] = useState(false);
  /** The message a search result led to, highlighted for a moment. */
  const [flash, setFlash] = useState<number | null>(null);
  const searchButton = useRef<HTMLButtonElement>(null);
  const searchId = useId();
  const [members, setMembers] = useState<{ list: Member[]; total: number } | null>(null);
  const [deleting, setDeleting] = useState<{
    seq: number;
    code: string;
    /** Whose message it is, when not this user's (a moderator deleting it). */
    of: string | null;
  } | null>(null);
  const { session } = useSession();
  const admin = session?.user.role === 'admin';
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [leaving, setLeaving] = useState(false);
  /** The person whose profile card is open. */
  const [profileOf, setProfileOf] = useState<Profile | null>(null);
  const [exporting, setExporting] = useState(false);
  /** The message whose reaction is being picked. */
  const [reacting, setReacting] = useState<number | null>(null);
  const [replyTo, setReplyTo] = useState<MessageItem | null>(null);
  /** Whose safety number the dialog shows. */
  const [checking, setChecking] = useState<{ user: string; name: string } | null>(null);
  const [now] = useState(() => Date.now());
  const panelId = useId();
  const list = useRef<MessageListHandle>(null);
  const network = useNetwork();
  const open = state === 'open';
  const roomId = room.id;
  const label = roomLabel(room, view?.profile);
  const items = view?.items ?? noItems;
  const loaded = view?.loaded ?? false;
  const more = view?.more ?? false;
  const security = view?.security ?? joining;
  const waiting = view?.waiting ?? 0;
  const trust = useTrust(conversations, members?.list.map((m) => m.user) ?? []);

  // Messages here are read as they arrive; the sidebar counts the other rooms'.
  const newest = items.at(-1)?.seq ?? 0;
  const read = view?.read ?? 0;
  // Where this visit started reading: the "new messages" line goes after it.
  const [unreadAfter, setUnreadAfter] = useState<number | null>(null);
  // Taken on the first render with the room loaded, before this visit marks anything read.
  if (unreadAfter === null && view?.loaded) setUnreadAfter(read);
  useEffect(() => {
    if (conversations && newest > read)
      void conversations.markRead(roomId, newest).catch(() => undefined);
  }, [conversations, roomId, newest, read]);

  // Members give senders their names; fetched again when someone new speaks or a notice arrives.
  const unknownSenders = [
    ...new Set(items.map((i) => i.sender).filter((id) => !names.has(id))),
  ].join(',');
  const notices = items.filter((i) => i.type === 'notice').length;
  useEffect(() => {
    if (!conversations || !open) return;
    let cancelled = false;
    conversations.members(roomId).then(
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
  }, [conversations, open, roomId, store, unknownSenders, notices, room.memberCount]);

  const pending: PendingMessage[] = (view?.pending ?? []).map((p) => ({
    cmid: p.cmid,
    text: p.text,
    rich: p.rich,
    file: p.file,
    at: p.at,
    error: p.error ? errorMessage(new ChatError(p.error.code, p.error.message)) : null,
  }));

  // A send refused because the room was closed while this app did not know it (closed from
  // the command line, which tells no open app): fetch the rooms, whose summary says so.
  const refusedClosed = view?.pending.some((p) => p.error?.code === 'CHAT_ERR_ROOM_CLOSED');
  useEffect(() => {
    if (refusedClosed && room.closedAt === null) void store.refreshRooms();
  }, [refusedClosed, room.closedAt, store]);

  const loadEarlier = useCallback(async () => {
    if (!conversations) return;
    setLoadingEarlier(true);
    try {
      await conversations.loadOlder(roomId);
    } catch (reason) {
      setError(failure(reason));
    } finally {
      setLoadingEarlier(false);
    }
  }, [conversations, roomId, failure]);

  // Ctrl/Cmd+K, or "/" outside a text field, opens search.
  useEffect(() => {
    function onKey(event: globalThis.KeyboardEvent) {
      const target = event.target as HTMLElement | null;
      const typing =
        target?.isContentEditable === true ||
        ['INPUT', 'TEXTAREA', 'SELECT'].includes(target?.tagName ?? '');
      if (
        ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'k') ||
        (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey && !event.altKey)
      ) {
        event.preventDefault();
        setMembersOpen(false);
        setSearchOpen(true);
      }
    }
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  // `?message=<seq>` (a search result): load history until it is there, then show it.
  const wanted = Number(params.get('message') ?? '') || null;
  const hasWanted = wanted !== null && items.some((item) => item.seq === wanted);
  useEffect(() => {
    if (wanted === null || !loaded) return;
    // Once this render is on screen (the message's element is there).
    const timer = setTimeout(() => {
      if (!hasWanted) {
        if (more && open && !loadingEarlier) void loadEarlier();
        else if (!more) {
          setError(t.conversation.search.gone);
          setParams({}, { replace: true });
        }
        return;
      }
      list.current?.reveal(wanted);
      setFlash(wanted);
      setParams({}, { replace: true });
    });
    return () => clearTimeout(timer);
  }, [wanted, hasWanted, loaded, more, open, loadingEarlier, loadEarlier, setParams]);
  useEffect(() => {
    if (flash === null) return;
    const timer = setTimeout(() => setFlash(null), FLASH_MS);
    return () => clearTimeout(timer);
  }, [flash]);

  function jump(hit: SearchHit) {
    setSearchOpen(false);
    void navigate(`${roomPath(hit.room)}?message=${hit.seq}`);
  }

  function closeSearch() {
    setSearchOpen(false);
    searchButton.current?.focus();
  }

  const labelOf = (id: string): string => {
    const found = rooms?.find((r) => r.id === id);
    return found ? roomLabel(found, conversations?.profile(id)) : t.conversation.search.otherRoom;
  };

  function onTop() {
    if (loaded && more && !loadingEarlier && open) void loadEarlier();
  }

  const attachments = useAttachments(conversations, roomId);
  const [dropping, setDropping] = useState(false);
  const carriesFiles = (event: DragEvent) => event.dataTransfer.types.includes('Files');

  function send(text: string, rich: RichDocument | null) {
    if (!conversations) return;
    // After this render (the pending message is in the list), show it.
    requestAnimationFrame(() => list.current?.toBottom());
    if (attachments.sendable) {
      // The text goes as the first file's caption.
      setReplyTo(null);
      void attachments.sendAll(text);
      return;
    }
    const options = { ...(replyTo ? { replyTo: replyTo.seq } : {}), ...(rich ? { rich } : {}) };
    setReplyTo(null);
    // A refusal after queueing shows on the pending message itself (with Retry).
    conversations.sendText(roomId, text, options).catch((reason: unknown) => {
      if (
        reason instanceof ChatError &&
        (reason.code === 'CHAT_ERR_TOO_LARGE' || reason.code === 'CHAT_ERR_VALIDATION')
      )
        setError(failure(reason));
    });
  }

  async function edit(seq: number, text: string, rich: RichDocument | null): Promise<boolean> {
    if (!conversations) return false;
    try {
      await conversations.edit(roomId, seq, text, rich ?? undefined);
      return true;
    } catch (reason) {
      setError(failure(reason));
      return false;
    }
  }

  function react(seq: number, emoji: string) {
    conversations?.react(roomId, seq, emoji).catch((reason: unknown) => setError(failure(reason)));
  }

  async function askDelete(seq: number) {
    if (!conversations) return;
    setError(null);
    const sender = items.find((item) => item.seq === seq)?.sender;
    const of = sender && sender !== me ? (names.get(sender) ?? t.conversation.someone) : null;
    try {
      const { code } = await conversations.requestDelete(roomId, seq);
      setDeleting({ seq, code, of });
    } catch (reason) {
      setError(failure(reason));
    }
  }

  async function confirmDelete(typed: string): Promise<string | null> {
    if (!conversations || !deleting) return null;
    try {
      await conversations.confirmDelete(roomId, deleting.seq, typed);
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
  const status = !network
    ? t.conversation.offline
    : state === 'reconnecting'
      ? t.conversation.reconnecting
      : state === 'connecting'
        ? t.conversation.connecting
        : state === 'stalled'
          ? t.conversation.stalled
          : '';

  const checkSafetyNumber = (user: string) =>
    setChecking({ user, name: names.get(user) ?? t.conversation.someone });

  /** A person's card: their role here comes from the members list, when it has them. */
  const openProfile = (user: string) => {
    const member = members?.list.find((m) => m.user === user);
    setProfileOf({
      user,
      username: member?.username ?? names.get(user) ?? t.conversation.someone,
      role: member?.role ?? null,
    });
  };

  function acknowledge(user: string) {
    conversations?.acknowledgeKeyChange(user).catch((reason: unknown) => setError(failure(reason)));
  }

  const topic =
    (room.kind === 'group' || room.kind === 'direct' ? view?.profile.topic : null) ?? room.topic;

  return (
    <div
      className={dropping ? 'conversation dropping' : 'conversation'}
      onDragOver={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
        setDropping(true);
      }}
      onDragLeave={(event) => {
        const to = event.relatedTarget;
        if (!(to instanceof Node) || !event.currentTarget.contains(to)) setDropping(false);
      }}
      onDrop={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        setDropping(false);
        attachments.add([...event.dataTransfer.files]);
      }}
    >
      {dropping ? (
        <div className="drop-hint" aria-hidden="true">
          <Icon name="attach" /> {t.conversation.files.dropHere}
        </div>
      ) : null}
      <header className="conv-head">
        <div className="conv-title">
          <h1>
            {room.kind === 'direct' || room.kind === 'group' ? null : (
              <span className="conv-hash" aria-hidden="true">
                #
              </span>
            )}
            {roomName(room, view?.profile)}
          </h1>
          {topic ? <p className="conv-topic">{topic}</p> : null}
        </div>
        <SecurityBadge security={security} />
        {room.muted ? (
          <span className="badge badge-muted conv-badge">{t.notifications.muted}</span>
        ) : null}
        {room.protected ? (
          <span className="badge badge-muted conv-badge">
            <Icon name="lock" /> {t.rooms.protectedRoom}
          </span>
        ) : null}
        {room.kind === 'direct' ? (
          <button
            type="button"
            className="button ghost safety-toggle"
            aria-label={t.conversation.safety.buttonFor(room.peer.username)}
            onClick={() => setChecking({ user: room.peer.id, name: room.peer.username })}
          >
            <Icon name="key" />
            <span className="safety-toggle-text">{t.conversation.safety.button}</span>
          </button>
        ) : null}
        <button
          ref={searchButton}
          type="button"
          className="button ghost members-toggle"
          aria-expanded={searchOpen}
          aria-controls={searchOpen ? searchId : undefined}
          aria-keyshortcuts="Control+K Meta+K /"
          title={t.conversation.search.buttonHint}
          onClick={() => {
            setMembersOpen(false);
            setSearchOpen((o) => !o);
          }}
        >
          <Icon name="search" />
          <span className="members-toggle-text">{t.conversation.search.button}</span>
        </button>
        <button
          type="button"
          className="button ghost members-toggle"
          aria-expanded={membersOpen}
          aria-controls={membersOpen ? panelId : undefined}
          onClick={() => {
            setSearchOpen(false);
            setMembersOpen((o) => !o);
          }}
        >
          <Icon name="users" />
          <span className="members-toggle-text">{t.conversation.membersButton}</span>
          <span className="count">{members?.total ?? room.memberCount}</span>
        </button>
        <Menu
          label={t.conversation.moreActions}
          className="conv-more"
          trigger={<Icon name="more" />}
          items={[
            {
              label: room.muted ? t.notifications.unmute : t.notifications.mute,
              onSelect: () =>
                void conversations
                  ?.mute(room.id, !room.muted)
                  .then((updated) => store.upsertRoom(updated))
                  .catch((reason: unknown) => setError(failure(reason))),
            },
            { label: t.transcript.button, onSelect: () => setExporting(true) },
            ...(room.kind === 'direct'
              ? []
              : [{ label: t.roomSettings.open, onSelect: () => setSettingsOpen(true) }]),
            ...(room.kind === 'general'
              ? []
              : [{ label: t.roomSettings.leave, danger: true, onSelect: () => setLeaving(true) }]),
          ]}
        />
      </header>
      <div className="conv-body">
        <div className="conv-main">
          <SecurityBanner
            warnings={security.warnings}
            names={names}
            onCheck={checkSafetyNumber}
            onAcknowledge={acknowledge}
          />
          {room.closedAt === null ? null : <ClosedRoomBanner />}
          <MessageList
            handle={list}
            label={t.conversation.messages}
            busy={!loaded}
            header={
              <>
                {!loaded ? (
                  <p className="muted small" role="status">
                    <span className="spinner" aria-hidden="true" /> {t.conversation.loading}
                  </p>
                ) : more ? (
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
              </>
            }
            onTop={onTop}
            items={items}
            pending={pending}
            names={names}
            me={me}
            kind={room.kind}
            now={now}
            online={open && network}
            conversations={conversations}
            room={roomId}
            unreadAfter={unreadAfter}
            receipts={view?.receipts ?? null}
            onEdit={edit}
            onDelete={(seq) => void askDelete(seq)}
            moderator={mayModerate(room, admin)}
            closed={room.closedAt !== null}
            onOpenProfile={openProfile}
            onReply={setReplyTo}
            onReact={react}
            onPickReaction={setReacting}
            // The same path as a search result: loads older history until it is there.
            onJump={(seq) => setParams({ message: String(seq) }, { replace: true })}
            onRetry={(cmid) => conversations?.retry(cmid)}
            onDiscard={(cmid) => conversations?.discard(cmid)}
            highlighted={flash}
          />
          <div className="conv-foot">
            <p className="conv-status" role="status">
              {status}
            </p>
            {waiting > 0 ? <p className="conv-waiting">{t.conversation.waiting(waiting)}</p> : null}
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
            {room.closedAt !== null ? (
              <ClosedRoomComposer />
            ) : (
              <Composer
                // Remade once the conversations are open, so it can read the room's draft.
                key={conversations ? 'open' : 'opening'}
                roomLabel={label}
                replying={
                  replyTo
                    ? {
                        author: names.get(replyTo.sender) ?? t.conversation.someone,
                        text: replyTo.text ?? '',
                      }
                    : null
                }
                onCancelReply={() => setReplyTo(null)}
                onSend={send}
                attachments={attachments}
                onAttach={attachments.add}
                onRemoveAttachment={attachments.remove}
                onTyping={(on) => void conversations?.typing(roomId, on).catch(() => undefined)}
                loadDraft={() => conversations?.draft(roomId) ?? Promise.resolve('')}
                saveDraft={(text) =>
                  void conversations?.saveDraft(roomId, text).catch(() => undefined)
                }
              />
            )}
          </div>
        </div>
        {searchOpen && conversations ? (
          <SearchPanel
            id={searchId}
            conversations={conversations}
            room={roomId}
            roomLabel={labelOf}
            names={names}
            onJump={jump}
            onClose={closeSearch}
          />
        ) : null}
        {membersOpen ? (
          <MembersPanel
            id={panelId}
            members={members?.list ?? null}
            total={members?.total ?? 0}
            presence={presence}
            stale={!open || !network}
            me={me}
            trust={trust}
            onSafetyNumber={(member) => setChecking({ user: member.user, name: member.username })}
            onOpen={(member) =>
              setProfileOf({ user: member.user, username: member.username, role: member.role })
            }
            onClose={() => setMembersOpen(false)}
          />
        ) : null}
      </div>
      {checking && conversations ? (
        <SafetyNumberDialog
          key={checking.user}
          conversations={conversations}
          user={checking.user}
          name={checking.name}
          onClose={() => setChecking(null)}
        />
      ) : null}
      {reacting !== null ? (
        <Dialog title={t.conversation.addReaction} onClose={() => setReacting(null)}>
          <EmojiPanel
            bare
            onPick={(emoji) => {
              react(reacting, emoji);
              setReacting(null);
            }}
          />
        </Dialog>
      ) : null}
      {exporting && conversations ? (
        <ExportDialog
          conversations={conversations}
          room={roomId}
          label={label}
          name={roomName(room, view?.profile)}
          names={names}
          onClose={() => setExporting(false)}
        />
      ) : null}
      {settingsOpen ? (
        <RoomSettingsDialog
          room={room}
          label={label}
          profile={view?.profile ?? { name: null, topic: null }}
          admin={admin}
          onLeave={() => {
            setSettingsOpen(false);
            setLeaving(true);
          }}
          onClose={() => setSettingsOpen(false)}
        />
      ) : null}
      {leaving ? (
        <LeaveRoomDialog room={room} label={label} onClose={() => setLeaving(false)} />
      ) : null}
      {profileOf ? (
        <ProfileCard
          key={profileOf.user}
          profile={profileOf}
          onVerify={(user, name) => {
            setProfileOf(null);
            setChecking({ user, name });
          }}
          onClose={() => setProfileOf(null)}
        />
      ) : null}
      {deleting ? (
        <DeleteDialog
          key={deleting.seq}
          code={deleting.code}
          lead={deleting.of === null ? undefined : t.conversation.deleteOtherLead(deleting.of)}
          onConfirm={confirmDelete}
          onClose={() => setDeleting(null)}
        />
      ) : null}
    </div>
  );
}
