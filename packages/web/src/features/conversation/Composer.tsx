import {
  TEXT_MAX_BYTES,
  isPlainRich,
  richBytes,
  textBytes,
  type RichDocument,
} from '@securechat/sdk';
import type { Editor } from '@tiptap/core';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { t } from '../../strings';
import { Button } from '../../ui/Button';
import { Icon } from '../../ui/Icon';
import type { Attachment } from './attachments';
import { emojiExtensions, ShortcodeList, useShortcodes } from './emoji';
import { formatSize } from './format';
import { EditorContent, FormatToolbar, useRichEditor } from './RichEditor';
import {
  EditorKeys,
  documentOf,
  draftJson,
  draftOf,
  editorExtensions,
  plainTextOf,
} from './editorSchema';

/** While someone keeps typing, "on" is repeated this often; silence this long turns it off. */
const TYPING_REPEAT_MS = 3_000;
const TYPING_IDLE_MS = 4_000;
/** The draft is kept this long after the last keystroke. */
const DRAFT_SAVE_MS = 400;
/** The size counter shows from this share of the limit on. */
const SHOW_SIZE_FROM = 0.8;

const formatBytes = (bytes: number): string => bytes.toLocaleString('en');

/** What the editor holds: its document and plain text, and what would be sent of it. */
interface Typed {
  doc: RichDocument | null;
  text: string;
  /** The document when it has formatting (else the text alone is sent). */
  rich: RichDocument | null;
}
const nothing: Typed = { doc: null, text: '', rich: null };

function typedOf(editor: Editor): Typed {
  const doc = documentOf(editor.getJSON());
  const text = plainTextOf(doc);
  return { doc, text, rich: doc && !isPlainRich(doc) ? doc : null };
}

/**
 * The message box, a rich text editor (./RichEditor.tsx) with a formatting toolbar and emoji:
 * Enter sends, Shift+Enter makes a new line. Tells the room when this user
 * is typing (at most every few seconds) and when they stop. Counts the message's bytes as it
 * is typed: near the limit it shows how many, over it it says so and refuses to send. What is
 * typed and not sent is kept as the room's draft (`loadDraft`/`saveDraft`), across reloads.
 * Files come from the attach button, a paste, or a drop on the conversation (the page's);
 * each shows as a chip with its name, size, progress or refusal, removable until it is sent.
 */
