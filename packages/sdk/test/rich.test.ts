/**
 * Rich text documents: the validator keeps what the format allows and drops the rest, however
 * hostile the input; the codec carries documents beside the plain text and still reads
 * payloads from before them.
 */
import { decode, encode } from '@msgpack/msgpack';
import type { RoomEvent } from '@securechat/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONTENT_VERSION,
  TEXT_MAX_BYTES,
  decodeContent,
  decodeEvent,
  encodeContent,
} from '../src/conversations/codec.js';
import {
  RICH_MAX_DEPTH,
  RICH_MAX_NODES,
  isPlainRich,
  normalizeRich,
  richToText,
  safeHref,
  type RichBlock,
  type RichDocument,
} from '../src/conversations/rich.js';
import { applyEvents, emptyTimeline, type MessageItem } from '../src/conversations/timeline.js';
import { deviceId, roomId, seq as seqOf, userId } from '../../../test-support/ids.js';

const para = (text: string, marks?: Record<string, unknown>) => ({
  type: 'paragraph',
  content: [marks ? { text, marks } : { text }],
});

const formatted: RichDocument = {
  blocks: [
    { type: 'heading', level: 2, content: [{ text: 'Plan' }] },
    {
      type: 'paragraph',
      content: [
        { text: 'bold', marks: { bold: true } },
        { text: ' and ' },
        { text: 'a link', marks: { link: 'https://example.org/', colour: 'red' } },
        { text: '\nnext line', marks: { highlight: 'yellow', script: 'sup' } },
      ],
    },
    {
      type: 'list',
      ordered: true,
      items: [
        [{ type: 'paragraph', content: [{ text: 'one' }] }],
        [
          { type: 'paragraph', content: [{ text: 'two' }] },
          {
            type: 'list',
            ordered: false,
            items: [[{ type: 'paragraph', content: [{ text: 'a' }] }]],
          },
        ],
      ],
    },
    { type: 'code', text: 'let x = 1;\nx += 1;' },
    { type: 'quote', content: [{ type: 'paragraph', content: [{ text: 'said' }] }] },
  ],
};

