import {
  deliveryState,
  type Conversations,
  type DeliveryState,
  type MessageItem,
  type RichDocument,
  type RoomReceipts,
  type RoomSummary,
  type TimelineItem,
} from '@securechat/sdk';
import {
  forwardRef,
  useId,
  useImperativeHandle,
  useMemo,
  useRef,
  useState,
  type ComponentPropsWithoutRef,
  type ReactNode,
  type Ref,
} from 'react';
import { Virtuoso, type VirtuosoHandle } from 'react-virtuoso';
import { t } from '../../strings';
import { Button } from '../../ui/Button';
import { Icon } from '../../ui/Icon';
import { Avatar } from '../profile/Avatar';
import { usePerson } from '../profile/avatars';
import { FileView } from './FileView';
import { formatClock, formatDay, formatFull, formatSize, sameDay } from './format';
import { MessageEditor } from './MessageEditor';
import { noticeText } from './notices';
import { RichText } from './RichText';

/** A message of this device still on its way (or refused). */
export interface PendingMessage {
  cmid: string;
  text: string;
  rich: RichDocument | null;
  /** The file it carries (already uploaded). */
  file: { name: string; size: number } | null;
  at: number;
  error: string | null;
}

/** "alice renamed the room to Plans", "alice changed the topic to …". */
function profileText(item: Extract<TimelineItem, { type: 'profile' }>, actor: string): string {
  const n = t.conversation.notice;
  if (typeof item.name === 'string') return n.rename(actor, item.name);
  if (typeof item.topic === 'string') return n.topic(actor, item.topic);
  if (item.topic === null) return n.clearTopic(actor);
  return n.settings(actor);
}

/** The element id of message `seq` (search results scroll to it). */
export const messageDomId = (seq: number): string => `message-${seq}`;

/** The one-click reaction offered on every message. */
const QUICK_REACTION = '👍';

/** A message longer than this (characters or lines) is shown folded, with "Show more". */
const LONG_CHARS = 1_200;
const LONG_LINES = 12;

/**
 * A message's text (formatted by `rich` when it has formatting); a long one folded to a few
 * lines until the reader unfolds it.
 */
