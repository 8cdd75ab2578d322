/**
 * Where a message stands and where reading left off, in real Chromium: a sender sees "Sent",
 * then "Delivered" once the other person's device holds it, then "Read" and "Seen by …" once
 * they look; a reader coming back finds a "New messages" line before what they missed; with
 * read receipts turned off, the sender sees delivery only. And a long history (hundreds of
 * messages, sent by a Node client) is a virtualized list: only the rows near the view are in
 * the page, the reader scrolls back to the first message and jumps back to the newest.
 */
import { GENERAL_ROOM_ID } from '@securechat/protocol';
import { createClient, openMemoryStore, type Conversations } from '@securechat/sdk';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  browserSuite,
  chromiumPath,
  register,
  screenshot,
  STRONG_PASSWORD,
  uniqueName,
} from './support/browser.js';
import { composer, conversation, log, messages, rooms } from './support/chat.js';
import { until } from '../test-support/until.js';

async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press('Enter');
  await expect.poll(() => messages(page, text).count()).toBe(1);
}

/** The state of `page`'s own message `text`: Sent, Delivered or Read. */
const stateOf = (page: Page, text: string) =>
  messages(page, text)
    .locator('.msg-state')
    .getAttribute('title', { timeout: 2_000 })
    .catch(() => null);

