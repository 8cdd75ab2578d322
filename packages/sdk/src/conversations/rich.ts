/**
 * Rich text as it travels inside an encrypted message: our own small document, not HTML and
 * not an editor's internal JSON. A message's `text` stays its plain rendition (search,
 * notifications, transcripts, older clients); `rich`, when present, says how to show it.
 *
 * Everything read from a payload goes through `normalizeRich`, an allow-list: known blocks,
 * known marks, palette colours by name, links only to https:, http: and mailto:, bounded in
 * depth, node count and text length. Anything else is dropped (an unsafe link keeps its text,
 * unlinked), so a renderer never sees a field it does not know. See
 * docs/decisions/0016-rich-text.md.
 */
import { encode } from '@msgpack/msgpack';

/** The colours text and highlights may take: names, which each client maps to its own styles. */
export const RICH_COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'grey'] as const;
export type RichColour = (typeof RICH_COLOURS)[number];

/** Nesting of lists and quotes, counting the top level as 1. */
export const RICH_MAX_DEPTH = 6;
/** Blocks, list items and text runs of one document, together. */
export const RICH_MAX_NODES = 4_000;
/** Characters of one text run or code block. */
export const RICH_MAX_TEXT = 64_000;
/** Characters of a link's target. */
export const RICH_MAX_HREF = 2_048;

/** How a run of text is formatted. Each field is present only when set. */
export interface RichMarks {
  readonly bold?: true;
  readonly italic?: true;
  readonly underline?: true;
  readonly strike?: true;
  /** Superscript or subscript, never both. */
  readonly script?: 'sup' | 'sub';
  readonly code?: true;
  /** A link's target: an absolute https:, http: or mailto: URL. */
  readonly link?: string;
  readonly colour?: RichColour;
  readonly highlight?: RichColour;
}

/** Text with one formatting; a line break inside a block is a '\n'. */
export interface RichText {
  readonly text: string;
  readonly marks?: RichMarks;
}

export type RichBlock =
  | { readonly type: 'paragraph'; readonly content: readonly RichText[] }
  | { readonly type: 'heading'; readonly level: 1 | 2 | 3; readonly content: readonly RichText[] }
  | {
      readonly type: 'list';
      readonly ordered: boolean;
      /** Each item is a sequence of blocks. */
      readonly items: readonly (readonly RichBlock[])[];
    }
  | { readonly type: 'code'; readonly text: string }
  | { readonly type: 'quote'; readonly content: readonly RichBlock[] };

export interface RichDocument {
  readonly blocks: readonly RichBlock[];
}

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A field of `value` itself: never one it inherits (a polluted prototype counts for nothing). */
function own(value: Obj, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(value, key) ? value[key] : undefined;
}

const COLOURS: ReadonlySet<string> = new Set(RICH_COLOURS);
const LINK_PROTOCOLS: ReadonlySet<string> = new Set(['https:', 'http:', 'mailto:']);

/** `href` as an absolute URL when its scheme is allowed; null for anything else. */
export function safeHref(href: unknown): string | null {
  if (typeof href !== 'string' || href.length > RICH_MAX_HREF) return null;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  if (!LINK_PROTOCOLS.has(url.protocol)) return null;
  if (url.protocol !== 'mailto:' && url.hostname === '') return null;
  return url.href.length > RICH_MAX_HREF ? null : url.href;
}

function normalizeMarks(value: unknown): RichMarks | undefined {
  if (!isObj(value)) return undefined;
  const script = own(value, 'script');
  const link = safeHref(own(value, 'link'));
  const colour = own(value, 'colour');
  const highlight = own(value, 'highlight');
  const marks: { -readonly [K in keyof RichMarks]: RichMarks[K] } = {};
  if (own(value, 'bold') === true) marks.bold = true;
  if (own(value, 'italic') === true) marks.italic = true;
  if (own(value, 'underline') === true) marks.underline = true;
  if (own(value, 'strike') === true) marks.strike = true;
  if (script === 'sup' || script === 'sub') marks.script = script;
  if (own(value, 'code') === true) marks.code = true;
  if (link !== null) marks.link = link;
  if (typeof colour === 'string' && COLOURS.has(colour)) marks.colour = colour as RichColour;
  if (typeof highlight === 'string' && COLOURS.has(highlight))
    marks.highlight = highlight as RichColour;
  return Object.keys(marks).length > 0 ? marks : undefined;
}

const MARK_KEYS = [
  'bold',
  'italic',
  'underline',
  'strike',
  'script',
  'code',
  'link',
  'colour',
  'highlight',
] as const;

function sameMarks(a: RichMarks | undefined, b: RichMarks | undefined): boolean {
  return MARK_KEYS.every((key) => a?.[key] === b?.[key]);
}