function LongText({
  text,
  rich = null,
  id,
  after,
}: {
  text: string;
  rich?: RichDocument | null;
  id?: string;
  after?: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const long = text.length > LONG_CHARS || text.split('\n').length > LONG_LINES;
  const bodyId = useId();
  const Body = rich ? 'div' : 'p';
  const body = rich ? <RichText doc={rich} /> : text;
  const rendered = rich ? 'msg-text msg-rich' : 'msg-text';
  if (!long)
    return (
      <Body className={rendered} id={id}>
        {body}
        {after}
      </Body>
    );
  return (
    <>
      <Body className={open ? rendered : `${rendered} folded`} id={id ?? bodyId}>
        {body}
        {after}
      </Body>
      <button
        type="button"
        className="button ghost small msg-fold"
        aria-expanded={open}
        aria-controls={id ?? bodyId}
        onClick={() => setOpen((o) => !o)}
      >
        {open ? t.conversation.showLess : t.conversation.showMore}
      </button>
    </>
  );
}

/** Consecutive messages of one sender within this long share one header. */
const GROUP_MS = 5 * 60_000;

/** One row of the list: a day separator, the "new messages" line, an event, or a pending send. */
type Row =
  | { readonly kind: 'day'; readonly key: string; readonly at: number }
  | { readonly kind: 'unread'; readonly key: string }
  | {
      readonly kind: 'item';
      readonly key: string;
      readonly item: TimelineItem;
      readonly grouped: boolean;
      /** Other members whose newest read message this is. */
      readonly seenBy: readonly string[];
    }
  | { readonly kind: 'pending'; readonly key: string; readonly message: PendingMessage };

/**
 * The rows to show, oldest first: day separators, the "new messages" line before the first
 * message from someone else after `unreadAfter`, and for each member whose read receipt is
 * known, their name on the newest message they have read.
 */
function buildRows(
  items: readonly TimelineItem[],
  pending: readonly PendingMessage[],
  me: string | null,
  unreadAfter: number | null,
  receipts: RoomReceipts | null,
): Row[] {
  const seen = new Map<number, string[]>();
  if (receipts?.enabled) {
    const messages = items.filter((item) => item.type === 'message');
    for (const member of receipts.members.values()) {
      if (member.read === 0) continue;
      // The newest message at or before their read position (binary search: seqs ascend).
      let low = 0;
      let high = messages.length - 1;
      let found = -1;
      while (low <= high) {
        const mid = (low + high) >> 1;
        if ((messages[mid]?.seq ?? 0) <= member.read) {
          found = mid;
          low = mid + 1;
        } else high = mid - 1;
      }
      const target = messages[found];
      if (target) seen.set(target.seq, [...(seen.get(target.seq) ?? []), member.username]);
    }
  }
  const rows: Row[] = [];
  let marked = unreadAfter === null;
  items.forEach((item, index) => {
    const previous = items[index - 1];
    const newDay = !previous || !sameDay(previous.at, item.at);
    if (newDay) rows.push({ kind: 'day', key: `day-${item.seq}`, at: item.at });
    if (!marked && item.type === 'message' && item.sender !== me && item.seq > (unreadAfter ?? 0)) {
      marked = true;
      rows.push({ kind: 'unread', key: 'unread' });
    }
    const grouped =
      !newDay &&
      item.type === 'message' &&
      previous?.type === 'message' &&
      previous.sender === item.sender &&
      item.at - previous.at < GROUP_MS;
    rows.push({
      kind: 'item',
      key: String(item.seq),
      item,
      grouped,
      seenBy: seen.get(item.seq) ?? [],
    });
  });
  for (const message of pending) rows.push({ kind: 'pending', key: message.cmid, message });
  return rows;
}

/**
 * Virtuoso's index of the first row. Older rows loaded above must lower it by as many rows as
 * they add, so the rows already shown keep their indexes (and the view stays still).
 */
const FIRST_INDEX = 1_000_000_000;
function useFirstIndex(rows: readonly Row[]): number {
  const [anchor, setAnchor] = useState<{
    rows: readonly Row[];
    key: string | null;
    position: number;
    first: number;
  } | null>(null);
  if (anchor?.rows === rows) return anchor.first;
  let first = FIRST_INDEX;
  if (anchor?.key != null) {
    const now = rows.findIndex((row) => row.key === anchor.key);
    first = now === -1 ? anchor.first : anchor.first - (now - anchor.position);
  }
  const position = rows.findIndex((row) => row.kind === 'item');
  // Derived from the previous rows: React re-renders at once with it (no effect, no flash).
  setAnchor({ rows, key: rows[position]?.key ?? null, position, first });
  return first;
}

/** What the conversation page can ask of the list. */
export interface MessageListHandle {
  /** Scroll to the newest row (after this user sends). */
  toBottom(): void;
  /** Scroll message `seq` into the middle of the view and focus it; false if it isn't loaded. */
  reveal(seq: number): boolean;
}

interface ListProps {
  items: readonly TimelineItem[];
  pending: readonly PendingMessage[];
  names: ReadonlyMap<string, string>;
  me: string | null;
  kind: RoomSummary['kind'];
  now: number;
  /** Whether the connection is up (pending messages say they wait for it otherwise). */
  online: boolean;
  /** Opens messages' files. */
  conversations: Conversations | null;
  room: string;
  onEdit: (seq: number, text: string, rich: RichDocument | null) => Promise<boolean>;
  onDelete: (seq: number) => void;
  /** This user may delete others' messages too (a moderator, the owner, an administrator). */
  moderator?: boolean;
  /** The room is closed (read-only): nothing is replied, reacted or edited; Delete stays. */
  closed?: boolean;
  /** Open a sender's profile card. */
  onOpenProfile?: (user: string) => void;
  onReply: (item: MessageItem) => void;
  onReact: (seq: number, emoji: string) => void;
  /** Open the emoji picker to react to message `seq` with any emoji. */
  onPickReaction: (seq: number) => void;
  /** Show message `seq` (a reply's original). */
  onJump: (seq: number) => void;
  onRetry: (cmid: string) => void;
  onDiscard: (cmid: string) => void;
  /** A message to highlight for a moment (one a search led to). */
  highlighted?: number | null;
  /** The "new messages" line goes before the first message from others after this seq. */
  unreadAfter: number | null;
  /** The other members' receipts (small rooms), for message states and "seen by". */
  receipts: RoomReceipts | null;
  /** Shown above the first row (loading, "load earlier", the beginning of the room). */
  header: ReactNode;
  /** The log's accessible name. */
  label: string;
  busy: boolean;
  /** The reader reached the top: load older messages. */
  onTop: () => void;
  handle: Ref<MessageListHandle>;
}

interface ListContext {
  header: ReactNode;
}

const ListHeader = ({ context }: { context?: ListContext }) => (
  <div className="conv-top">{context?.header}</div>
);
const ListBody = forwardRef<HTMLOListElement, ComponentPropsWithoutRef<'ol'>>(
  function ListBody(props, ref) {
    return <ol {...props} ref={ref} className="messages" />;
  },
);
const ListRow = ({
  item: _row,
  context: _context,
  ...props
}: ComponentPropsWithoutRef<'li'> & { item?: Row; context?: ListContext }) => (
  <li {...props} className="row" />
);
const components = { Header: ListHeader, List: ListBody, Item: ListRow };

/**
 * The conversation's messages and notices, oldest first, with day separators: a virtualized
 * list (only the rows near the view are in the page), so a room with tens of thousands of
 * messages scrolls as smoothly as one with ten. It follows new messages while the reader is at
 * the bottom, keeps still when older ones load above, and asks for them at the top.
 */
export function MessageList({
  items,
  pending,
  names,
  me,
  kind,
  now,
  online,
  conversations,
  room,
  onEdit,
  onDelete,
  moderator = false,
  closed = false,
  onOpenProfile,
  onReply,
  onReact,
  onPickReaction,
  onJump,
  onRetry,
  onDiscard,
  highlighted = null,
  unreadAfter,
  receipts,
  header,
  label,
  busy,
  onTop,
  handle,
}: ListProps) {
  const name = (id: string | undefined) =>
    (id === undefined ? undefined : names.get(id)) ?? t.conversation.someone;
  const rows = useMemo(
    () => buildRows(items, pending, me, unreadAfter, receipts),
    [items, pending, me, unreadAfter, receipts],
  );
  const firstIndex = useFirstIndex(rows);
  const virtuoso = useRef<VirtuosoHandle>(null);
  const [atBottom, setAtBottom] = useState(true);
  const newestOwn = items.findLast((item) => item.type === 'message' && item.sender === me)?.seq;

  useImperativeHandle(
    handle,
    () => ({
      toBottom: () => virtuoso.current?.scrollToIndex({ index: 'LAST', align: 'end' }),
      reveal(seq) {
        const index = rows.findIndex((row) => row.kind === 'item' && row.item.seq === seq);
        if (index === -1) return false;
        virtuoso.current?.scrollToIndex({ index, align: 'center' });
        // Focus once the row is rendered there.
        let tries = 0;
        const focus = () => {
          const element = document.getElementById(messageDomId(seq));
          if (element) element.focus({ preventScroll: true });
          else if (++tries < 20) requestAnimationFrame(focus);
        };
        requestAnimationFrame(focus);
        return true;
      },
    }),
    [rows],
  );

  function render(_index: number, row: Row) {
    switch (row.kind) {
      case 'day':
        return (
          <p className="day">
            <span>{formatDay(row.at, now)}</span>
          </p>
        );
      case 'unread':
        return (
          <p className="unread-line" id={UNREAD_LINE_ID}>
            <span>{t.conversation.newMessages}</span>
          </p>
        );
      case 'pending':
        return (
          <PendingRow
            message={row.message}
            author={name(me ?? undefined)}
            online={online}
            onRetry={onRetry}
            onDiscard={onDiscard}
          />
        );
      case 'item': {
        const { item } = row;
        if (item.type !== 'message')
          return (
            <p className="notice">
              <span>
                {item.type === 'notice'
                  ? noticeText(
                      item.notice,
                      name(item.sender),
                      'username' in item.notice ? item.notice.username : '',
                      kind,
                    )
                  : profileText(item, name(item.sender))}
              </span>
              <time dateTime={new Date(item.at).toISOString()} title={formatFull(item.at)}>
                {formatClock(item.at)}
              </time>
            </p>
          );
        const own = item.sender === me;
        return (
          <>
            <Message
              item={item}
              author={name(item.sender)}
              quoted={item.quote?.sender ? name(item.quote.sender) : null}
              me={me}
              own={own}
              grouped={row.grouped}
              highlighted={highlighted === item.seq}
              files={{ conversations, room }}
              state={own ? deliveryState(receipts, item.seq) : null}
              newestOwn={own && item.seq === newestOwn}
              onEdit={onEdit}
              onDelete={onDelete}
              moderator={moderator}
              closed={closed}
              onOpenProfile={onOpenProfile}
              onReply={onReply}
              onReact={onReact}
              onPickReaction={onPickReaction}
              onJump={onJump}
            />
            {row.seenBy.length > 0 && kind !== 'direct' ? (
              <p className="seen-by">{t.conversation.seenBy(row.seenBy)}</p>
            ) : null}
          </>
        );
      }
    }
  }

  return (
    <div className="conv-list">
      <Virtuoso<Row, ListContext>
        ref={virtuoso}
        className="conv-scroll"
        role="log"
        aria-live="polite"
        aria-label={label}
        aria-busy={busy || undefined}
        data={rows}
        context={{ header }}
        components={components}
        firstItemIndex={firstIndex}
        initialTopMostItemIndex={{ index: 'LAST', align: 'end' }}
        computeItemKey={(_index, row) => row.key}
        itemContent={render}
        followOutput={(bottom) => (bottom ? 'auto' : false)}
        atBottomStateChange={setAtBottom}
        atBottomThreshold={STICK_PX}
        startReached={onTop}
        increaseViewportBy={{ top: 600, bottom: 300 }}
      />
      {!atBottom ? (
        <button
          type="button"
          className="button small jump-latest"
          onClick={() => virtuoso.current?.scrollToIndex({ index: 'LAST', align: 'end' })}
        >
          {t.conversation.jumpToLatest}
        </button>
      ) : null}
    </div>
  );
}

/** The element id of the "new messages" line. */
const UNREAD_LINE_ID = 'unread-line';

/** Closer than this to the bottom, the list follows new messages. */
const STICK_PX = 80;

/** A message of this device still on its way (or refused). */
function PendingRow({
  message,
  author,
  online,
  onRetry,
  onDiscard,
}: {
  message: PendingMessage;
  author: string;
  online: boolean;
  onRetry: (cmid: string) => void;
  onDiscard: (cmid: string) => void;
}) {
  return (
    <div className={message.error ? 'msg own pending failed' : 'msg own pending'}>
      <span className="avatar small msg-avatar" aria-hidden="true">
        {author.slice(0, 1).toUpperCase()}
      </span>
      <div className="msg-main">
        <div className="msg-meta">
          <span className="msg-author">{author}</span>
          <span className="msg-status">
            {message.error ?? (online ? t.conversation.sending : t.conversation.waitingToSend)}
          </span>
        </div>
        {message.text !== '' ? <LongText text={message.text} rich={message.rich} /> : null}
        {message.file ? (
          <p className="msg-file-row">
            <Icon name="file" />
            {t.conversation.files.attached(message.file.name, formatSize(message.file.size))}
          </p>
        ) : null}
        {message.error ? (
          <div className="msg-retry">
            <Button variant="ghost" className="small" onClick={() => onRetry(message.cmid)}>
              {t.conversation.retry}
            </Button>
            <Button variant="ghost" className="small" onClick={() => onDiscard(message.cmid)}>
              {t.conversation.discard}
            </Button>
          </div>
        ) : null}
      </div>
    </div>
  );
}

/** Where one of this user's messages stands: a check mark, the word on the newest one. */
function StateMark({ state, newest }: { state: DeliveryState; newest: boolean }) {
  const word = t.conversation.state[state];
  return (
    <span className={`msg-state ${state}`} title={word}>
      <Icon name={state === 'sent' ? 'check' : 'checks'} />
      {newest ? (
        <span className="msg-state-word">{word}</span>
      ) : (
        <span className="visually-hidden">{word}</span>
      )}
    </span>
  );
}

function Message({
  item,
  author,
  quoted,
  me,
  own,
  grouped,
  highlighted,
  files,
  state,
  newestOwn,
  onEdit,
  onDelete,
  moderator,
  closed,
  onOpenProfile,
  onReply,
  onReact,
  onPickReaction,
  onJump,
}: {
  item: MessageItem;
  /** Where this user's own message stands with the others (null: someone else's). */
  state: DeliveryState | null;
  /** This user's newest message: its state is spelled out. */
  newestOwn: boolean;
  files: { conversations: Conversations | null; room: string };
  author: string;
  /** The author of the message this one answers, when it is loaded. */
  quoted: string | null;
  me: string | null;
  own: boolean;
  grouped: boolean;
  highlighted: boolean;
  onEdit: (seq: number, text: string, rich: RichDocument | null) => Promise<boolean>;
  onDelete: (seq: number) => void;
  moderator: boolean;
  closed: boolean;
  onOpenProfile: ((user: string) => void) | undefined;
  onReply: (item: MessageItem) => void;
  onReact: (seq: number, emoji: string) => void;
  /** Open the emoji picker to react to message `seq` with any emoji. */
  onPickReaction: (seq: number) => void;
  /** Show message `seq` (a reply's original). */
  onJump: (seq: number) => void;
}) {
  const [editing, setEditing] = useState<string | null>(null);
  const person = usePerson(files.conversations, item.sender);
  const shown = person.name ?? author;
  const textId = useId();
  const classes = [
    'msg',
    own ? 'own' : null,
    grouped ? 'grouped' : null,
    item.deleted ? 'deleted' : null,
    highlighted ? 'found' : null,
  ]
    .filter(Boolean)
    .join(' ');

  return (
    <div className={classes} id={messageDomId(item.seq)} tabIndex={-1}>
      <Avatar
        conversations={files.conversations}
        user={item.sender}
        name={shown}
        className="small msg-avatar"
      />
      <div className="msg-main">
        <div className="msg-meta">
          {onOpenProfile ? (
            <button
              type="button"
              className="msg-author msg-author-button"
              aria-haspopup="dialog"
              onClick={() => onOpenProfile(item.sender)}
            >
              {shown}
            </button>
          ) : (
            <span className="msg-author">{shown}</span>
          )}
          {/* A display name is anyone's to choose: the username beside it says who it is. */}
          {person.name ? <span className="msg-handle">{author}</span> : null}
          <time dateTime={new Date(item.at).toISOString()} title={formatFull(item.at)}>
            {formatClock(item.at)}
          </time>
          {item.edited && !item.deleted ? (
            <span className="msg-edited">{t.conversation.edited}</span>
          ) : null}
        </div>
        {editing !== null ? (
          <MessageEditor
            text={editing}
            rich={item.rich}
            onSave={(text, rich) => onEdit(item.seq, text, rich)}
            onDone={() => setEditing(null)}
          />
        ) : item.deleted ? (
          <p className="msg-text msg-placeholder">{t.conversation.deleted}</p>
        ) : item.text !== null ? (
          <>
            {item.quote ? (
              <blockquote className="msg-quote">
                {item.quote.deleted ? (
                  t.conversation.quoteDeleted
                ) : item.quote.text === null ? (
                  t.conversation.quoteMissing
                ) : (
                  <button
                    type="button"
                    className="msg-quote-jump"
                    title={t.conversation.quoteJump}
                    onClick={() => item.replyTo !== null && onJump(item.replyTo)}
                  >
                    {t.conversation.quote(quoted ?? t.conversation.someone, item.quote.text)}
                    <span className="visually-hidden">, {t.conversation.quoteJump}</span>
                  </button>
                )}
              </blockquote>
            ) : null}
            {item.text !== '' || !item.file ? (
              <LongText
                id={textId}
                text={item.text}
                rich={item.rich}
                // Grouped under the previous message, its header (and "edited") is hidden.
                after={
                  grouped && item.edited ? (
                    <span className="msg-edited" aria-hidden="true">
                      {t.conversation.edited}
                    </span>
                  ) : null
                }
              />
            ) : (
              <p className="visually-hidden" id={textId}>
                {item.file.name}
              </p>
            )}
            {item.file ? (
              <FileView conversations={files.conversations} room={files.room} file={item.file} />
            ) : null}
          </>
        ) : (
          <p className="msg-text msg-placeholder">
            {t.conversation.unreadable[item.unreadableReason ?? 'malformed']}
          </p>
        )}
        {state !== null && !item.deleted ? <StateMark state={state} newest={newestOwn} /> : null}
        {item.reactions.length > 0 ? (
          <ul className="msg-reactions" aria-label={t.conversation.reactions}>
            {item.reactions.map((reaction) => (
              <li key={reaction.emoji} className="msg-reaction">
                <button
                  type="button"
                  className="button ghost small"
                  aria-pressed={me !== null && reaction.users.includes(me)}
                  disabled={closed}
                  aria-label={t.conversation.reactionLabel(reaction.emoji, reaction.users.length)}
                  onClick={() => onReact(item.seq, reaction.emoji)}
                >
                  {t.conversation.reaction(reaction.emoji, reaction.users.length)}
                </button>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      {!item.deleted && item.text !== null && editing === null ? (
        <div className="msg-actions">
          {closed ? null : (
            <>
              <Button
                variant="ghost"
                className="small"
                aria-describedby={textId}
                onClick={() => onReply(item)}
              >
                {t.conversation.reply}
              </Button>
              <Button
                variant="ghost"
                className="small"
                aria-describedby={textId}
                aria-label={t.conversation.react(QUICK_REACTION)}
                onClick={() => onReact(item.seq, QUICK_REACTION)}
              >
                {QUICK_REACTION}
              </Button>
              <Button
                variant="ghost"
                className="small"
                aria-describedby={textId}
                aria-label={t.conversation.addReaction}
                title={t.conversation.addReaction}
                onClick={() => onPickReaction(item.seq)}
              >
                <span aria-hidden="true">☺+</span>
              </Button>
            </>
          )}
          {own ? (
            <>
              {closed ? null : (
                <Button
                  variant="ghost"
                  className="small"
                  aria-describedby={textId}
                  onClick={() => setEditing(item.text ?? '')}
                >
                  {t.conversation.edit}
                </Button>
              )}
              <Button
                variant="ghost"
                className="small danger-text"
                aria-describedby={textId}
                onClick={() => onDelete(item.seq)}
              >
                {t.conversation.delete}
              </Button>
            </>
          ) : moderator ? (
            <Button
              variant="ghost"
              className="small danger-text"
              aria-describedby={textId}
              onClick={() => onDelete(item.seq)}
            >
              {t.conversation.delete}
            </Button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
