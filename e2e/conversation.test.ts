/**
 * Two people, two browsers (separate cookies), one server: messages in #general, a direct
 * message started from the people picker, a password-protected channel found in the directory,
 * and a browser that loses its connection and comes back to everything it missed, in order,
 * once each; after a reload a room opens from this device's local store, asking the server
 * for nothing it already has. The page is driven by roles and labels only, as a screen reader
 * user would.
 */
import { readFile } from 'node:fs/promises';
import { decodeClientFrame } from '@securechat/protocol';
import type { Page, WebSocketRoute } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { alertText, browserSuite, chromiumPath, register, uniqueName } from './support/browser.js';
import { composer, conversation, log, messages, rooms, sees, send } from './support/chat.js';

/** What the composer holds, one line per paragraph (it is a rich text editor, not a textarea). */
const typed = (page: Page) =>
  composer(page).evaluate((box) =>
    Array.from(box.querySelectorAll('p'), (line) => line.textContent).join('\n'),
  );

describe.skipIf(!chromiumPath())('conversations in the browser', () => {
  const suite = browserSuite({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });

  it('reopens a room after a reload from the local store, fetching no history it already has', async () => {
    const carol = uniqueName('carol');
    const c = await suite.open();
    // Watch what the page asks over its socket: the type of every request frame.
    const asked: string[] = [];
    await c.context.routeWebSocket(/\/api\/ws$/, (ws) => {
      const upstream = ws.connectToServer();
      ws.onMessage((message) => {
        if (typeof message !== 'string') {
          const decoded = decodeClientFrame(new Uint8Array(message));
          if (decoded.ok) asked.push(decoded.frame.t);
        }
        upstream.send(message);
      });
    });
    await register(c.page, suite.server.origin, carol);
    await conversation(c.page).getByRole('heading', { name: 'general' }).waitFor();
    const said = [1, 2, 3].map((n) => `kept on this device ${n} ${carol}`);
    for (const text of said) {
      await send(c.page, text);
      await sees(c.page, text);
    }
    expect(asked).toContain('history');
    // A reply quotes its original; a reaction is counted on it.
    const first = messages(c.page, said[0] ?? '').first();
    await first.hover();
    await first.getByRole('button', { name: 'Reply' }).click();
    await send(c.page, `a reply ${carol}`);
    await expect.poll(() => messages(c.page, `a reply ${carol}`).textContent()).toContain(said[0]);
    await first.hover();
    await first.getByRole('button', { name: 'React with 👍' }).click();
    await first.getByRole('button', { name: /👍: 1 person/ }).waitFor();
    // Any emoji, from the picker.
    await first.hover();
    await first.getByRole('button', { name: 'Add a reaction' }).click();
    const picker = c.page.getByRole('dialog', { name: 'Add a reaction' });
    await picker.getByRole('searchbox', { name: 'Search emoji' }).fill('rocket');
    await picker
      .getByRole('gridcell', { name: /rocket/i })
      .first()
      .click();
    await expect.poll(() => picker.count()).toBe(0);
    await first.getByRole('button', { name: /🚀: 1 person/ }).waitFor();
    // The reply's quote goes to the original: shown, focused and marked for a moment.
    await messages(c.page, `a reply ${carol}`)
      .getByRole('button', { name: /Go to the original message/ })
      .click();
    await expect
      .poll(() =>
        first
          .locator('.msg')
          .evaluate((el) => el === document.activeElement && el.classList.contains('found')),
      )
      .toBe(true);

    asked.length = 0;
    await c.page.reload();
    await conversation(c.page).getByRole('heading', { name: 'general' }).waitFor();
    // The first message shows twice: itself, and quoted in the reply.
    await expect.poll(() => messages(c.page, said[0] ?? '').count()).toBe(2);
    for (const text of said.slice(1)) await sees(c.page, text);
    await messages(c.page, said[0] ?? '')
      .first()
      .getByRole('button', { name: /👍: 1 person/ })
      .waitFor();
    expect(await messages(c.page, `a reply ${carol}`).textContent()).toContain(said[0]);
    // Connected again (it resumed from the stored position), and still no history page.
    await expect.poll(() => asked.includes('resume')).toBe(true);
    await send(c.page, `after the reload ${carol}`);
    await sees(c.page, `after the reload ${carol}`);
    expect(asked).not.toContain('history');
    const texts = await log(c.page).getByRole('listitem').allTextContents();
    expect(texts.filter((text) => text.includes('kept on this device'))).toHaveLength(4);

    // The conversation as a transcript, made in the browser from this device's copy.
    await conversation(c.page)
      .getByRole('button', { name: 'More actions for this conversation' })
      .click();
    await c.page.getByRole('menuitem', { name: 'Export conversation…' }).click();
    const dialog = c.page.getByRole('dialog', { name: 'Export conversation' });
    const exported = async () => {
      const [download] = await Promise.all([
        c.page.waitForEvent('download'),
        dialog.getByRole('button', { name: 'Export' }).click(),
      ]);
      return {
        name: download.suggestedFilename(),
        text: await readFile(await download.path(), 'utf8'),
      };
    };
    const txt = await exported();
    expect(txt.name).toMatch(/^securechat-general-\d{4}-\d{2}-\d{2}\.txt$/);
    expect(txt.text.split('\n')[0]).toBe('SecureChat transcript: #general');
    for (const text of [...said, `after the reload ${carol}`])
      expect(txt.text).toMatch(new RegExp(`^\\[[-0-9 :]+\\] ${carol}: ${text}$`, 'm'));
    expect(txt.text).toContain(`${carol} (in reply to ${carol}: “${said[0]}”): a reply ${carol}`);
    await dialog.getByRole('radio', { name: 'JSON (.json)' }).check();
    await dialog.getByRole('radio', { name: 'Between two dates' }).check();
    const today = new Date().toLocaleDateString('en-CA');
    await dialog.getByLabel('From').fill(today);
    await dialog.getByLabel('To (included)').fill(today);
    await c.page.screenshot({ path: 'test-results/export-dialog.png' });
    const json = await exported();
    expect(json.name).toMatch(/\.json$/);
    const parsed = JSON.parse(json.text) as {
      messages: { text: string | null; sender: { name: string }; replyTo: unknown }[];
    };
    const mine = parsed.messages.filter((m) => m.sender.name === carol);
    expect(mine.map((m) => m.text)).toEqual([
      ...said,
      `a reply ${carol}`,
      `after the reload ${carol}`,
    ]);
    expect(mine[3]?.replyTo).toMatchObject({ name: carol, text: said[0] });
    await expect
      .poll(() => dialog.getByRole('status').textContent())
      .toMatch(/^Exported \d+ messages\.$/);
  });

  it('folds a long message, marks an edit under a grouped header, and says when it is offline', async () => {
    const dana = uniqueName('dana');
    const d = await suite.open({ width: 390, height: 800 });
    await register(d.page, suite.server.origin, dana);
    await expect
      .poll(() =>
        conversation(d.page)
          .getByRole('status', { name: /^Encryption: / })
          .textContent({ timeout: 1_000 })
          .catch(() => null),
      )
      .toMatch(/End-to-end encrypted|Verified/);

    // Two messages in a row share one header; an edit of the second still shows "edited".
    await send(d.page, `first ${dana}`);
    await sees(d.page, `first ${dana}`);
    await send(d.page, `second ${dana}`);
    await sees(d.page, `second ${dana}`);
    const second = messages(d.page, `second ${dana}`);
    await second.hover();
    await second.getByRole('button', { name: 'Edit' }).click();
    // (While it is edited, its text is the field's value: find the field in the log.)
    const field = log(d.page).getByRole('textbox', { name: 'Edit message' });
    await field.fill(`second, better ${dana}`);
    await field.press('Enter');
    const edited = messages(d.page, `second, better ${dana}`);
    await expect.poll(() => edited.locator('.msg-text .msg-edited').isVisible()).toBe(true);

    // A very long message is folded until the reader asks for the rest.
    const long = `${'a long line of text\n'.repeat(40)}the end ${dana}`;
    await send(d.page, long);
    const folded = messages(d.page, `the end ${dana}`);
    const more = folded.getByRole('button', { name: 'Show more' });
    await more.waitFor();
    expect(await more.getAttribute('aria-expanded')).toBe('false');
    const height = async () => (await folded.boundingBox())?.height ?? 0;
    const before = await height();
    expect(before).toBeLessThan(500);
    await more.click();
    await folded.getByRole('button', { name: 'Show less' }).waitFor();
    expect(await height()).toBeGreaterThan(before + 200);

    // Offline: the page says so, and a message waits for the connection, then goes out.
    await d.context.setOffline(true);
    await expect
      .poll(() =>
        conversation(d.page)
          .getByText(/^You are offline\./)
          .count(),
      )
      .toBe(1);
    await send(d.page, `while offline ${dana}`);
    await expect
      .poll(() => messages(d.page, `while offline ${dana}`).textContent())
      .toContain('Waiting for the connection…');
    await d.context.setOffline(false);
    await expect
      .poll(() => messages(d.page, `while offline ${dana}`).textContent(), { timeout: 30_000 })
      .not.toContain('Waiting for the connection…');
    await d.page.screenshot({ path: 'test-results/conversation-phone.png' });

    // What was typed and not sent is still there after a reload (kept in the sealed store).
    await composer(d.page).fill(`a draft ${dana}\nsecond line`);
    await d.page.waitForTimeout(600);
    await d.page.reload();
    await expect.poll(() => typed(d.page)).toBe(`a draft ${dana}\nsecond line`);
    await send(d.page, `a draft ${dana}`);
    await d.page.reload();
    await sees(d.page, `a draft ${dana}`);
    expect(await typed(d.page)).toBe('');
  });

  it('delivers messages both ways in #general, a direct message and a protected channel, and after a lost connection', async () => {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const a = await suite.open();
    const b = await suite.open();

    // Bob's socket runs through a route the test can cut, as a network drop would.
    let bobOffline = false;
    const bobSockets = new Set<WebSocketRoute>();
    await b.context.routeWebSocket(/\/api\/ws$/, (ws) => {
      if (bobOffline) {
        void ws.close({ code: 4000, reason: 'offline' });
        return;
      }
      ws.connectToServer();
      bobSockets.add(ws);
    });

    await Promise.all([
      register(a.page, suite.server.origin, alice),
      register(b.page, suite.server.origin, bob),
    ]);

    // Both are in #general, which `/` opens.
    for (const { page } of [a, b]) {
      const general = rooms(page).getByRole('link', { name: 'general', exact: true });
      await general.waitFor();
      expect(await general.getAttribute('aria-current')).toBe('page');
      await conversation(page).getByRole('heading', { name: 'general' }).waitFor();
    }

    // Each device joins #general's encryption group by itself when it connects: talk once
    // both have (a message sent before a device joined is not for it).
    for (const { page } of [a, b])
      await expect
        .poll(() =>
          conversation(page)
            .getByRole('status', { name: /^Encryption: / })
            .textContent({ timeout: 1_000 })
            .catch(() => null),
        )
        .toMatch(/End-to-end encrypted|Verified/);

    // #general, both ways; Enter sends too, Shift+Enter makes a new line.
    await send(a.page, `hello from ${alice}`);
    await sees(b.page, `hello from ${alice}`);
    await composer(b.page).fill(`hi ${alice}`);
    await composer(b.page).press('Shift+Enter');
    await composer(b.page).pressSequentially('second line');
    await composer(b.page).press('Enter');
    await sees(a.page, 'second line');
    expect(await messages(a.page, 'second line').textContent()).toContain(
      `hi ${alice}\nsecond line`,
    );
    expect(await typed(b.page)).toBe('');

    // A direct message from the people picker: Bob sees it listed under Alice's name.
    await rooms(a.page).getByRole('button', { name: 'New direct message' }).click();
    const picker = a.page.getByRole('dialog', { name: 'New direct message' });
    await picker.getByRole('textbox', { name: 'Username' }).fill(bob.slice(0, 5));
    await picker.getByRole('button', { name: bob, exact: true }).click();
    await conversation(a.page).getByRole('heading', { name: bob }).waitFor();
    expect(await rooms(a.page).getByRole('link', { name: bob }).getAttribute('aria-current')).toBe(
      'page',
    );
    await send(a.page, `just between us, ${bob}`);

    const dm = rooms(b.page).getByRole('link', { name: alice, exact: true });
    await dm.click();
    await conversation(b.page).getByRole('heading', { name: alice }).waitFor();
    await sees(b.page, `just between us, ${bob}`);
    await send(b.page, 'agreed');
    await sees(a.page, 'agreed');

    // A protected channel: Bob finds it, a wrong password is refused, the right one lets him in.
    const channel = uniqueName('vault');
    const password = 'correct horse battery';
    await rooms(a.page).getByRole('button', { name: 'Create a channel' }).click();
    const create = a.page.getByRole('dialog', { name: 'Create a channel' });
    await create.getByRole('textbox', { name: 'Name' }).fill(channel);
    await create.getByRole('textbox', { name: 'Topic' }).fill('Plans nobody else should read');
    await create.getByRole('radio', { name: /Only with a password/ }).check();
    await create.getByLabel('Room password').fill(password);
    await create.getByRole('button', { name: 'Create channel' }).click();
    await conversation(a.page).getByRole('heading', { name: channel }).waitFor();
    await rooms(a.page).getByRole('link', { name: channel }).waitFor();

    await rooms(b.page).getByRole('button', { name: 'Browse channels' }).click();
    const directory = b.page.getByRole('dialog', { name: 'Browse channels' });
    await directory.getByRole('textbox', { name: 'Search channels' }).fill(channel);
    await directory.getByRole('button', { name: `Join ${channel}` }).click();
    await directory.getByLabel('Room password').fill('not the password');
    await directory.getByRole('button', { name: 'Join', exact: true }).click();
    await expect.poll(alertText(b.page)).toBe('Wrong room password.');
    expect(await rooms(b.page).getByRole('link', { name: channel }).count()).toBe(0);
    await directory.getByLabel('Room password').fill(password);
    await directory.getByRole('button', { name: 'Join', exact: true }).click();
    await conversation(b.page).getByRole('heading', { name: channel }).waitFor();
    await rooms(b.page).getByRole('link', { name: channel }).waitFor();
    expect(await b.page.getByRole('dialog').count()).toBe(0);

    await send(b.page, 'made it in');
    await sees(a.page, 'made it in');
    await sees(a.page, `${bob} joined`);
    await send(a.page, 'welcome aboard');
    await sees(b.page, 'welcome aboard');

    // Bob loses his connection while Alice writes, and writes one himself.
    bobOffline = true;
    await b.context.setOffline(true);
    for (const ws of bobSockets) await ws.close({ code: 4000, reason: 'offline' });
    bobSockets.clear();
    await conversation(b.page).getByRole('status').filter({ hasText: 'You are offline' }).waitFor();
    const missed = [1, 2, 3, 4, 5].map((n) => `while you were away ${n}`);
    for (const text of missed) {
      await send(a.page, text);
      await sees(a.page, text);
    }
    await send(b.page, 'sent from the tunnel');
    await messages(b.page, 'sent from the tunnel')
      .filter({ hasText: 'Waiting for the connection' })
      .waitFor();
    expect(await messages(b.page, 'while you were away').count()).toBe(0);

    bobOffline = false;
    await b.context.setOffline(false);
    await expect.poll(() => messages(b.page, 'while you were away').count()).toBe(missed.length);
    await sees(a.page, 'sent from the tunnel');
    await expect
      .poll(() =>
        conversation(b.page)
          .getByRole('status')
          .filter({ hasText: /Reconnecting|You are offline/ })
          .count(),
      )
      .toBe(0);
    // Everything once, in order, on both sides.
    const texts = async (page: Page) =>
      (await log(page).getByRole('listitem').allTextContents()).filter((text) =>
        /made it in|welcome aboard|while you were away|sent from the tunnel/.test(text),
      );
    const expected = ['made it in', 'welcome aboard', ...missed, 'sent from the tunnel'];
    for (const page of [a.page, b.page]) {
      const seen = await texts(page);
      expect(seen).toHaveLength(expected.length);
      seen.forEach((text, index) => expect(text).toContain(expected[index]));
    }
    // Nothing came twice, including Bob's own message re-sent after the reconnect.
    expect(await messages(b.page, 'sent from the tunnel').count()).toBe(1);
    expect(await messages(b.page, 'Sending').count()).toBe(0);
  });
});
