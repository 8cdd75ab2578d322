/**
 * The rich text editor's schema (Tiptap extensions) and the two conversions between what the
 * editor holds and the document that travels (@securechat/sdk `RichDocument`). The editor's
 * JSON never leaves this file: what is sent is built here, field by field, and then goes
 * through the sdk's normalizer like anything a reader receives.
 */
import {
  RICH_COLOURS,
  normalizeRich,
  richToText,
  safeHref,
  type RichBlock,
  type RichColour,
  type RichDocument,
  type RichMarks,
  type RichText,
} from '@securechat/sdk';
import { Extension, Mark, mergeAttributes, type JSONContent } from '@tiptap/core';
import { Placeholder } from '@tiptap/extensions';
import StarterKit from '@tiptap/starter-kit';
import Subscript from '@tiptap/extension-subscript';
import Superscript from '@tiptap/extension-superscript';

const COLOURS: ReadonlySet<string> = new Set(RICH_COLOURS);
const asColour = (value: unknown): RichColour | null =>
  typeof value === 'string' && COLOURS.has(value) ? (value as RichColour) : null;

declare module '@tiptap/core' {
  interface Commands<ReturnType> {
    paletteMark: {
      /** Colour the selection's text (null: no colour). */
      setColour: (colour: RichColour | null) => ReturnType;
      /** Highlight the selection (null: no highlight). */
      setHighlight: (colour: RichColour | null) => ReturnType;
    };
  }
}

/**
 * A mark whose only attribute is a palette colour, shown through a class (the page's CSP
 * allows no inline styles, and a document never names a CSS value).
 */
function paletteMark(name: 'colour' | 'highlight', tag: 'span' | 'mark') {
  return Mark.create({
    name,
    addAttributes() {
      return {
        colour: {
          default: null,
          parseHTML: (element) => asColour(element.getAttribute('data-colour')),
          renderHTML: (attributes: { colour?: unknown }) => {
            const colour = asColour(attributes.colour);
            return colour ? { 'data-colour': colour, class: `rich-${name}-${colour}` } : {};
          },
        },
      };
    },
    parseHTML() {
      return [{ tag: `${tag}[data-colour]` }];
    },
    renderHTML({ HTMLAttributes }) {
      return [tag, mergeAttributes(HTMLAttributes), 0];
    },
  });
}

const Colour = paletteMark('colour', 'span').extend({
  addCommands() {
    return {
      setColour:
        (colour) =>
        ({ commands }) =>
          colour ? commands.setMark('colour', { colour }) : commands.unsetMark('colour'),
    };
  },
});

const Highlight = paletteMark('highlight', 'mark').extend({
  addCommands() {
    return {
      setHighlight:
        (colour) =>
        ({ commands }) =>
          colour ? commands.setMark('highlight', { colour }) : commands.unsetMark('highlight'),
    };
  },
});

/**
 * What Enter and Escape do in one editor (send, save, cancel): its component sets them after
 * each render, so they see its current state. Each answers whether it handled the key.
 */
export class EditorKeys {
  enter: () => boolean = () => false;
  escape: () => boolean = () => false;
  set(handlers: { enter?: () => boolean; escape?: () => boolean }): void {
    if (handlers.enter) this.enter = handlers.enter;
    if (handlers.escape) this.escape = handlers.escape;
  }
}

/**
 * Enter sends and Shift+Enter starts a new line: a new paragraph, a new list item (or leaves
 * the list from an empty one), a line break inside a code block.
 */
function sendKeys(keys: EditorKeys) {
  return Extension.create({
    name: 'sendKeys',
    addKeyboardShortcuts() {
      return {
        Enter: ({ editor }) => (editor.view.composing ? false : keys.enter()),
        Escape: () => keys.escape(),
        'Shift-Enter': ({ editor }) =>
          editor.commands.first(({ commands }) => [
            () => commands.newlineInCode(),
            () => commands.splitListItem('listItem'),
            () => commands.liftEmptyBlock(),
            () => commands.splitBlock(),
          ]),
      };
    },
  });
}