/** Counts what a document may still hold while it is read. */
interface Budget {
  nodes: number;
}

function spend(budget: Budget): boolean {
  if (budget.nodes <= 0) return false;
  budget.nodes -= 1;
  return true;
}

function normalizeInline(value: unknown, budget: Budget): RichText[] {
  if (!Array.isArray(value)) return [];
  const runs: RichText[] = [];
  for (const item of value as unknown[]) {
    if (!isObj(item)) continue;
    const text = own(item, 'text');
    if (typeof text !== 'string' || text === '') continue;
    if (!spend(budget)) break;
    const marks = normalizeMarks(own(item, 'marks'));
    const clipped = text.slice(0, RICH_MAX_TEXT);
    const last = runs[runs.length - 1];
    // Neighbours with the same formatting are one run.
    if (last && sameMarks(last.marks, marks))
      runs[runs.length - 1] = { ...last, text: (last.text + clipped).slice(0, RICH_MAX_TEXT) };
    else runs.push(marks ? { text: clipped, marks } : { text: clipped });
  }
  return runs;
}

function normalizeBlocks(value: unknown, depth: number, budget: Budget): RichBlock[] {
  if (!Array.isArray(value) || depth > RICH_MAX_DEPTH) return [];
  const blocks: RichBlock[] = [];
  for (const item of value as unknown[]) {
    if (!isObj(item) || !spend(budget)) continue;
    const block = normalizeBlock(item, depth, budget);
    if (block) blocks.push(block);
  }
  return blocks;
}

function normalizeBlock(item: Obj, depth: number, budget: Budget): RichBlock | null {
  switch (own(item, 'type')) {
    case 'paragraph':
      return { type: 'paragraph', content: normalizeInline(own(item, 'content'), budget) };
    case 'heading': {
      const level = own(item, 'level');
      if (level !== 1 && level !== 2 && level !== 3) return null;
      return { type: 'heading', level, content: normalizeInline(own(item, 'content'), budget) };
    }
    case 'list': {
      const items = own(item, 'items');
      if (!Array.isArray(items) || depth >= RICH_MAX_DEPTH) return null;
      const kept: RichBlock[][] = [];
      for (const entry of items as unknown[]) {
        if (!spend(budget)) break;
        kept.push(normalizeBlocks(entry, depth + 1, budget));
      }
      return kept.length > 0
        ? { type: 'list', ordered: own(item, 'ordered') === true, items: kept }
        : null;
    }
    case 'code': {
      const text = own(item, 'text');
      return typeof text === 'string' ? { type: 'code', text: text.slice(0, RICH_MAX_TEXT) } : null;
    }
    case 'quote': {
      if (depth >= RICH_MAX_DEPTH) return null;
      const content = normalizeBlocks(own(item, 'content'), depth + 1, budget);
      return content.length > 0 ? { type: 'quote', content } : null;
    }
    default:
      return null;
  }
}

/**
 * The document `value` holds, keeping only what this format allows (see the file's comment);
 * null when nothing of it is a document. Never throws, whatever `value` is.
 */
export function normalizeRich(value: unknown): RichDocument | null {
  if (!isObj(value)) return null;
  const blocks = normalizeBlocks(own(value, 'blocks'), 1, { nodes: RICH_MAX_NODES });
  return blocks.length > 0 ? { blocks } : null;
}

/** The plain text of a document: blocks on their own lines, list items marked. */
export function richToText(doc: RichDocument): string {
  return blocksText(doc.blocks, '').join('\n');
}

function blocksText(blocks: readonly RichBlock[], indent: string): string[] {
  const lines: string[] = [];
  for (const block of blocks) {
    switch (block.type) {
      case 'paragraph':
      case 'heading':
        lines.push(indent + block.content.map((run) => run.text).join(''));
        break;
      case 'code':
        lines.push(...block.text.split('\n').map((line) => indent + line));
        break;
      case 'quote':
        lines.push(...blocksText(block.content, `${indent}> `));
        break;
      case 'list':
        block.items.forEach((item, index) => {
          const bullet = block.ordered ? `${index + 1}. ` : '• ';
          const inner = blocksText(item, `${indent}   `);
          const [first = `${indent}   `, ...rest] = inner;
          lines.push(indent + bullet + first.slice(indent.length + 3), ...rest);
        });
        break;
    }
  }
  return lines;
}

/**
 * Whether a document says nothing its plain text does not: paragraphs of unformatted text.
 * Such a message is sent as text alone.
 */
export function isPlainRich(doc: RichDocument): boolean {
  return doc.blocks.every(
    (block) => block.type === 'paragraph' && block.content.every((run) => !run.marks),
  );
}

/** The bytes a document adds to a message's payload. */
export function richBytes(doc: RichDocument): number {
  return encode(doc).byteLength;
}
