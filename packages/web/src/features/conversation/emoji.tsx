/**
 * Emoji in the composer: a picker (frimousse) with search and the recently used ones, opened
 * from the toolbar; and `:shortcode:` completion while typing (Tiptap's suggestion utility),
 * a whole `:shortcode:` typed out becoming its emoji.
 * Both read Emojibase's data, which the build copies to our own origin (/emoji/, see
 * vite.config.ts): nothing is fetched from anywhere else.
 */
import { Extension, InputRule } from '@tiptap/core';
import Suggestion, { type SuggestionKeyDownProps, type SuggestionProps } from '@tiptap/suggestion';
import { EmojiPicker } from 'frimousse';
import { useId, useMemo, useState, useSyncExternalStore } from 'react';
import { t } from '../../strings';

const e = t.conversation.emoji;

/** Where the build serves Emojibase's data (`${EMOJI_BASE}/en/data.json`). */
const EMOJI_BASE = '/emoji';
/** How many recently used emoji are remembered on this device. */
const RECENT_MAX = 16;
const RECENT_KEY = 'securechat.emoji.recent';
/** How many completions a shortcode offers. */
const SUGGESTIONS_MAX = 8;

function readRecent(): string[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
    return Array.isArray(value)
      ? value
          .filter((x): x is string => typeof x === 'string' && x.length <= 32)
          .slice(0, RECENT_MAX)
      : [];
  } catch {
    return [];
  }
}

function rememberEmoji(emoji: string): void {
  const next = [emoji, ...readRecent().filter((x) => x !== emoji)].slice(0, RECENT_MAX);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(next));
  } catch {
    // Storage full or refused: recents are a convenience.
  }
}

// ---- shortcodes --------------------------------------------------------------------------

interface Shortcode {
  code: string;
  emoji: string;
}

let shortcodes: Promise<Shortcode[]> | null = null;
/** Each shortcode's emoji, once loaded (a typed `:code:` becomes its emoji). */
const byCode = new Map<string, string>();

/** Every shortcode (GitHub's names, as Emojibase lists them) with its emoji, loaded once. */
function loadShortcodes(): Promise<Shortcode[]> {
  shortcodes ??= Promise.all([
    fetch(`${EMOJI_BASE}/en/data.json`).then((r) => r.json() as Promise<unknown>),
    fetch(`${EMOJI_BASE}/en/shortcodes/github.json`).then((r) => r.json() as Promise<unknown>),
  ])
    .then(([data, codes]) => {
      const byHex = new Map<string, string>();
      if (Array.isArray(data))
        for (const entry of data as { hexcode?: unknown; emoji?: unknown }[])
          if (typeof entry.hexcode === 'string' && typeof entry.emoji === 'string')
            byHex.set(entry.hexcode, entry.emoji);
      const list: Shortcode[] = [];
      for (const [hex, names] of Object.entries((codes ?? {}) as Record<string, unknown>)) {
        const emoji = byHex.get(hex);
        if (!emoji) continue;
        for (const code of Array.isArray(names) ? names : [names])
          if (typeof code === 'string') list.push({ code, emoji });
      }
      for (const { code, emoji } of list) if (!byCode.has(code)) byCode.set(code, emoji);
      return list.sort((a, b) => a.code.length - b.code.length || (a.code < b.code ? -1 : 1));
    })
    .catch(() => {
      shortcodes = null;
      return [];
    });
  return shortcodes;
}

async function completions(query: string): Promise<Shortcode[]> {
  const q = query.toLowerCase();
  const loading = loadShortcodes();
  if (q.length < 2 || !/^[a-z0-9_+-]+$/.test(q)) return [];
  const all = await loading;
  const starts = all.filter((s) => s.code.startsWith(q));
  const contains = all.filter((s) => !s.code.startsWith(q) && s.code.includes(q));
  return [...starts, ...contains].slice(0, SUGGESTIONS_MAX);
}

/** The completion list as the composer shows it; null while none is offered. */
interface ShortcodeState {
  items: Shortcode[];
  selected: number;
  pick: (item: Shortcode) => void;
}

/** Carries the suggestion plugin's state to React, and the keys back. */
class ShortcodeBridge {
  state: ShortcodeState | null = null;
  private readonly listeners = new Set<() => void>();
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  snapshot = (): ShortcodeState | null => this.state;
  private set(state: ShortcodeState | null): void {
    this.state = state;
    for (const listener of this.listeners) listener();
  }
  show(props: SuggestionProps<Shortcode>): void {
    const items = props.items;
    this.set(
      items.length === 0
        ? null
        : {
            items,
            selected: 0,
            pick: (item) => {
              rememberEmoji(item.emoji);
              props.command(item);
            },
          },
    );
  }
  hide(): void {
    this.set(null);
  }
  key({ event }: SuggestionKeyDownProps): boolean {
    const state = this.state;
    if (!state) return false;
    const count = state.items.length;
    switch (event.key) {
      case 'ArrowDown':
        this.set({ ...state, selected: (state.selected + 1) % count });
        return true;
      case 'ArrowUp':
        this.set({ ...state, selected: (state.selected - 1 + count) % count });
        return true;
      case 'Enter':
      case 'Tab': {
        const item = state.items[state.selected];
        if (item) state.pick(item);
        return true;
      }
      case 'Escape':
        this.hide();
        return true;
      default:
        return false;
    }
  }
}

