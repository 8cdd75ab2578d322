import type {
  Conversations,
  MessageItem,
  RichDocument,
  RoomSummary,
  TimelineItem,
} from '@securechat/sdk';
import { Fragment, useId, useState, type ReactNode } from 'react';
import { t } from '../../strings';
import { Button } from '../../ui/Button';
import { Icon } from '../../ui/Icon';
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
  onReply: (item: MessageItem) => void;
  onReact: (seq: number, emoji: string) => void;
  onRetry: (cmid: string) => void;
  onDiscard: (cmid: string) => void;
  /** A message to highlight for a moment (one a search led to). */
  highlighted?: number | null;
}

/** The conversation's messages and notices, oldest first, with day separators. */
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
  onReply,
  onReact,
  onRetry,
  onDiscard,
  highlighted = null,
}: ListProps) {
  const name = (id: string | undefined) =>
    (id === undefined ? undefined : names.get(id)) ?? t.conversation.someone;
  const rows: TimelineItem[] = [...items];
  return (
    <ol className="messages">
      {rows.map((item, index) => {
        const previous = rows[index - 1];
        const newDay = !previous || !sameDay(previous.at, item.at);
        const grouped =
          !newDay &&
          item.type === 'message' &&
          previous?.type === 'message' &&
          previous.sender === item.sender &&
          item.at - previous.at < GROUP_MS;
        return (
          <Fragment key={item.seq}>
            {newDay ? (
              <li className="day">
                <span>{formatDay(item.at, now)}</span>
              </li>
            ) : null}
            {item.type !== 'message' ? (
              <li className="notice">
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
              </li>
            ) : (
              <Message
                item={item}
                author={name(item.sender)}
                quoted={item.quote?.sender ? name(item.quote.sender) : null}
                me={me}
                own={item.sender === me}
                grouped={grouped}
                highlighted={highlighted === item.seq}
                files={{ conversations, room }}
                onEdit={onEdit}
                onDelete={onDelete}
                onReply={onReply}
                onReact={onReact}
              />
            )}
          </Fragment>
        );
      })}
      {pending.map((message) => (
        <li
          key={message.cmid}
          className={message.error ? 'msg own pending failed' : 'msg own pending'}
        >
          <span className="avatar small msg-avatar" aria-hidden="true">
            {name(me ?? undefined)
              .slice(0, 1)
              .toUpperCase()}
          </span>
          <div className="msg-main">
            <div className="msg-meta">
              <span className="msg-author">{name(me ?? undefined)}</span>
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
        </li>
      ))}
    </ol>
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
  onEdit,
  onDelete,
  onReply,
  onReact,
}: {
  item: MessageItem;
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
  onReply: (item: MessageItem) => void;
  onReact: (seq: number, emoji: string) => void;
}) {
  const [editing, setEditing] = useState<string | null>(null);
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
    <li className={classes} id={messageDomId(item.seq)} tabIndex={-1}>
      <span className="avatar small msg-avatar" aria-hidden="true">
        {author.slice(0, 1).toUpperCase()}
      </span>
      <div className="msg-main">
        <div className="msg-meta">
          <span className="msg-author">{author}</span>
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
                {item.quote.deleted
                  ? t.conversation.quoteDeleted
                  : item.quote.text === null
                    ? t.conversation.quoteMissing
                    : t.conversation.quote(quoted ?? t.conversation.someone, item.quote.text)}
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
        {item.reactions.length > 0 ? (
          <ul className="msg-reactions" aria-label={t.conversation.reactions}>
            {item.reactions.map((reaction) => (
              <li key={reaction.emoji} className="msg-reaction">
                <button
                  type="button"
                  className="button ghost small"
                  aria-pressed={me !== null && reaction.users.includes(me)}
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
          {own ? (
            <>
              <Button
                variant="ghost"
                className="small"
                aria-describedby={textId}
                onClick={() => setEditing(item.text ?? '')}
              >
                {t.conversation.edit}
              </Button>
              <Button
                variant="ghost"
                className="small danger-text"
                aria-describedby={textId}
                onClick={() => onDelete(item.seq)}
              >
                {t.conversation.delete}
              </Button>
            </>
          ) : null}
        </div>
      ) : null}
    </li>
  );
}