export function Composer({
  roomLabel,
  replying,
  onCancelReply,
  onSend,
  onTyping,
  loadDraft,
  saveDraft,
  attachments,
  onAttach,
  onRemoveAttachment,
}: {
  /** "#general", "alice": for the placeholder. */
  roomLabel: string;
  /** The message being answered, if any. */
  replying: { author: string; text: string } | null;
  onCancelReply: () => void;
  /**
   * Sends the text, with its formatting when it has any (the text alone is the caption of the
   * first file, when there are files to send).
   */
  onSend: (text: string, rich: RichDocument | null) => void;
  onTyping: (on: boolean) => void;
  /** The room's unsent text, once, when the composer opens. */
  loadDraft: () => Promise<string>;
  saveDraft: (text: string) => void;
  attachments: { items: readonly Attachment[]; sendable: boolean; busy: boolean };
  onAttach: (files: File[]) => void;
  onRemoveAttachment: (id: number) => void;
}) {
  const picker = useRef<HTMLInputElement>(null);
  const chipsId = useId();
  const id = useId();
  const sizeId = useId();
  const replyId = useId();
  const [typed, setTyped] = useState<Typed>(nothing);
  const text = typed.text;
  const shortcodes = useShortcodes();
  const [keys] = useState(() => new EditorKeys());
  // The editor is made once; the placeholder is the room's when it opens.
  const [extensions] = useState(() => [
    ...editorExtensions({ placeholder: t.conversation.placeholder(roomLabel), keys }),
    ...emojiExtensions(shortcodes.bridge),
  ]);
  const bytes = textBytes(typed.text) + (typed.rich ? richBytes(typed.rich) : 0);
  const tooLong = bytes > TEXT_MAX_BYTES;
  const showSize = bytes >= TEXT_MAX_BYTES * SHOW_SIZE_FROM;
  const describedBy = [
    showSize ? sizeId : null,
    replying ? replyId : null,
    attachments.items.length > 0 ? chipsId : null,
  ]
    .filter(Boolean)
    .join(' ');
  const editor = useRichEditor({
    extensions,
    content: { type: 'doc', content: [{ type: 'paragraph' }] },
    attributes: {
      id,
      class: 'composer-input',
      role: 'textbox',
      'aria-multiline': 'true',
      'aria-label': t.conversation.message,
      'aria-placeholder': t.conversation.placeholder(roomLabel),
      ...(describedBy === '' ? {} : { 'aria-describedby': describedBy }),
      ...(tooLong ? { 'aria-invalid': 'true' } : {}),
    },
    onChange: (e) => change(typedOf(e)),
    onBlur: () => stopTyping(),
    onPasteFiles: (files) => onAttach(files),
  });
  // Choosing a message to answer puts the cursor here.
  useEffect(() => {
    if (replying) editor.commands.focus('end');
  }, [replying, editor]);
  // The room's draft comes back unless something was typed meanwhile.
  const loadRef = useRef(loadDraft);
  useEffect(() => {
    let live = true;
    loadRef
      .current()
      .then((draft) => {
        if (!live || draft === '' || !editor.isEmpty) return;
        editor.commands.setContent(draftJson(draft), { emitUpdate: false });
        setTyped(typedOf(editor));
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [editor]);
  const saveRef = useRef(saveDraft);
  useEffect(() => {
    saveRef.current = saveDraft;
  });
  const pendingSave = useRef<ReturnType<typeof setTimeout> | null>(null);
  const unsaved = useRef<string | null>(null);
  const flushDraft = () => {
    if (pendingSave.current) clearTimeout(pendingSave.current);
    pendingSave.current = null;
    if (unsaved.current !== null) saveRef.current(unsaved.current);
    unsaved.current = null;
  };
  const keepDraft = (value: string) => {
    unsaved.current = value;
    if (pendingSave.current) clearTimeout(pendingSave.current);
    pendingSave.current = setTimeout(flushDraft, DRAFT_SAVE_MS);
  };
  // Leaving the room keeps what was typed last.
  const flushRef = useRef(flushDraft);
  useEffect(() => {
    flushRef.current = flushDraft;
  });
  useEffect(() => () => flushRef.current(), []);
  const typingSince = useRef(0);
  const idle = useRef<ReturnType<typeof setTimeout> | null>(null);

  const stopTyping = () => {
    if (idle.current) clearTimeout(idle.current);
    idle.current = null;
    if (typingSince.current !== 0) {
      typingSince.current = 0;
      onTyping(false);
    }
  };

  // Leaving the room (or the page) while typing says so.
  const stopRef = useRef(stopTyping);
  useEffect(() => {
    stopRef.current = stopTyping;
  });
  useEffect(() => () => stopRef.current(), []);

  function change(value: Typed) {
    setTyped(value);
    keepDraft(draftOf(value.doc));
    if (value.text === '') {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - typingSince.current > TYPING_REPEAT_MS) {
      typingSince.current = now;
      onTyping(true);
    }
    if (idle.current) clearTimeout(idle.current);
    idle.current = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function send(event?: FormEvent) {
    event?.preventDefault();
    const current = typedOf(editor);
    const size = textBytes(current.text) + (current.rich ? richBytes(current.rich) : 0);
    if ((current.text === '' && !attachments.sendable) || size > TEXT_MAX_BYTES) return;
    onSend(current.text, current.rich);
    editor.commands.clearContent(false);
    setTyped(nothing);
    unsaved.current = '';
    flushDraft();
    stopTyping();
  }
  useEffect(() => {
    keys.set({
      enter: () => {
        send();
        return true;
      },
    });
  });

  return (
    <form className="composer" onSubmit={send}>
      {replying ? (
        <div className="composer-reply">
          <p id={replyId} className="msg-quote">
            {t.conversation.replyingTo(replying.author)}: {replying.text}
          </p>
          <button
            type="button"
            className="icon-button small"
            aria-label={t.conversation.cancelReply}
            onClick={onCancelReply}
          >
            <Icon name="close" />
          </button>
        </div>
      ) : null}
      {attachments.items.length > 0 ? (
        <ul id={chipsId} className="composer-files" aria-label={t.conversation.files.toSend}>
          {attachments.items.map((a) => (
            <li key={a.id} className={a.error ? 'file-chip error' : 'file-chip'}>
              <Icon name="file" />
              <span className="file-chip-name" title={a.file.name}>
                {a.file.name}
              </span>
              <span className="file-chip-size">{formatSize(a.file.size)}</span>
              {a.progress !== null ? (
                <progress
                  className="file-chip-progress"
                  max={100}
                  value={Math.round(a.progress * 100)}
                  aria-label={t.conversation.files.progress(a.file.name)}
                >
                  {t.conversation.files.uploading(Math.round(a.progress * 100))}
                </progress>
              ) : null}
              {a.error ? (
                <span className="file-chip-error" role="alert">
                  {a.error}
                </span>
              ) : null}
              <button
                type="button"
                className="icon-button small"
                aria-label={t.conversation.files.remove(a.file.name)}
                disabled={a.progress !== null}
                onClick={() => onRemoveAttachment(a.id)}
              >
                <Icon name="close" />
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <FormatToolbar editor={editor} />
      <input
        ref={picker}
        type="file"
        multiple
        hidden
        tabIndex={-1}
        data-testid="file-picker"
        onChange={(event) => {
          onAttach([...(event.target.files ?? [])]);
          event.target.value = '';
        }}
      />
      <button
        type="button"
        className="icon-button composer-attach"
        title={t.conversation.files.attach}
        aria-label={t.conversation.files.attach}
        onClick={() => picker.current?.click()}
      >
        <Icon name="attach" />
      </button>
      <div className="composer-editor">
        <EditorContent editor={editor} />
        <ShortcodeList state={shortcodes.state} />
      </div>
      {showSize ? (
        <p id={sizeId} className={tooLong ? 'composer-size error' : 'composer-size'}>
          {tooLong
            ? t.conversation.tooLong(formatBytes(TEXT_MAX_BYTES))
            : t.conversation.size(formatBytes(bytes), formatBytes(TEXT_MAX_BYTES))}
        </p>
      ) : null}
      <Button
        variant="primary"
        type="submit"
        className="composer-send"
        busy={attachments.busy}
        disabled={(text.trim() === '' && !attachments.sendable) || tooLong}
      >
        <Icon name="send" />
        <span className="composer-send-text">{t.conversation.send}</span>
      </Button>
    </form>
  );
}
