/**
 * The rich text composer in a real browser: formatting from the toolbar, from Tiptap's
 * shortcuts and from markdown-style typing; Enter sends and Shift+Enter starts a new line (a
 * new item in a list); emoji from the picker (search, recently used) and from `:shortcode:`
 * completion; the reader sees the formatting; editing keeps it. axe finds nothing serious with
 * the toolbar and the picker open, and screenshots at desktop and phone width, light and dark,
 * are kept under test-results/ to look at.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { axeSerious, browserSuite, chromiumPath, register, uniqueName } from './support/browser.js';
import { composer, conversation, log } from './support/chat.js';

const toolbar = (page: Page) => conversation(page).getByRole('toolbar', { name: 'Formatting' });
const tool = (page: Page, name: string) => toolbar(page).getByRole('button', { name, exact: true });
/** The newest message whose text contains `text`. */
const message = (page: Page, text: string) =>
  log(page).getByRole('listitem').filter({ hasText: text }).last();

describe.skipIf(!chromiumPath())('the rich text composer', () => {
  const suite = browserSuite({
    RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
    RATE_LIMIT_REGISTRATIONS_PER_HOUR: '1000',
  });

  async function person(width = 1280, height = 800) {
    const p = await suite.open({ width, height });
    const name = uniqueName('rich');
    await register(p.page, suite.server.origin, name);
    await conversation(p.page).getByRole('heading', { name: 'general' }).waitFor();
    return { ...p, name };
  }

  it('formats from the toolbar, shortcuts and markdown, and the reader sees it', async () => {
    const a = await person();
    const b = await person();
    const box = composer(a.page);

    // The toolbar: real buttons with names and pressed states, one tab stop, arrow keys.
    await box.click();
    await tool(a.page, 'Bold').click();
    expect(await tool(a.page, 'Bold').getAttribute('aria-pressed')).toBe('true');
    await box.pressSequentially('loud');
    await tool(a.page, 'Bold').click();
    await box.pressSequentially(' then ');
    await a.page.keyboard.press('Control+i');
    await box.pressSequentially('slanted');
    await a.page.keyboard.press('Control+i');
    await box.pressSequentially(' and ');
    await a.page.keyboard.press('Control+u');
    await box.pressSequentially('under');
    await a.page.keyboard.press('Control+u');
    await box.pressSequentially(' H');
    await tool(a.page, 'Subscript').click();
    await box.pressSequentially('2');
    await tool(a.page, 'Subscript').click();
    await box.pressSequentially('O x');
    await tool(a.page, 'Superscript').click();
    await box.pressSequentially('2');
    await tool(a.page, 'Superscript').click();
    // A colour and a highlight from the palette.
    await box.pressSequentially(' ');
    await tool(a.page, 'Text colour').click();
    await a.page
      .getByRole('group', { name: 'Text colour' })
      .getByRole('button', { name: 'Red' })
      .click();
    await box.pressSequentially('red');
    await tool(a.page, 'Text colour').click();
    await a.page
      .getByRole('group', { name: 'Text colour' })
      .getByRole('button', { name: 'None' })
      .click();
    await box.pressSequentially(' ');
    await tool(a.page, 'Highlight').click();
    await a.page
      .getByRole('group', { name: 'Highlight' })
      .getByRole('button', { name: 'Yellow' })
      .click();
    await box.pressSequentially('marked');
    // Shift+Enter: a new line in the same message; markdown makes a list and code.
    await a.page.keyboard.press('Shift+Enter');
    await tool(a.page, 'Highlight').click();
    await a.page
      .getByRole('group', { name: 'Highlight' })
      .getByRole('button', { name: 'None' })
      .click();
    await box.pressSequentially('- first item');
    await a.page.keyboard.press('Shift+Enter');
    await box.pressSequentially('second item');
    await a.page.keyboard.press('Shift+Enter');
    await a.page.keyboard.press('Shift+Enter');
    await box.pressSequentially('**strong** and `tick` and ~~gone~~');
    // Keyboard: Tab from the editor does not trap; the toolbar is reachable and arrow keys move.
    await tool(a.page, 'Bold').focus();
    await a.page.keyboard.press('ArrowRight');
    expect(await a.page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(
      'Italic',
    );
    await box.click();
    await a.page.keyboard.press('End');
    await a.page.keyboard.press('Enter');
    await expect.poll(() => box.textContent()).toBe('');

    // The reader sees each formatting as its element.
    const seen = message(b.page, 'slanted');
    await seen.waitFor();
    expect(await seen.locator('strong').first().textContent()).toBe('loud');
    expect(await seen.locator('em').textContent()).toBe('slanted');
    expect(await seen.locator('u').textContent()).toBe('under');
    expect(await seen.locator('sub').textContent()).toBe('2');
    expect(await seen.locator('sup').textContent()).toBe('2');
    expect(await seen.locator('.rich-colour-red').textContent()).toBe('red');
    expect(await seen.locator('mark.rich-highlight-yellow').textContent()).toBe('marked');
    expect(await seen.locator('ul > li').allTextContents()).toEqual(['first item', 'second item']);
    expect(await seen.locator('strong', { hasText: 'strong' }).count()).toBe(1);
    expect(await seen.locator('code').textContent()).toBe('tick');
    expect(await seen.locator('s').textContent()).toBe('gone');

    // Headings, numbered lists and code blocks by markdown; a link from the toolbar.
    await box.pressSequentially('# Title');
    await a.page.keyboard.press('Shift+Enter');
    await box.pressSequentially('1. one');
    await a.page.keyboard.press('Shift+Enter');
    await box.pressSequentially('two');
    await a.page.keyboard.press('Shift+Enter');
    await a.page.keyboard.press('Shift+Enter');
    await box.pressSequentially('``` ');
    await box.pressSequentially('let x = 1;');
    await a.page.keyboard.press('Shift+Enter');
    await box.pressSequentially('x += 1;');
    await a.page.keyboard.press('Enter');
    const second = message(b.page, 'Title');
    await second.waitFor();
    expect(await second.locator('.rich-h1').textContent()).toBe('Title');
    expect(await second.locator('ol > li').allTextContents()).toEqual(['one', 'two']);
    expect(await second.locator('pre code').textContent()).toBe('let x = 1;\nx += 1;');

    await box.pressSequentially('see the docs');
    await box.press('Shift+Home');
    await tool(a.page, 'Link').click();
    const linkForm = a.page.getByRole('group', { name: 'Link' });
    await linkForm.getByRole('textbox', { name: 'Link address' }).fill('javascript:alert(1)');
    await linkForm.getByRole('button', { name: 'Apply' }).click();
    await linkForm.getByRole('alert').waitFor();
    await linkForm.getByRole('textbox', { name: 'Link address' }).fill('example.org/docs');
    await linkForm.getByRole('button', { name: 'Apply' }).click();
    await box.press('End');
    await box.press('Enter');
    const linked = message(b.page, 'see the docs').getByRole('link', { name: 'see the docs' });
    await linked.waitFor();
    expect(await linked.getAttribute('href')).toBe('https://example.org/docs');
    expect(await linked.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await message(b.page, 'see the docs').textContent()).toContain('(example.org)');

    // Editing a formatted message keeps its formatting.
    const own = message(a.page, 'slanted');
    await own.hover();
    await own.getByRole('button', { name: 'Edit' }).click();
    const edit = own.getByRole('textbox', { name: 'Edit message' });
    await edit.press('Control+End');
    await edit.pressSequentially(' (edited)');
    await edit.press('Enter');
    await expect.poll(() => message(b.page, 'slanted').textContent()).toContain('(edited)');
    expect(await message(b.page, 'slanted').locator('em').textContent()).toBe('slanted');
    expect(await message(b.page, 'slanted').locator('ul > li').count()).toBe(2);
    await b.page.screenshot({ path: 'test-results/composer-reader.png' });
  });

  it('offers emoji from a picker with search and recents, and by :shortcode:', async () => {
    const a = await person();
    const box = composer(a.page);
    // The emoji data comes from the app's own origin, never from a CDN.
    const elsewhere: string[] = [];
    const emojiData: string[] = [];
    a.page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.protocol === 'data:' || url.protocol === 'blob:') return;
      if (url.origin !== suite.server.origin) elsewhere.push(url.href);
      else if (url.pathname.startsWith('/emoji/')) emojiData.push(url.pathname);
    });
    await box.click();

    // An unsent formatted draft comes back, formatted, after a reload.
    await box.pressSequentially('**kept** for later');
    await a.page.waitForTimeout(600);
    await a.page.reload();
    await expect.poll(() => box.locator('strong').textContent()).toBe('kept');
    expect(await box.textContent()).toBe('kept for later');
    await box.click();
    await a.page.keyboard.press('Control+a');
    await a.page.keyboard.press('Delete');
    await expect.poll(() => box.textContent()).toBe('');

    // The picker: search, then Enter picks the first match; it is remembered as recent.
    await tool(a.page, 'Emoji').click();
    const picker = a.page.getByRole('dialog', { name: 'Emoji picker' });
    const search = picker.getByRole('searchbox', { name: 'Search emoji' });
    await search.fill('rocket');
    await picker
      .getByRole('gridcell', { name: /rocket/i })
      .first()
      .waitFor();
    await search.press('Enter');
    await expect.poll(() => picker.count()).toBe(0);
    await expect.poll(() => box.textContent()).toContain('🚀');
    await tool(a.page, 'Emoji').click();
    await picker.getByText('Recently used').waitFor();
    await picker.getByRole('list').getByRole('button', { name: '🚀' }).waitFor();
    await a.page.keyboard.press('Escape');
    await expect.poll(() => picker.count()).toBe(0);

    // :shortcode: completion: arrows choose, Enter or Tab picks, Escape closes.
    await box.press('End');
    await box.pressSequentially(' :tada');
    const list = conversation(a.page).getByRole('listbox', { name: 'Emoji suggestions' });
    await list.getByRole('option', { name: /:tada:/ }).waitFor();
    await box.press('Tab');
    await expect.poll(() => box.textContent()).toContain('🎉');
    await box.pressSequentially(' :smil');
    await list.getByRole('option').first().waitFor();
    await box.press('Escape');
    await expect.poll(() => list.count()).toBe(0);
    expect(await box.textContent()).toContain(':smil');
    // A whole shortcode typed out becomes its emoji.
    await box.pressSequentially(' :heart:');
    await expect.poll(() => box.textContent()).toContain('❤');
    await box.press('Escape');
    await box.press('Enter');
    await message(a.page, '🎉').waitFor();
    expect(await message(a.page, '🎉').textContent()).toContain('🚀');
    expect(elsewhere).toEqual([]);
    expect(emojiData).toContain('/emoji/en/data.json');
    expect(emojiData).toContain('/emoji/en/shortcodes/github.json');
  });

  it('passes axe with the toolbar and the picker open, and fits a phone', async () => {
    for (const theme of ['light', 'dark'] as const) {
      for (const width of [1280, 390]) {
        const a = await person(width, width > 400 ? 800 : 760);
        await a.page.evaluate((choice) => {
          localStorage.setItem('securechat.theme', choice);
        }, theme);
        await a.page.reload();
        await composer(a.page).waitFor();
        await composer(a.page).click();
        await composer(a.page).pressSequentially('**Plans** for the _week_ ');
        await tool(a.page, 'Emoji').click();
        const picker = a.page.getByRole('dialog', { name: 'Emoji picker' });
        await picker
          .getByRole('gridcell', { name: /grinning face/i })
          .first()
          .waitFor();
        if (theme === 'light') expect(await axeSerious(a.page)).toEqual([]);
        await a.page.screenshot({ path: `test-results/composer-${theme}-${width}.png` });
        // The page never scrolls sideways: the toolbar scrolls within itself.
        expect(
          await a.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
        ).toBe(0);
        await a.page.keyboard.press('Escape');
        await tool(a.page, 'Text colour').click();
        if (theme === 'light') expect(await axeSerious(a.page)).toEqual([]);
        await a.page.screenshot({ path: `test-results/composer-palette-${theme}-${width}.png` });
        await a.context.close();
      }
    }
    // A 360 px phone.
    const small = await person(360, 740);
    await composer(small.page).click();
    const box = await composer(small.page).boundingBox();
    expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(360);
    await small.page.screenshot({ path: 'test-results/composer-360.png' });
  });
});
