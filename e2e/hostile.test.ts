/**
 * A corpus of hostile input, sent by one person and read by another in a second browser: script
 * and markup in every shape, links to javascript:, data: and vbscript:, mutation-XSS strings,
 * bidirectional overrides and zero-width characters, unbroken words and emoji runs, crafted
 * rich documents, hostile file names and hostile group names and topics. Most of it is sent
 * from Node through the sdk (as another client could, bypassing the editor); some is typed into
 * the composer as markdown-ish text. The reader's page must run none of it (a window canary
 * stays unset, no dialog opens, no element gets an event handler or a foreign source), ask no
 * other host for anything, keep its layout, and still show the formatting that is allowed.
 */
import { GENERAL_ROOM_ID } from '@securechat/protocol';
import {
  createClient,
  openMemoryStore,
  type Conversations,
  type RichDocument,
} from '@securechat/sdk';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  browserSuite,
  chromiumPath,
  register,
  STRONG_PASSWORD,
  uniqueName,
} from './support/browser.js';
import { composer, conversation, log, rooms } from './support/chat.js';
import { until } from '../test-support/until.js';

/** Sets the canary: any payload that runs sets `window.__pwned`. */
const RUN = 'window.__pwned=1';

/** Plain text messages, each shown as text and never as markup. */
const TEXTS: string[] = [
  `<script>${RUN}</script>`,
  `<img src=x onerror="${RUN}">`,
  `<img src="https://evil.example/x.png">`,
  `<svg onload="${RUN}"><circle r=5></svg>`,
  `<svg><script>${RUN}</script></svg>`,
  `<iframe src="javascript:${RUN}"></iframe>`,
  `<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>`,
  `<object data="javascript:${RUN}"></object>`,
  `<embed src="data:text/html,<script>${RUN}</script>">`,
  `<a href="javascript:${RUN}">click me</a>`,
  `<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>`,
  `<a href="vbscript:msgbox(1)">vb</a>`,
  `<div onmouseover="${RUN}" style="position:fixed;inset:0">cover</div>`,
  `<body onload="${RUN}">`,
  `<input autofocus onfocus="${RUN}">`,
  `<details open ontoggle="${RUN}">`,
  `<video><source onerror="${RUN}"></video>`,
  `<audio src=x onerror="${RUN}">`,
  `<math><mtext><table><mglyph><style><img src=x onerror="${RUN}">`,
  `<noscript><p title="</noscript><img src=x onerror=${RUN}>">`,
  `<svg></p><style><a id="</style><img src=1 onerror=${RUN}>">`,
  `<form><math><mtext></form><form><mglyph><style></math><img src onerror=${RUN}>`,
  `</textarea><script>${RUN}</script>`,
  `</title><script>${RUN}</script>`,
  `"><script>${RUN}</script>`,
  `'><img src=x onerror=${RUN}>`,
  `javascript:${RUN}`,
  `JaVaScRiPt:${RUN}`,
  `data:text/html,<script>${RUN}</script>`,
  `vbscript:msgbox("x")`,
  `<style>body{display:none}</style>`,
  `<link rel=stylesheet href="https://evil.example/x.css">`,
  `<meta http-equiv="refresh" content="0;url=https://evil.example">`,
  `<base href="https://evil.example/">`,
  `{{constructor.constructor('${RUN}')()}}`,
  `\${${RUN}}`,
  `[click](javascript:${RUN})`,
  `![x](https://evil.example/x.png)`,
  `<a href="https://example.org" onclick="${RUN}">ok link</a>`,
  `&lt;script&gt;${RUN}&lt;/script&gt;`,
  `%3Cscript%3E${RUN}%3C/script%3E`,
  `\u202Egnp.exe\u202C right-to-left override`,
  `\u200B\u200C\u200D\u2060\uFEFF zero-width`,
  `admin\u200B: trust me`,
  `a${'\u0301'.repeat(400)} stacked accents`,
  'W'.repeat(5000),
  `https://example.org/${'a'.repeat(3000)}`,
  '😀'.repeat(800),
  '👨‍👩‍👧‍👦'.repeat(300),
  '🏳️‍🌈'.repeat(200),
  `${'\n'.repeat(50)}many empty lines`,
  '\u0000 null \u0007 bell \u001b[31m escape',
  `<!--${RUN}-->`,
  `<![CDATA[<script>${RUN}</script>]]>`,
  `<xss id=x tabindex=1 onfocusin=${RUN}></xss>`,
  `<marquee onstart=${RUN}>`,
];

