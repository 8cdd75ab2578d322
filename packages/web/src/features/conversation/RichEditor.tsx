/**
 * The rich text editor (Tiptap, on ProseMirror) and its formatting toolbar, shared by the
 * composer and the edit form. Formatting comes from the toolbar, Tiptap's shortcuts (Ctrl+B,
 * Ctrl+I, Ctrl+U, Ctrl+Shift+S, Ctrl+E, Ctrl+Alt+1…3, Ctrl+Shift+7/8, Ctrl+Alt+C, Ctrl+. and
 * Ctrl+,) and markdown-style typing (`**bold**`, `# `, `- `, `1. `, backticks). What the editor
 * holds leaves it only as a `RichDocument` (./editorSchema.ts).
 */
import { RICH_COLOURS, safeHref, type RichColour } from '@securechat/sdk';
import type { Editor, Extensions, JSONContent } from '@tiptap/core';
import { EditorContent, useEditor, useEditorState } from '@tiptap/react';
import {
  Fragment,
  useEffect,
  useId,
  useRef,
  useState,
  type FormEvent,
  type KeyboardEvent,
  type ReactNode,
} from 'react';
import { t } from '../../strings';
import { Icon } from '../../ui/Icon';
import { EmojiPanel } from './emoji';

const r = t.conversation.rich;

/**
 * A Tiptap editor with our extensions. `attributes` go on the editable element (its
 * accessible name, description, invalid state) and follow changes.
 */
export function useRichEditor({
  extensions,
  content,
  attributes,
  onChange,
  onBlur,
  onPasteFiles,
  autofocus = false,
}: {
  extensions: Extensions;
  content: JSONContent;
  attributes: Record<string, string>;
  onChange: (editor: Editor) => void;
  onBlur?: () => void;
  /** Files pasted into the editor go here instead of into the text. */
  onPasteFiles?: (files: File[]) => void;
  autofocus?: boolean;
}): Editor {
  const changeRef = useRef(onChange);
  const blurRef = useRef(onBlur);
  const pasteRef = useRef(onPasteFiles);
  useEffect(() => {
    changeRef.current = onChange;
    blurRef.current = onBlur;
    pasteRef.current = onPasteFiles;
  });
  const editor = useEditor({
    extensions,
    content,
    autofocus: autofocus ? 'end' : false,
    // The page's CSP allows no inline <style>: the editor's few rules are in our stylesheet.
    injectCSS: false,
    immediatelyRender: true,
    shouldRerenderOnTransaction: false,
    editorProps: {
      attributes,
      handlePaste: (_view, event) => {
        const files = [...(event.clipboardData?.files ?? [])];
        if (files.length === 0 || !pasteRef.current) return false;
        pasteRef.current(files);
        return true;
      },
    },
    onUpdate: ({ editor: e }) => changeRef.current(e),
    onBlur: () => blurRef.current?.(),
  });
  const attributesKey = JSON.stringify(attributes);
  useEffect(() => {
    editor.setOptions({
      editorProps: {
        ...editor.options.editorProps,
        attributes: JSON.parse(attributesKey) as Record<string, string>,
      },
    });
  }, [editor, attributesKey]);
  return editor;
}

export { EditorContent };

interface Active {
  bold: boolean;
  italic: boolean;
  underline: boolean;
  strike: boolean;
  h1: boolean;
  h2: boolean;
  h3: boolean;
  superscript: boolean;
  subscript: boolean;
  bulletList: boolean;
  orderedList: boolean;
  code: boolean;
  codeBlock: boolean;
  blockquote: boolean;
  link: boolean;
  colour: RichColour | null;
  highlight: RichColour | null;
  href: string;
}

function activeOf(editor: Editor): Active {
  const colourOf = (mark: 'colour' | 'highlight'): RichColour | null => {
    const value: unknown = editor.getAttributes(mark).colour;
    return typeof value === 'string' && (RICH_COLOURS as readonly string[]).includes(value)
      ? (value as RichColour)
      : null;
  };
  const href: unknown = editor.getAttributes('link').href;
  return {
    bold: editor.isActive('bold'),
    italic: editor.isActive('italic'),
    underline: editor.isActive('underline'),
    strike: editor.isActive('strike'),
    h1: editor.isActive('heading', { level: 1 }),
    h2: editor.isActive('heading', { level: 2 }),
    h3: editor.isActive('heading', { level: 3 }),
    superscript: editor.isActive('superscript'),
    subscript: editor.isActive('subscript'),
    bulletList: editor.isActive('bulletList'),
    orderedList: editor.isActive('orderedList'),
    code: editor.isActive('code'),
    codeBlock: editor.isActive('codeBlock'),
    blockquote: editor.isActive('blockquote'),
    link: editor.isActive('link'),
    colour: colourOf('colour'),
    highlight: colourOf('highlight'),
    href: typeof href === 'string' ? href : '',
  };
}