/** The composer's shortcode completion: a bridge for its extension, and the list's state. */
export function useShortcodes(): { bridge: ShortcodeBridge; state: ShortcodeState | null } {
  const bridge = useMemo(() => new ShortcodeBridge(), []);
  const state = useSyncExternalStore(bridge.subscribe, bridge.snapshot);
  return { bridge, state };
}

/** The editor extension offering completions after a `:` and two letters. */
export function emojiExtensions(bridge: ShortcodeBridge) {
  return [
    Extension.create({
      name: 'emojiShortcodes',
      // Before the composer's Enter-sends: a completion on offer takes Enter first.
      priority: 1000,
      addInputRules() {
        return [
          // A whole `:code:` typed out becomes its emoji.
          new InputRule({
            find: /(?:^|\s)(:([a-z0-9_+-]+):)$/,
            handler: ({ match, range, chain }) => {
              const emoji = byCode.get(match[2] ?? '');
              const typed = match[1];
              if (!emoji || !typed) return null;
              const from = range.from + match[0].indexOf(typed);
              chain().insertContentAt({ from, to: range.to }, emoji).run();
            },
          }),
        ];
      },
      addProseMirrorPlugins() {
        return [
          Suggestion<Shortcode, Shortcode>({
            editor: this.editor,
            char: ':',
            items: ({ query }) => completions(query),
            command: ({ editor, range, props }) => {
              editor.chain().focus().insertContentAt(range, props.emoji).run();
            },
            render: () => ({
              onStart: (props) => bridge.show(props),
              onUpdate: (props) => bridge.show(props),
              onExit: () => bridge.hide(),
              onKeyDown: (props) => bridge.key(props),
            }),
          }),
        ];
      },
    }),
  ];
}

/** The completions on offer, above the editor. */
export function ShortcodeList({ state }: { state: ShortcodeState | null }) {
  if (!state) return null;
  return (
    <ul className="shortcode-list" role="listbox" aria-label={e.suggestions}>
      {state.items.map((item, index) => (
        <li
          key={item.code}
          role="option"
          aria-selected={index === state.selected}
          className={index === state.selected ? 'selected' : undefined}
          // The editor keeps focus; a click picks.
          onMouseDown={(event) => {
            event.preventDefault();
            state.pick(item);
          }}
        >
          <span className="shortcode-emoji" aria-hidden="true">
            {item.emoji}
          </span>
          <span>:{item.code}:</span>
        </li>
      ))}
    </ul>
  );
}

// ---- the picker --------------------------------------------------------------------------

/** frimousse counts grid rows and columns from 0; ARIA counts them from 1. */
function fromOne(props: { 'aria-rowindex'?: unknown; 'aria-colindex'?: unknown }) {
  const shift = (value: unknown) => (typeof value === 'number' ? value + 1 : undefined);
  return {
    'aria-rowindex': shift(props['aria-rowindex']),
    'aria-colindex': shift(props['aria-colindex']),
  };
}

/**
 * An emoji picker: search, then arrow keys and Enter (or a click); the recently used ones
 * above. `onPick` gets the emoji.
 */
export function EmojiPanel({
  onPick,
  id,
  bare = false,
}: {
  onPick: (emoji: string) => void;
  id?: string;
  /** Inside a dialog of its own: not a dialog itself. */
  bare?: boolean;
}) {
  const [recent] = useState(readRecent);
  const recentId = useId();
  const pick = (emoji: string) => {
    rememberEmoji(emoji);
    onPick(emoji);
  };
  return (
    <div
      id={id}
      className="emoji-panel"
      role={bare ? undefined : 'dialog'}
      aria-label={bare ? undefined : e.picker}
    >
      {recent.length > 0 ? (
        <div className="emoji-recent">
          <p id={recentId} className="emoji-recent-title">
            {e.recent}
          </p>
          <ul aria-labelledby={recentId}>
            {recent.map((emoji) => (
              <li key={emoji}>
                <button type="button" className="emoji-cell" onClick={() => pick(emoji)}>
                  {emoji}
                </button>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <EmojiPicker.Root
        className="emoji-picker"
        emojibaseUrl={EMOJI_BASE}
        columns={8}
        onEmojiSelect={({ emoji }) => pick(emoji)}
      >
        <EmojiPicker.Search
          className="emoji-search"
          aria-label={e.search}
          placeholder={e.search}
          autoFocus
        />
        <EmojiPicker.Viewport className="emoji-viewport">
          <EmojiPicker.Loading className="emoji-status">{e.loading}</EmojiPicker.Loading>
          <EmojiPicker.Empty className="emoji-status">{e.none}</EmojiPicker.Empty>
          <EmojiPicker.List
            className="emoji-list"
            components={{
              CategoryHeader: ({ category, ...props }) => (
                <div {...props} {...fromOne(props)} className="emoji-category">
                  {category.label}
                </div>
              ),
              Row: ({ children, ...props }) => (
                <div {...props} {...fromOne(props)} className="emoji-row">
                  {children}
                </div>
              ),
              Emoji: ({ emoji, ...props }) => (
                <button
                  {...props}
                  {...fromOne(props)}
                  type="button"
                  className="emoji-cell"
                  aria-label={emoji.label}
                  data-active={emoji.isActive || undefined}
                >
                  {emoji.emoji}
                </button>
              ),
            }}
          />
        </EmojiPicker.Viewport>
      </EmojiPicker.Root>
    </div>
  );
}