describe.skipIf(!chromiumPath())('receipts and long histories in the browser', () => {
  const suite = browserSuite({
    RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
    RATE_LIMIT_REGISTRATIONS_PER_HOUR: '1000',
  });
  const clients: Conversations[] = [];
  afterAll(async () => {
    for (const client of clients) await client.close();
  });

  async function person(name: string) {
    const opening = await suite.open();
    await register(opening.page, suite.server.origin, name);
    await conversation(opening.page).getByRole('heading', { name: 'general' }).waitFor();
    return opening.page;
  }

  it('shows sent, delivered and read, who has seen what, and where new messages begin', async () => {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const a = await person(alice);
    const b = await person(bob);

    // Alice starts a direct conversation with Bob.
    await rooms(a).getByRole('button', { name: 'New direct message' }).click();
    const picker = a.getByRole('dialog', { name: 'New direct message' });
    await picker.getByRole('textbox', { name: 'Username' }).fill(bob.slice(0, 5));
    await picker.getByRole('button', { name: bob, exact: true }).click();
    await conversation(a).getByRole('heading', { name: bob }).waitFor();
    await send(a, 'first, before you look');
    // Bob's browser holds it (he is in #general): delivered, not read.
    await expect
      .poll(() => stateOf(a, 'first, before you look'), { timeout: 15_000 })
      .toBe('Delivered');
    expect(
      await log(a)
        .getByText(/^Seen by/)
        .count(),
    ).toBe(0);

    // Bob opens it: read, and Alice sees who has seen it.
    await rooms(b).getByRole('link', { name: alice, exact: true }).click();
    await expect.poll(() => messages(b, 'first, before you look').count()).toBe(1);
    await expect.poll(() => stateOf(a, 'first, before you look'), { timeout: 15_000 }).toBe('Read');
    // In a direct conversation "Read" says it all: no "Seen by" line.
    expect(
      await log(a)
        .getByText(/^Seen by/)
        .count(),
    ).toBe(0);
    // Bob's own view has no state on Alice's message.
    expect(await messages(b, 'first, before you look').locator('.msg-state').count()).toBe(0);

    // Bob looks elsewhere; Alice writes three more. Back in the conversation, a "New
    // messages" line stands right before the first he missed.
    await rooms(b)
      .getByRole('link', { name: /general/ })
      .click();
    await conversation(b).getByRole('heading', { name: 'general' }).waitFor();
    // In #general, where Bob is looking, Alice sees who has seen her message.
    await rooms(a)
      .getByRole('link', { name: /general/ })
      .click();
    await conversation(a).getByRole('heading', { name: 'general' }).waitFor();
    await send(a, 'hello everyone');
    await log(a).getByText(`Seen by ${bob}`).waitFor({ timeout: 15_000 });
    await rooms(a)
      .getByRole('link', { name: new RegExp(`^${bob}`) })
      .click();
    await conversation(a).getByRole('heading', { name: bob }).waitFor();
    for (const n of [1, 2, 3]) await send(a, `missed ${n}`);
    await rooms(b)
      .getByRole('link', { name: new RegExp(`^${alice}`) })
      .click();
    await expect.poll(() => messages(b, 'missed 3').count()).toBe(1);
    const order = await log(b)
      .getByRole('listitem')
      .evaluateAll((rows) => rows.map((row) => row.textContent ?? ''));
    const line = order.findIndex((text) => text === 'New messages');
    expect(line).toBeGreaterThan(-1);
    expect(order[line + 1]).toContain('missed 1');
    expect(order.slice(0, line).some((text) => text.includes('first, before you look'))).toBe(true);
    await expect.poll(() => stateOf(a, 'missed 3'), { timeout: 15_000 }).toBe('Read');
    // The state is spelled out on the newest of Alice's messages only.
    expect(await messages(a, 'missed 3').locator('.msg-state-word').textContent()).toBe('Read');
    expect(await messages(a, 'missed 1').locator('.msg-state-word').count()).toBe(0);
    await screenshot(a, 'receipts-sender-desktop');
    await screenshot(b, 'receipts-reader-desktop');
    await a.setViewportSize({ width: 390, height: 800 });
    await b.setViewportSize({ width: 390, height: 800 });
    await screenshot(a, 'receipts-sender-phone');
    await screenshot(b, 'receipts-reader-phone');
    await a.setViewportSize({ width: 1280, height: 800 });
    await b.setViewportSize({ width: 1280, height: 800 });

    // Bob turns read receipts off: Alice's next message is delivered, never read.
    await b.getByRole('button', { name: /account menu/ }).click();
    await b.getByRole('menuitem', { name: 'Settings' }).click();
    const receipts = b.getByRole('checkbox', { name: 'Send read receipts' });
    expect(await receipts.isChecked()).toBe(true);
    await receipts.uncheck();
    await rooms(b)
      .getByRole('link', { name: new RegExp(`^${alice}`) })
      .click();
    await send(a, 'quietly read');
    await expect.poll(() => messages(b, 'quietly read').count()).toBe(1);
    await expect.poll(() => stateOf(a, 'quietly read'), { timeout: 15_000 }).toBe('Delivered');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await stateOf(a, 'quietly read')).toBe('Delivered');
    // Bob still sees his own messages' states: sending receipts and seeing them are separate.
    await send(b, 'still here');
    await expect.poll(() => stateOf(b, 'still here'), { timeout: 15_000 }).toBe('Read');
  });

  it('keeps only the rows near the view in the page, scrolls back to the first message and jumps to the newest', async () => {
    const carol = uniqueName('carol');
    const page = await person(carol);
    // A Node client fills #general (Carol is already in it, so her device can read it all).
    const writer = uniqueName('writer');
    const client = createClient({ baseUrl: suite.server.origin, WebSocket });
    const me = await client.register({ username: writer, password: STRONG_PASSWORD });
    const c = await client.conversations({ store: openMemoryStore(), userId: me.user.id });
    clients.push(c);
    await until(() => c.state === 'open', 'the writer to connect');
    const COUNT = 240;
    for (let i = 0; i < COUNT; i += 1) {
      await c.sendText(GENERAL_ROOM_ID, `history line ${String(i).padStart(3, '0')}`);
      // Under the per-device send rate.
      await new Promise((resolve) => setTimeout(resolve, 55));
    }
    const last = `history line ${COUNT - 1}`;
    await expect.poll(() => messages(page, last).count(), { timeout: 30_000 }).toBe(1);
    // Only a window of rows is in the page, not all of them.
    const rows = await log(page).locator('.messages > li').count();
    expect(rows).toBeGreaterThan(5);
    expect(rows).toBeLessThan(COUNT / 2);

    // Scrolling up reveals "Jump to the newest messages", and in the end the first line.
    const scroller = log(page);
    const jump = conversation(page).getByRole('button', { name: 'Jump to the newest messages' });
    expect(await jump.count()).toBe(0);
    await expect
      .poll(
        async () => {
          await scroller.evaluate((element) => element.scrollBy(0, -4_000));
          return messages(page, 'history line 000').count();
        },
        { timeout: 30_000 },
      )
      .toBe(1);
    await jump.waitFor();
    expect(await messages(page, last).count()).toBe(0);
    expect(await log(page).locator('.messages > li').count()).toBeLessThan(COUNT / 2);
    await jump.click();
    await expect.poll(() => messages(page, last).count()).toBe(1);
    await expect.poll(() => jump.count()).toBe(0);
  });
});