/**
 * A button's face, drawn by CSS from `data-glyph`: "H1" or "x²" are pictures here, and the
 * button's name (its label) says what it does.
 */
const glyph = (text: string, kind = '') => (
  <span className={`toolbar-glyph ${kind}`} data-glyph={text} aria-hidden="true" />
);

type Popover = 'colour' | 'highlight' | 'link' | 'emoji' | null;

/**
 * The formatting toolbar: one tab stop, arrow keys (Home, End) move between its buttons. Its
 * colour, link and emoji buttons open a small panel below it; Escape or a click elsewhere
 * closes it.
 */
export function FormatToolbar({
  editor,
  disabled = false,
}: {
  editor: Editor;
  disabled?: boolean;
}) {
  const active = useEditorState({ editor, selector: ({ editor: e }) => activeOf(e) });
  const [popover, setPopover] = useState<Popover>(null);
  const bar = useRef<HTMLDivElement>(null);
  const popoverId = useId();
  const run = (command: (chain: ReturnType<Editor['chain']>) => ReturnType<Editor['chain']>) => {
    command(editor.chain().focus()).run();
  };

  // One tab stop: the last focused button keeps it.
  const [current, setCurrent] = useState(0);
  function buttons(): HTMLElement[] {
    return [
      ...(bar.current?.querySelectorAll<HTMLElement>(':scope > .toolbar-buttons > button') ?? []),
    ];
  }
  useEffect(() => {
    buttons().forEach((button, index) => {
      button.tabIndex = index === current ? 0 : -1;
    });
  });
  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const list = buttons();
    const index = list.indexOf(document.activeElement as HTMLElement);
    if (index < 0) return;
    let next = index;
    if (event.key === 'ArrowRight') next = (index + 1) % list.length;
    else if (event.key === 'ArrowLeft') next = (index - 1 + list.length) % list.length;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = list.length - 1;
    else return;
    event.preventDefault();
    setCurrent(next);
    list[next]?.focus();
  }

  const toggle = (label: string, pressed: boolean, glyph: ReactNode, action: () => void) => (
    <button
      type="button"
      className="toolbar-button"
      aria-label={label}
      title={label}
      aria-pressed={pressed}
      disabled={disabled}
      // Keep the editor's selection: the command then applies to it.
      onMouseDown={(event) => event.preventDefault()}
      onFocus={() => setCurrent(buttons().findIndex((b) => b === document.activeElement))}
      onClick={action}
    >
      {glyph}
    </button>
  );
  const opener = (which: Exclude<Popover, null>, label: string, glyph: ReactNode, on?: boolean) => (
    <button
      type="button"
      className="toolbar-button"
      aria-label={label}
      title={label}
      aria-haspopup="true"
      aria-expanded={popover === which}
      aria-controls={popover === which ? popoverId : undefined}
      aria-pressed={on}
      disabled={disabled}
      onMouseDown={(event) => event.preventDefault()}
      onFocus={() => setCurrent(buttons().findIndex((b) => b === document.activeElement))}
      onClick={() => setPopover((open) => (open === which ? null : which))}
    >
      {glyph}
    </button>
  );

  const close = () => {
    setPopover(null);
    editor.commands.focus();
  };
  // A click elsewhere closes the open panel.
  useEffect(() => {
    if (!popover) return;
    const away = (event: MouseEvent) => {
      if (!bar.current?.contains(event.target as Node)) setPopover(null);
    };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [popover]);

  return (
    <div
      ref={bar}
      className="composer-toolbar"
      onKeyDown={(event) => {
        if (event.key === 'Escape' && popover) {
          event.preventDefault();
          close();
        }
      }}
    >
      <div className="toolbar-buttons" role="toolbar" aria-label={r.toolbar} onKeyDown={onKeyDown}>
        {toggle(r.bold, active.bold, glyph('B', 'bold'), () => run((c) => c.toggleBold()))}
        {toggle(r.italic, active.italic, glyph('I', 'italic'), () => run((c) => c.toggleItalic()))}
        {toggle(r.underline, active.underline, glyph('U', 'underline'), () =>
          run((c) => c.toggleUnderline()),
        )}
        {toggle(r.strike, active.strike, glyph('S', 'strike'), () => run((c) => c.toggleStrike()))}
        {([1, 2, 3] as const).map((level) => (
          <Fragment key={level}>
            {toggle(r.heading(level), active[`h${level}`], glyph(`H${level}`), () =>
              run((c) => c.toggleHeading({ level })),
            )}
          </Fragment>
        ))}
        {toggle(r.superscript, active.superscript, glyph('x²'), () =>
          run((c) => c.toggleSuperscript()),
        )}
        {toggle(r.subscript, active.subscript, glyph('x₂'), () => run((c) => c.toggleSubscript()))}
        {toggle(r.bulletList, active.bulletList, glyph('•≡'), () =>
          run((c) => c.toggleBulletList()),
        )}
        {toggle(r.orderedList, active.orderedList, glyph('1≡'), () =>
          run((c) => c.toggleOrderedList()),
        )}
        {toggle(r.code, active.code, glyph('</>', 'mono'), () => run((c) => c.toggleCode()))}
        {toggle(r.codeBlock, active.codeBlock, glyph('{ }', 'mono'), () =>
          run((c) => c.toggleCodeBlock()),
        )}
        {toggle(r.quote, active.blockquote, glyph('❝'), () => run((c) => c.toggleBlockquote()))}
        {opener('link', r.link, <Icon name="link" />, active.link)}
        {opener(
          'colour',
          r.colour,
          glyph('A', `colour rich-colour-${active.colour ?? 'none'}`),
          active.colour !== null,
        )}
        {opener(
          'highlight',
          r.highlight,
          glyph('A', `colour rich-highlight-${active.highlight ?? 'yellow'}`),
          active.highlight !== null,
        )}
        {opener('emoji', t.conversation.emoji.open, glyph('☺', 'emoji'))}
      </div>
      {popover === 'emoji' ? (
        <div className="toolbar-popover emoji-popover">
          <EmojiPanel
            id={popoverId}
            onPick={(emoji) => {
              run((c) => c.insertContent(emoji));
              setPopover(null);
            }}
          />
        </div>
      ) : null}
      {popover === 'colour' || popover === 'highlight' ? (
        <Palette
          id={popoverId}
          kind={popover}
          current={popover === 'colour' ? active.colour : active.highlight}
          onPick={(colour) => {
            if (popover === 'colour') run((c) => c.setColour(colour));
            else run((c) => c.setHighlight(colour));
            setPopover(null);
          }}
        />
      ) : null}
      {popover === 'link' ? (
        <LinkForm
          id={popoverId}
          initial={active.href}
          onApply={(href) => {
            run((c) => c.extendMarkRange('link').setLink({ href }));
            setPopover(null);
          }}
          onRemove={() => {
            run((c) => c.extendMarkRange('link').unsetLink());
            setPopover(null);
          }}
          onCancel={close}
        />
      ) : null}
    </div>
  );
}