/** The editor's extensions: what can be written, with Tiptap's shortcuts and input rules. */
export function editorExtensions(options: { placeholder: string; keys: EditorKeys }) {
  return [
    StarterKit.configure({
      heading: { levels: [1, 2, 3] },
      horizontalRule: false,
      trailingNode: false,
      dropcursor: false,
      link: {
        openOnClick: false,
        autolink: true,
        linkOnPaste: true,
        defaultProtocol: 'https',
        protocols: ['mailto'],
        isAllowedUri: (url) => safeHref(url) !== null,
        HTMLAttributes: { rel: 'noopener noreferrer', target: '_blank' },
      },
    }),
    Superscript,
    Subscript,
    Colour,
    Highlight,
    Placeholder.configure({ placeholder: options.placeholder }),
    sendKeys(options.keys),
  ];
}

// ---- editor JSON → document ------------------------------------------------------------

function marksOf(marks: JSONContent['marks']): RichMarks | undefined {
  const out: { -readonly [K in keyof RichMarks]: RichMarks[K] } = {};
  for (const mark of marks ?? []) {
    const attrs = mark.attrs ?? {};
    switch (mark.type) {
      case 'bold':
        out.bold = true;
        break;
      case 'italic':
        out.italic = true;
        break;
      case 'underline':
        out.underline = true;
        break;
      case 'strike':
        out.strike = true;
        break;
      case 'superscript':
        out.script = 'sup';
        break;
      case 'subscript':
        out.script = 'sub';
        break;
      case 'code':
        out.code = true;
        break;
      case 'link': {
        const href = safeHref(attrs.href);
        if (href) out.link = href;
        break;
      }
      case 'colour':
      case 'highlight': {
        const colour = asColour(attrs.colour);
        if (colour) out[mark.type] = colour;
        break;
      }
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function inlineOf(nodes: JSONContent[] | undefined): RichText[] {
  const runs: RichText[] = [];
  for (const node of nodes ?? []) {
    const last = runs[runs.length - 1];
    if (node.type === 'hardBreak') {
      // A line break belongs to the run before it, so a formatted run keeps its lines.
      if (last) runs[runs.length - 1] = { ...last, text: `${last.text}\n` };
      else runs.push({ text: '\n' });
    } else if (node.type === 'text' && node.text) {
      const marks = marksOf(node.marks);
      runs.push(marks ? { text: node.text, marks } : { text: node.text });
    }
  }
  return runs;
}

function blocksOf(nodes: JSONContent[] | undefined): RichBlock[] {
  const blocks: RichBlock[] = [];
  for (const node of nodes ?? []) {
    switch (node.type ?? '') {
      case 'paragraph':
        blocks.push({ type: 'paragraph', content: inlineOf(node.content) });
        break;
      case 'heading': {
        const level: unknown = node.attrs?.level;
        blocks.push({
          type: 'heading',
          level: level === 1 || level === 2 ? level : 3,
          content: inlineOf(node.content),
        });
        break;
      }
      case 'bulletList':
      case 'orderedList':
        blocks.push({
          type: 'list',
          ordered: node.type === 'orderedList',
          items: (node.content ?? []).map((item) => blocksOf(item.content)),
        });
        break;
      case 'codeBlock':
        blocks.push({
          type: 'code',
          text: (node.content ?? []).map((child) => child.text ?? '').join(''),
        });
        break;
      case 'blockquote':
        blocks.push({ type: 'quote', content: blocksOf(node.content) });
        break;
      default:
        // Nothing else is in the schema; anything that were would be left out.
        break;
    }
  }
  return blocks;
}

/** The document of what the editor holds, with empty lines at its ends left out. */
export function documentOf(json: JSONContent): RichDocument | null {
  const blocks = blocksOf(json.content);
  const empty = (block: RichBlock | undefined) =>
    block?.type === 'paragraph' && block.content.every((run) => run.text.trim() === '');
  while (empty(blocks[0])) blocks.shift();
  while (empty(blocks[blocks.length - 1])) blocks.pop();
  return normalizeRich({ blocks });
}

/** The plain text of what the editor holds (the message's `text`). */
export function plainTextOf(doc: RichDocument | null): string {
  return doc ? richToText(doc).trim() : '';
}

// ---- document → editor JSON ------------------------------------------------------------

function markJson(marks: RichMarks | undefined): JSONContent['marks'] {
  if (!marks) return undefined;
  const out: NonNullable<JSONContent['marks']> = [];
  if (marks.bold) out.push({ type: 'bold' });
  if (marks.italic) out.push({ type: 'italic' });
  if (marks.underline) out.push({ type: 'underline' });
  if (marks.strike) out.push({ type: 'strike' });
  if (marks.script) out.push({ type: marks.script === 'sup' ? 'superscript' : 'subscript' });
  if (marks.code) out.push({ type: 'code' });
  if (marks.link) out.push({ type: 'link', attrs: { href: marks.link } });
  if (marks.colour) out.push({ type: 'colour', attrs: { colour: marks.colour } });
  if (marks.highlight) out.push({ type: 'highlight', attrs: { colour: marks.highlight } });
  return out.length > 0 ? out : undefined;
}

function inlineJson(runs: readonly RichText[]): JSONContent[] {
  const nodes: JSONContent[] = [];
  for (const run of runs) {
    const marks = markJson(run.marks);
    run.text.split('\n').forEach((line, index) => {
      if (index > 0) nodes.push({ type: 'hardBreak' });
      if (line !== '')
        nodes.push(marks ? { type: 'text', text: line, marks } : { type: 'text', text: line });
    });
  }
  return nodes;
}

function blocksJson(blocks: readonly RichBlock[]): JSONContent[] {
  return blocks.map((block): JSONContent => {
    switch (block.type) {
      case 'paragraph':
        return { type: 'paragraph', content: inlineJson(block.content) };
      case 'heading':
        return {
          type: 'heading',
          attrs: { level: block.level },
          content: inlineJson(block.content),
        };
      case 'list':
        return {
          type: block.ordered ? 'orderedList' : 'bulletList',
          content: block.items.map((item) => ({
            type: 'listItem',
            content: item.length > 0 ? blocksJson(item) : [{ type: 'paragraph' }],
          })),
        };
      case 'code':
        return {
          type: 'codeBlock',
          content: block.text === '' ? [] : [{ type: 'text', text: block.text }],
        };
      case 'quote':
        return { type: 'blockquote', content: blocksJson(block.content) };
    }
  });
}

/** Editor JSON for a document, or for plain text (one paragraph per line). */
export function editorJsonOf(doc: RichDocument | null, text = ''): JSONContent {
  if (doc) return { type: 'doc', content: blocksJson(doc.blocks) };
  return {
    type: 'doc',
    content: text
      .split('\n')
      .map((line) =>
        line === ''
          ? { type: 'paragraph' }
          : { type: 'paragraph', content: [{ type: 'text', text: line }] },
      ),
  };
}

// ---- drafts ------------------------------------------------------------------------------

/** Marks a draft kept as a document; any other draft is plain text from before rich text. */
const DRAFT_KIND = 'securechat-rich-draft';

/** The draft string for what the editor holds ('' when there is nothing). */
export function draftOf(doc: RichDocument | null): string {
  return doc ? JSON.stringify({ kind: DRAFT_KIND, doc }) : '';
}

/** Editor JSON for a kept draft: a document, or plain text as it was typed. */
export function draftJson(draft: string): JSONContent {
  if (draft.startsWith('{')) {
    try {
      const value = JSON.parse(draft) as unknown;
      if (
        typeof value === 'object' &&
        value !== null &&
        'kind' in value &&
        value.kind === DRAFT_KIND
      )
        return editorJsonOf(normalizeRich('doc' in value ? value.doc : null));
    } catch {
      // Plain text that happens to start with a brace.
    }
  }
  return editorJsonOf(null, draft);
}