const para = (text: string, marks?: Record<string, unknown>) => ({
  type: 'paragraph',
  content: [marks ? { text, marks } : { text }],
});

/** Rich documents crafted by hand, as a hostile client would send them. */
const DOCS: { name: string; doc: unknown }[] = [
  { name: 'js-link', doc: { blocks: [para('js link here', { link: `javascript:${RUN}` })] } },
  { name: 'data-link', doc: { blocks: [para('data link here', { link: 'data:text/html,x' })] } },
  { name: 'vb-link', doc: { blocks: [para('vb link here', { link: 'vbscript:msgbox(1)' })] } },
  {
    name: 'spaced-js-link',
    doc: { blocks: [para('spaced js link', { link: ` java\tscript:${RUN}` })] },
  },
  {
    name: 'html-node',
    doc: { blocks: [{ type: 'html', html: `<img src=x onerror=${RUN}>` }, para('after html')] },
  },
  {
    name: 'attrs',
    doc: {
      blocks: [
        {
          type: 'paragraph',
          id: 'app',
          style: 'position:fixed;inset:0',
          onclick: RUN,
          content: [{ text: 'attrs text', marks: { class: 'x', style: 'color:red' } }],
        },
      ],
    },
  },
  {
    name: 'css-colour',
    doc: {
      blocks: [para('css colour text', { colour: 'red;background:url(https://evil.example)' })],
    },
  },
  {
    name: 'proto',
    doc: JSON.parse(
      '{"blocks":[{"type":"paragraph","content":[{"text":"proto text","marks":{"__proto__":{"link":"javascript:x"}}}]}],"__proto__":{"x":1}}',
    ) as unknown,
  },
  {
    name: 'deep',
    doc: {
      blocks: [
        Array.from({ length: 200 }).reduce<unknown>(
          (inner) => ({ type: 'quote', content: [inner] }),
          para('deep text'),
        ),
      ],
    },
  },
  { name: 'wide', doc: { blocks: [para('Z'.repeat(4000), { bold: true })] } },
];

/** Everything in `root` that could run, load or navigate, as a list of findings. */
async function dangerous(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const found: string[] = [];
    for (const root of document.querySelectorAll(sel)) {
      for (const el of root.querySelectorAll('*')) {
        const tag = el.tagName.toLowerCase();
        if (['script', 'iframe', 'object', 'embed', 'style', 'link', 'meta', 'base'].includes(tag))
          found.push(`<${tag}>`);
        if (tag === 'svg' && !el.classList.contains('icon')) found.push('<svg> not an icon');
        if (tag === 'img' && !(el.getAttribute('src') ?? '').startsWith('blob:'))
          found.push(`<img src=${el.getAttribute('src')}>`);
        // The virtualized list positions itself with inline styles (set through the CSSOM);
        // nothing inside a row may have one.
        const list = document.querySelector('.messages');
        const listFrame =
          list !== null && (el === list || el.contains(list) || el.parentElement === list);
        for (const attr of el.getAttributeNames()) {
          if (attr.startsWith('on')) found.push(`${tag}[${attr}]`);
          if (attr === 'style' && !listFrame) found.push(`${tag}[style]`);
        }
        if (tag === 'a') {
          const href = el.getAttribute('href') ?? '';
          // The app's own paths, files' object URLs, and the three schemes documents may link.
          if (!/^(https?:|mailto:|blob:|\/(?!\/))/.test(href)) found.push(`<a href=${href}>`);
          if (/^https?:|^mailto:/.test(href) && el.getAttribute('rel') !== 'noopener noreferrer')
            found.push(`<a rel=${el.getAttribute('rel')}>`);
        }
      }
    }
    return found;
  }, selector);
}

