/**
 * The conversation screen as a person finds it — by roles and accessible names only — and the
 * few things every browser test does there.
 */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

export const rooms = (page: Page) => page.getByRole('navigation', { name: 'Rooms' });
export const conversation = (page: Page) => page.getByRole('main', { name: 'Conversation' });
export const log = (page: Page) => conversation(page).getByRole('log', { name: 'Messages' });
/** The rows of the log that contain `text` (the list is virtualized: rows near the view). */
export const messages = (page: Page, text: string) =>
  log(page).getByRole('listitem').filter({ hasText: text });
export const composer = (page: Page) =>
  conversation(page).getByRole('textbox', { name: 'Message' });
const encryption = (page: Page) =>
  conversation(page).getByRole('status', { name: /^Encryption: / });

/** Type `text` and press Send. */
export async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await conversation(page).getByRole('button', { name: 'Send' }).click();
}

/** Wait until exactly one message with `text` is shown. */
export async function sees(page: Page, text: string, timeout = 20_000): Promise<void> {
  await expect.poll(() => messages(page, text).count(), { timeout }).toBe(1);
}

/** Wait until the conversation says it is end-to-end encrypted (or `state`). */
export async function encrypted(
  page: Page,
  state: string | RegExp = 'End-to-end encrypted',
): Promise<void> {
  await expect
    .poll(
      () =>
        encryption(page)
          .textContent({ timeout: 1_000 })
          .catch(() => null),
      { timeout: 30_000 },
    )
    .toMatch(state);
}