function Palette({
  id,
  kind,
  current,
  onPick,
}: {
  id: string;
  kind: 'colour' | 'highlight';
  current: RichColour | null;
  onPick: (colour: RichColour | null) => void;
}) {
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <div
      id={id}
      className="toolbar-popover palette"
      role="group"
      aria-label={kind === 'colour' ? r.colour : r.highlight}
    >
      <button
        ref={first}
        type="button"
        className="palette-swatch none"
        aria-pressed={current === null}
        onClick={() => onPick(null)}
      >
        {r.noColour}
      </button>
      {RICH_COLOURS.map((colour) => (
        <button
          key={colour}
          type="button"
          className="palette-swatch"
          aria-pressed={current === colour}
          onClick={() => onPick(colour)}
        >
          <span className={`palette-chip rich-${kind}-${colour}`} aria-hidden="true" />
          {r.colours[colour]}
        </button>
      ))}
    </div>
  );
}

function LinkForm({
  id,
  initial,
  onApply,
  onRemove,
  onCancel,
}: {
  id: string;
  initial: string;
  onApply: (href: string) => void;
  onRemove: () => void;
  onCancel: () => void;
}) {
  const [value, setValue] = useState(initial);
  const [invalid, setInvalid] = useState(false);
  const inputId = useId();
  const errorId = useId();
  // Not a <form>: it sits inside the composer's form.
  function apply(event?: FormEvent) {
    event?.preventDefault();
    const trimmed = value.trim();
    const href = safeHref(trimmed) ?? safeHref(`https://${trimmed}`);
    if (!href || trimmed === '') {
      setInvalid(true);
      return;
    }
    onApply(href);
  }
  return (
    <div id={id} className="toolbar-popover link-form" role="group" aria-label={r.link}>
      <label htmlFor={inputId}>{r.linkAddress}</label>
      <input
        id={inputId}
        type="url"
        autoFocus
        value={value}
        placeholder="https://"
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? errorId : undefined}
        onChange={(event) => {
          setValue(event.target.value);
          setInvalid(false);
        }}
        onKeyDown={(event) => {
          if (event.key === 'Enter') apply(event);
          else if (event.key === 'Escape') {
            event.preventDefault();
            event.stopPropagation();
            onCancel();
          }
        }}
      />
      <button type="button" className="button primary small" onClick={() => apply()}>
        {r.linkApply}
      </button>
      {initial !== '' ? (
        <button type="button" className="button ghost small" onClick={onRemove}>
          {r.linkRemove}
        </button>
      ) : null}
      {invalid ? (
        <p id={errorId} className="field-error" role="alert">
          {r.linkInvalid}
        </p>
      ) : null}
    </div>
  );
}