describe('normalizeRich', () => {
  it('keeps a well-formed document exactly', () => {
    expect(normalizeRich(formatted)).toEqual(formatted);
  });

  it('is idempotent on whatever it is given', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const once = normalizeRich(value);
        expect(normalizeRich(once)).toEqual(once);
      }),
    );
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const once = normalizeRich({ blocks: [{ type: 'paragraph', content: [value] }] });
        expect(normalizeRich(once)).toEqual(once);
      }),
    );
  });

  it('answers null for anything that is not a document', () => {
    for (const value of [null, undefined, 1, 'text', [], [formatted], { blocks: 'x' }, {}])
      expect(normalizeRich(value)).toBeNull();
    expect(normalizeRich({ blocks: [{ type: 'script', text: 'alert(1)' }] })).toBeNull();
  });

  it('drops unknown nodes, fields and marks', () => {
    const doc = normalizeRich({
      blocks: [
        { type: 'html', html: '<img src=x onerror=alert(1)>' },
        { type: 'image', src: 'https://evil.example/x.png' },
        {
          type: 'paragraph',
          id: 'app',
          style: 'position:fixed',
          attrs: { onclick: 'alert(1)' },
          content: [
            {
              text: 'hello',
              id: 'x',
              marks: { bold: true, style: 'color:red', class: 'x', onmouseover: 'alert(1)' },
            },
            { type: 'image', src: 'x' },
            { text: 42 },
          ],
        },
      ],
    });
    expect(doc).toEqual({
      blocks: [{ type: 'paragraph', content: [{ text: 'hello', marks: { bold: true } }] }],
    });
  });

  it('keeps colours only from the palette, and by name', () => {
    const doc = normalizeRich({
      blocks: [
        para('a', { colour: 'red', highlight: 'yellow' }),
        para('b', { colour: '#ff0000' }),
        para('c', { colour: 'red; background: url(https://evil.example)' }),
        para('d', { highlight: 'constructor' }),
      ],
    });
    expect(doc?.blocks.map((b) => (b.type === 'paragraph' ? b.content[0]?.marks : null))).toEqual([
      { colour: 'red', highlight: 'yellow' },
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('links only to https, http and mailto; anything else stays as its text', () => {
    const hrefs = [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      ' javascript:alert(1)',
      'java\u0000script:alert(1)',
      'java\tscript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
      'file:///etc/passwd',
      '//evil.example/',
      '/relative',
      'https:',
      'http://',
      'blob:https://example.org/x',
      42,
      { toString: () => 'https://example.org' },
      `https://example.org/${'a'.repeat(5000)}`,
    ];
    for (const link of hrefs) {
      const doc = normalizeRich({ blocks: [para('click', { link })] });
      expect(doc, String(link)).toEqual({
        blocks: [{ type: 'paragraph', content: [{ text: 'click' }] }],
      });
    }
    expect(safeHref('https://example.org/a b')).toBe('https://example.org/a%20b');
    expect(safeHref('HTTP://Example.ORG')).toBe('http://example.org/');
    expect(safeHref('mailto:alice@example.org')).toBe('mailto:alice@example.org');
  });

  it('ignores prototype-pollution keys and inherited fields', () => {
    const hostile = JSON.parse(
      '{"blocks":[{"type":"paragraph","content":[{"text":"x","marks":{"__proto__":{"bold":true},"constructor":{"prototype":{"polluted":true}}}}],"__proto__":{"type":"code"}}],"__proto__":{"polluted":true}}',
    ) as unknown;
    const doc = normalizeRich(hostile);
    expect(doc).toEqual({ blocks: [{ type: 'paragraph', content: [{ text: 'x' }] }] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // A field a document only inherits counts for nothing.
    const inherited = Object.create({ type: 'paragraph', content: [{ text: 'y' }] }) as object;
    expect(normalizeRich({ blocks: [inherited] })).toBeNull();
    const marks = Object.create({ bold: true }) as object;
    expect(normalizeRich({ blocks: [para('z', marks as Record<string, unknown>)] })).toEqual({
      blocks: [{ type: 'paragraph', content: [{ text: 'z' }] }],
    });
  });

  it('refuses wrong types without throwing', () => {
    const wrong = [
      { type: 'heading', level: 7, content: [{ text: 'h' }] },
      { type: 'heading', level: '1', content: [{ text: 'h' }] },
      { type: 'list', ordered: true, items: 'abc' },
      { type: 'list', items: [] },
      { type: 'code', text: ['a'] },
      { type: 'quote', content: 'x' },
      { type: 'paragraph', content: { text: 'x' } },
      { type: ['paragraph'] },
    ];
    const doc = normalizeRich({ blocks: wrong });
    // Only the paragraph survives, with nothing in it.
    expect(doc).toEqual({ blocks: [{ type: 'paragraph', content: [] }] });
    // Both scripts at once: superscript alone is kept only when named so.
    expect(normalizeRich({ blocks: [para('x', { script: 'both' })] })).toEqual({
      blocks: [{ type: 'paragraph', content: [{ text: 'x' }] }],
    });
  });

  it('bounds the depth', () => {
    let block: RichBlock = { type: 'paragraph', content: [{ text: 'deep' }] };
    for (let i = 0; i < 10_000; i += 1) block = { type: 'quote', content: [block] };
    const doc = normalizeRich({ blocks: [block] });
    let depth = 0;
    let current: RichBlock | undefined = doc?.blocks[0];
    while (current?.type === 'quote') {
      depth += 1;
      current = current.content[0];
    }
    expect(depth).toBeLessThan(RICH_MAX_DEPTH);
    let list: unknown = [{ type: 'paragraph', content: [{ text: 'x' }] }];
    for (let i = 0; i < 10_000; i += 1) list = [{ type: 'list', ordered: false, items: [list] }];
    expect(() => normalizeRich({ blocks: list })).not.toThrow();
  });

  it('bounds the number of nodes', () => {
    const many = Array.from({ length: 50_000 }, (_, i) => para(`p${i}`));
    const doc = normalizeRich({ blocks: many });
    expect(doc?.blocks.length).toBeLessThanOrEqual(RICH_MAX_NODES);
    const runs = Array.from({ length: 50_000 }, (_, i) => ({
      text: 'x',
      marks: i % 2 === 0 ? { bold: true } : {},
    }));
    const one = normalizeRich({ blocks: [{ type: 'paragraph', content: runs }] });
    const first = one?.blocks[0];
    expect(first?.type === 'paragraph' ? first.content.length : 0).toBeLessThanOrEqual(
      RICH_MAX_NODES,
    );
  });

  it('merges neighbouring runs of the same formatting and drops empty ones', () => {
    expect(
      normalizeRich({
        blocks: [
          {
            type: 'paragraph',
            content: [
              { text: 'a', marks: { bold: true } },
              { text: '' },
              { text: 'b', marks: { bold: true, nonsense: 1 } },
              { text: 'c' },
            ],
          },
        ],
      }),
    ).toEqual({
      blocks: [
        {
          type: 'paragraph',
          content: [{ text: 'ab', marks: { bold: true } }, { text: 'c' }],
        },
      ],
    });
  });
});

describe('richToText and isPlainRich', () => {
  it('renders blocks on their own lines', () => {
    expect(richToText(formatted)).toBe(
      [
        'Plan',
        'bold and a link',
        'next line',
        '1. one',
        '2. two',
        '   • a',
        'let x = 1;',
        'x += 1;',
        '> said',
      ].join('\n'),
    );
  });

  it('tells plain paragraphs from formatting', () => {
    expect(isPlainRich({ blocks: [{ type: 'paragraph', content: [{ text: 'a' }] }] })).toBe(true);
    expect(isPlainRich(formatted)).toBe(false);
  });
});

const event = (payload: Uint8Array, seq: number, extra: Record<string, unknown> = {}) =>
  ({
    room: roomId('GeneralRoom00000000000'),
    seq: seqOf(seq),
    kind: 'message',
    sender: userId('u'.repeat(22)),
    device: deviceId('d'.repeat(22)),
    cmid: `cmid-${seq}`,
    at: 1,
    payload,
    ...extra,
  }) as RoomEvent;

describe('the codec with rich text', () => {
  it('round-trips text, replies and edits with a document', () => {
    for (const content of [
      { type: 'text', text: 'x', rich: formatted },
      { type: 'reply', text: 'x', rich: formatted, replyTo: 3 },
      { type: 'edit', target: 2, text: 'x', rich: formatted },
    ] as const)
      expect(decodeContent(encodeContent(content))).toEqual(content);
  });

  it('reads payloads from before rich text, and a bad document as plain text', () => {
    const old = encode({ v: CONTENT_VERSION, type: 'text', text: 'hello' });
    expect(decodeContent(old)).toEqual({ type: 'text', text: 'hello' });
    for (const rich of [null, 'x', 5, { blocks: [{ type: 'script' }] }, [formatted]]) {
      const payload = encode({ v: CONTENT_VERSION, type: 'text', text: 'hello', rich });
      expect(decodeContent(payload)).toEqual({ type: 'text', text: 'hello' });
    }
  });

  it('sends what a reader will see: hostile parts never reach the payload', () => {
    const bytes = encodeContent({
      type: 'text',
      text: 'x',
      rich: normalizeRich({ blocks: [para('x', { link: 'javascript:alert(1)' })] }) ?? formatted,
    });
    const map = decode(bytes) as { rich: unknown };
    expect(map.rich).toEqual({ blocks: [{ type: 'paragraph', content: [{ text: 'x' }] }] });
    const crafted = encodeContent({
      type: 'text',
      text: 'x',
      rich: { blocks: [para('y', { link: 'data:text/html,x' })] } as unknown as RichDocument,
    });
    expect((decode(crafted) as { rich: unknown }).rich).toEqual({
      blocks: [{ type: 'paragraph', content: [{ text: 'y' }] }],
    });
  });

  it('counts the document against the size limit', () => {
    const big = 'x'.repeat(Math.floor(TEXT_MAX_BYTES / 2) + 10);
    expect(() =>
      encodeContent({
        type: 'text',
        text: big,
        rich: { blocks: [{ type: 'paragraph', content: [{ text: big, marks: { bold: true } }] }] },
      }),
    ).toThrow(/too long/);
  });

  it('shows the formatting of the newest edit in the timeline, and none after a plain edit', () => {
    const message = (seq: number, content: Parameters<typeof encodeContent>[0]) =>
      decodeEvent(event(encodeContent(content), seq));
    const edit = (seq: number, target: number, rich?: RichDocument) =>
      decodeEvent(
        event(encodeContent({ type: 'edit', target, text: 'e', ...(rich ? { rich } : {}) }), seq, {
          kind: 'edit',
          target,
        }),
      );
    const item = (events: ReturnType<typeof decodeEvent>[]) =>
      applyEvents(emptyTimeline, events).items[0] as MessageItem;
    expect(item([message(1, { type: 'text', text: 'x', rich: formatted })]).rich).toEqual(
      formatted,
    );
    expect(item([message(1, { type: 'text', text: 'x' })]).rich).toBeNull();
    const first = message(1, { type: 'text', text: 'x', rich: formatted });
    const rich2: RichDocument = { blocks: [para('e', { italic: true }) as RichBlock] };
    expect(item([edit(3, 1), first, edit(2, 1, rich2)]).rich).toBeNull();
    expect(item([edit(2, 1), edit(3, 1, rich2), first]).rich).toEqual(rich2);
  });
});
