/**
 * The editor's conversions and the renderer, without a browser: a document survives the trip
 * through the editor's JSON; drafts from before rich text still load; the renderer's markup
 * holds only the elements and attributes it lists, whatever the document says.
 */
import { normalizeRich, type RichDocument } from '@securechat/sdk';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import {
  documentOf,
  draftJson,
  draftOf,
  editorJsonOf,
  plainTextOf,
} from '../src/features/conversation/editorSchema';
import { RichText } from '../src/features/conversation/RichText';

const doc: RichDocument = {
  blocks: [
    { type: 'heading', level: 1, content: [{ text: 'Title' }] },
    {
      type: 'paragraph',
      content: [
        { text: 'bold', marks: { bold: true, colour: 'red' } },
        { text: ' line\nnext ', marks: { highlight: 'yellow' } },
        { text: 'link', marks: { link: 'https://example.org/', script: 'sup' } },
      ],
    },
    {
      type: 'list',
      ordered: false,
      items: [
        [{ type: 'paragraph', content: [{ text: 'a', marks: { code: true } }] }],
        [
          { type: 'paragraph', content: [{ text: 'b', marks: { strike: true, underline: true } }] },
          {
            type: 'list',
            ordered: true,
            items: [[{ type: 'paragraph', content: [{ text: 'c', marks: { italic: true } }] }]],
          },
        ],
      ],
    },
    { type: 'code', text: 'x = 1\ny = 2' },
    { type: 'quote', content: [{ type: 'paragraph', content: [{ text: 'q' }] }] },
  ],
};

describe('the editor conversions', () => {
  it('take a document through the editor JSON and back unchanged', () => {
    expect(documentOf(editorJsonOf(doc))).toEqual(doc);
  });

  it('leave out empty lines at the ends, and give the plain text', () => {
    const json = editorJsonOf(null, '\n\nhello\n\nworld\n\n');
    const back = documentOf(json);
    expect(back?.blocks).toHaveLength(3);
    expect(plainTextOf(back)).toBe('hello\n\nworld');
    expect(documentOf(editorJsonOf(null, ''))).toBeNull();
    expect(plainTextOf(null)).toBe('');
  });

  it('load drafts kept as documents, and plain drafts from before', () => {
    expect(documentOf(draftJson(draftOf(doc)))).toEqual(doc);
    expect(plainTextOf(documentOf(draftJson('a plain draft\nsecond line')))).toBe(
      'a plain draft\nsecond line',
    );
    // Plain text that looks like JSON stays text.
    expect(plainTextOf(documentOf(draftJson('{"a": 1}')))).toBe('{"a": 1}');
    // A tampered draft is normalized like anything else.
    const hostile = JSON.stringify({
      kind: 'securechat-rich-draft',
      doc: {
        blocks: [{ type: 'paragraph', content: [{ text: 'x', marks: { link: 'javascript:1' } }] }],
      },
    });
    expect(documentOf(draftJson(hostile))).toEqual({
      blocks: [{ type: 'paragraph', content: [{ text: 'x' }] }],
    });
    expect(draftOf(null)).toBe('');
  });
});

const render = (value: RichDocument) =>
  renderToStaticMarkup(createElement(RichText, { doc: value }));

describe('the renderer', () => {
  it('draws each block and mark as its element', () => {
    const html = render(doc);
    for (const part of [
      '<p class="rich-heading rich-h1">Title</p>',
      '<span class="rich-colour-red"><strong>bold</strong></span>',
      '<mark class="rich-highlight-yellow"> line\nnext </mark>',
      '<a href="https://example.org/" target="_blank" rel="noopener noreferrer" title="https://example.org/"><sup>link</sup></a>',
      '<li><p><code>a</code></p></li>',
      '<s><u>b</u></s>',
      '<ol><li><p><em>c</em></p></li></ol>',
      '<pre><code>x = 1\ny = 2</code></pre>',
      '<blockquote><p>q</p></blockquote>',
    ])
      expect(html).toContain(part);
  });

  it('shows where a link goes when its text says otherwise', () => {
    const html = render({
      blocks: [
        {
          type: 'paragraph',
          content: [
            { text: 'https://bank.example', marks: { link: 'https://evil.example/' } },
            { text: ' and ' },
            { text: 'https://example.org/', marks: { link: 'https://example.org/' } },
            { text: ' and ' },
            { text: 'mail me', marks: { link: 'mailto:a@example.org' } },
          ],
        },
      ],
    });
    expect(html).toContain('<span class="rich-link-target"> (evil.example)</span>');
    expect(html).not.toContain('(example.org)');
    expect(html).toContain('(a@example.org)');
  });

  it('puts nothing of a hostile document into attributes or markup', () => {
    const hostile = normalizeRich({
      blocks: [
        { type: 'html', html: '<img src=x onerror=alert(1)>' },
        {
          type: 'paragraph',
          id: 'root',
          style: 'position:fixed',
          content: [
            { text: '<script>alert(1)</script>', marks: { link: 'javascript:alert(1)' } },
            { text: '"><img src=x onerror=alert(1)>', marks: { colour: '" onmouseover="x' } },
          ],
        },
      ],
    });
    expect(hostile).not.toBeNull();
    const html = render(hostile as RichDocument);
    expect(html).toBe(
      '<p>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</p>',
    );
    // Even a document that skipped the normalizer gets no link to javascript:.
    const raw = render({
      blocks: [
        { type: 'paragraph', content: [{ text: 'x', marks: { link: 'javascript:alert(1)' } }] },
      ],
    });
    expect(raw).toBe('<p>x</p>');
  });
});