describe.skipIf(!chromiumPath())('hostile input', () => {
  const suite = browserSuite({
    RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
    RATE_LIMIT_REGISTRATIONS_PER_HOUR: '1000',
  });
  let mallory: Conversations | undefined;
  afterAll(async () => {
    await mallory?.close();
  });

  it('runs nothing, loads nothing from elsewhere and keeps its layout', async () => {
    // The reader, in a browser that records every request, dialog and the canary.
    const victim = uniqueName('vic');
    const v = await suite.open();
    const foreign: string[] = [];
    const dialogs: string[] = [];
    v.page.on('request', (request) => {
      const url = request.url();
      if (url.startsWith('data:') || url.startsWith('blob:')) return;
      if (new URL(url).origin !== suite.server.origin) foreign.push(url);
    });
    v.page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await register(v.page, suite.server.origin, victim);
    await conversation(v.page).getByRole('heading', { name: 'general' }).waitFor();

    // The sender: a client in Node, as any program speaking the protocol could be.
    const name = uniqueName('mal');
    const client = createClient({ baseUrl: suite.server.origin, WebSocket });
    const me = await client.register({ username: name, password: STRONG_PASSWORD });
    mallory = await client.conversations({ store: openMemoryStore(), userId: me.user.id });
    const m = mallory;
    m.open(GENERAL_ROOM_ID);
    await until(() => m.state === 'open', 'the sender to connect');

    for (const text of TEXTS) await m.sendText(GENERAL_ROOM_ID, text);
    for (const { name: label, doc } of DOCS)
      await m.sendText(GENERAL_ROOM_ID, `doc ${label}`, { rich: doc as RichDocument });
    // Allowed formatting, to check it still shows.
    await m.sendText(GENERAL_ROOM_ID, 'fine formatting', {
      rich: {
        blocks: [
          {
            type: 'paragraph',
            content: [
              { text: 'strong words', marks: { bold: true } },
              { text: ' and ' },
              { text: 'a safe link', marks: { link: 'https://example.org/safe' } },
            ],
          },
        ],
      },
    });
    // Hostile file names (the sdk refuses names without an allowed extension).
    const fileNames = [
      `<img src=x onerror=${RUN}>.txt`,
      `"><svg onload=${RUN}>.txt`,
      '\u202Etxt.exe\u202C.txt',
      '../../../etc/passwd.txt',
      `${'x'.repeat(240)}.txt`,
    ];
    for (const fileName of fileNames)
      await m.sendFile(GENERAL_ROOM_ID, { name: fileName, data: new TextEncoder().encode('hi') });
    // A private group and a channel with hostile names and topics.
    const group = await m.createGroup({
      name: `<img src=x onerror=${RUN}>\u202E`,
      topic: `<script>${RUN}</script> javascript:${RUN}`,
    });
    await m.invite(group.id, victim);
    const channelName = uniqueName('hostile');
    const channel = await m.createChannel({
      name: channelName,
      topic: `<svg onload=${RUN}></svg>\u202E${'W'.repeat(300)}`,
    });
    await m.invite(channel.id, victim).catch(() => undefined);
    const sentinel = `the end ${name}`;
    await m.sendText(GENERAL_ROOM_ID, sentinel);

    // Markdown-ish text typed into the composer by the reader itself.
    const typed = [`**bold** [click](javascript:${RUN})`, `<img src=x onerror=${RUN}> \`code\``];
    for (const text of typed) {
      await composer(v.page).pressSequentially(text);
      await composer(v.page).press('Enter');
    }

    await log(v.page).getByText(sentinel).waitFor({ timeout: 60_000 });
    // The list is virtualized: only rows near the view are in the page. Go through it from
    // the first row to the last, looking at each row while it is there.
    const items = log(v.page).getByRole('listitem');
    const seen = new Set<string>();
    const found: string[] = [];
    let overflow = 0;
    const anchors = new Map<string, number>();
    interface FineLink {
      strong: string | null;
      href: string | null;
      rel: string | null;
      target: string | null;
      text: string;
    }
    const fineSeen: { link: FineLink | null } = { link: null };
    const linkTexts = ['js link here', 'data link here', 'vb link here', 'spaced js link', 'click'];
    async function visit(): Promise<void> {
      for (const text of await items.allTextContents()) seen.add(text);
      found.push(...(await dangerous(v.page, 'main, nav')));
      overflow = Math.max(
        overflow,
        await log(v.page).evaluate((el) => el.scrollWidth - el.clientWidth),
      );
      for (const text of linkTexts) {
        const row = items.filter({ hasText: text });
        if ((await row.count()) > 0)
          anchors.set(text, (anchors.get(text) ?? 0) + (await row.locator('a').count()));
      }
      const row = items.filter({ hasText: 'strong words' });
      if (fineSeen.link === null && (await row.count()) > 0) {
        const safe = row.getByRole('link', { name: 'a safe link' });
        fineSeen.link = {
          strong: await row.locator('strong').first().textContent(),
          href: await safe.getAttribute('href'),
          rel: await safe.getAttribute('rel'),
          target: await safe.getAttribute('target'),
          text: (await row.textContent()) ?? '',
        };
      }
    }
    const scroller = log(v.page);
    // The reader's own two messages are sent: nothing more will arrive and move the list.
    await expect.poll(() => log(v.page).getByText('Sending…').count()).toBe(0);
    const sawRow = (text: string) => [...seen].some((row) => row.includes(text));
    await scroller.evaluate((el) => el.scrollTo(0, 0));
    for (let step = 0; step < 600; step += 1) {
      await v.page.waitForTimeout(30);
      await visit();
      const all =
        sawRow(TEXTS[0] ?? '\0') &&
        sawRow(sentinel) &&
        seen.size > TEXTS.length &&
        fineSeen.link !== null &&
        linkTexts.every((text) => anchors.has(text));
      if (all) break;
      const end = await scroller.evaluate(
        (el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 2,
      );
      // At the end without having seen it all (the list moved under us): from the top again.
      if (end) await scroller.evaluate((el) => el.scrollTo(0, 0));
      else await scroller.evaluate((el) => el.scrollBy(0, el.clientHeight * 0.7));
    }
    expect(seen.size).toBeGreaterThan(TEXTS.length);
    // Each plain text shows as its own characters.
    for (const text of [TEXTS[0], TEXTS[1], TEXTS[19]])
      expect([...seen].some((row) => row.includes(text ?? '\0'))).toBe(true);
    // A document is shown instead of its text: the wide one is Z after Z.
    expect([...seen].some((row) => row.includes('ZZZZZZZZZZZZ'))).toBe(true);
    expect(found).toEqual([]);
    expect(overflow).toBeLessThanOrEqual(0);

    // Formatting that is allowed still shows; what is not is plain text.
    const fine = fineSeen.link;
    expect(fine).toMatchObject({
      strong: 'strong words',
      href: 'https://example.org/safe',
      rel: 'noopener noreferrer',
      target: '_blank',
    });
    expect(fine?.text).toContain('(example.org)');
    for (const text of linkTexts) expect([text, anchors.get(text)]).toEqual([text, 0]);
    // The reader's own markdown-ish typing, at the bottom: bold is bold, the link is text.
    await expect
      .poll(async () => {
        await scroller.evaluate((el) => el.scrollTo(0, el.scrollHeight));
        return items.filter({ hasText: 'bold' }).locator('strong', { hasText: 'bold' }).count();
      })
      .toBeGreaterThan(0);
    // A document's id never reaches the page.
    expect(await v.page.locator('#app').count()).toBe(0);

    // The group and the channel, as the room list and their headers show them.
    // Its name is end-to-end content: it shows once the sender's device has let this one into
    // the group (a post-quantum commit and welcome: slow on a loaded machine) and re-sent it.
    const groupLink = rooms(v.page).getByRole('link', { name: /img src=x/ });
    await groupLink.waitFor({ timeout: 60_000 });
    await groupLink.click();
    await conversation(v.page)
      .getByRole('heading', { name: /img src=x/ })
      .waitFor();
    await expect.poll(() => conversation(v.page).textContent()).toContain(`<script>${RUN}`);
    await rooms(v.page).getByRole('link', { name: channelName }).click();
    await conversation(v.page).getByRole('heading', { name: channelName }).waitFor();
    await expect.poll(() => conversation(v.page).textContent()).toContain(`<svg onload=${RUN}>`);
    await v.page.waitForTimeout(500);

    // Nothing ran, nothing opened, nothing was fetched from anywhere else.
    expect(await v.page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(foreign).toEqual([]);
    expect(await dangerous(v.page, 'main, nav')).toEqual([]);

    // The layout holds: nothing wider than the page, the composer on screen.
    await rooms(v.page).getByRole('link', { name: 'general' }).click();
    await log(v.page).getByText(sentinel).waitFor();
    const widths = await v.page.evaluate(() => {
      const list = document.querySelector('[role="log"]');
      const scroller = list?.parentElement;
      return {
        page: document.documentElement.scrollWidth - window.innerWidth,
        list: list ? list.scrollWidth - list.clientWidth : 0,
        scroller: scroller ? scroller.scrollWidth - scroller.clientWidth : 0,
      };
    });
    expect(widths).toEqual({ page: 0, list: 0, scroller: 0 });
    const box = await composer(v.page).boundingBox();
    expect(box).not.toBeNull();
    expect((box?.y ?? 0) + (box?.height ?? 0)).toBeLessThanOrEqual(800);
    expect(await composer(v.page).isVisible()).toBe(true);
    expect(await v.page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(foreign).toEqual([]);
  });
});
