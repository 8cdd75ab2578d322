/**
 * Account security in real Chromium: an administrator's password-reset link, used by the
 * person it is for, who then signs in with the new password and talks again; their account
 * activity; signing out everywhere else; closing, reopening and deleting a room from the
 * console, followed at once by its members' open apps; and the admin audit log's filters.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  axeSerious,
  browserSuite,
  chromiumPath,
  register,
  screenshot,
  signIn,
  STRONG_PASSWORD,
  uniqueName,
} from './support/browser.js';
import { composer, conversation, encrypted, messages, rooms, send, sees } from './support/chat.js';

const NEW_PASSWORD = 'orange kettle hums beside 9 lanterns';

describe.skipIf(!chromiumPath())('account security', () => {
  const suite = browserSuite({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
  let setupLink = '';
  const admin = 'keeper';

  beforeAll(async () => {
    const line = await suite.server.waitForLog('/setup#token=');
    setupLink =
      /(http:\/\/localhost:\d+\/setup#token=[A-Za-z0-9_-]+)/.exec(line.msg ?? '')?.[1] ?? '';
  });

  /** The administrator, signed in (registered through the setup link the first time). */
  let adminRegistered = false;
  async function adminPage(): Promise<Page> {
    const { page } = await suite.open();
    if (!adminRegistered) {
      await page.goto(setupLink);
      await page.getByLabel('Username').fill(admin);
      await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
      await page.getByLabel('Confirm password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      adminRegistered = true;
    } else {
      await signIn(page, suite.server.origin, admin);
    }
    await conversation(page).waitFor();
    return page;
  }

  async function member(username: string): Promise<Page> {
    const { page } = await suite.open();
    await register(page, suite.server.origin, username);
    await conversation(page).waitFor();
    return page;
  }

  it('resets a password with a link: sessions end, the new password works, and chat goes on', async () => {
    const boss = await adminPage();
    const name = uniqueName('forgot');
    const forgetful = await member(name);
    await encrypted(forgetful, /End-to-end encrypted|Verified/);
    await send(forgetful, 'before the reset');
    await sees(boss, 'before the reset');

    // The administrator makes the link from the console.
    await boss.goto(`${suite.server.origin}/admin`);
    await boss.getByRole('button', { name: `Actions for ${name}` }).click();
    await boss.getByRole('menuitem', { name: 'Reset password…' }).click();
    const confirm = boss.getByRole('dialog', { name: `Make a password-reset link for ${name}?` });
    await confirm.getByText(/starts a new encryption key/).waitFor();
    await confirm.getByRole('button', { name: 'Make link' }).click();
    const field = boss.getByRole('textbox', { name: `Password-reset link for ${name}` });
    await field.waitFor();
    const link = await field.inputValue();
    expect(link).toMatch(new RegExp(`^${suite.server.origin}/reset#token=[A-Za-z0-9_-]{43}$`));

    // Whoever holds it sees whose password it resets and what a reset does, then sets one.
    const { page: opener } = await suite.open({ width: 390, height: 844 });
    await opener.goto(link);
    await opener.getByText(`This link sets a new password for ${name}.`).waitFor();
    await opener.getByRole('heading', { name: 'What a reset does' }).waitFor();
    await screenshot(opener, 'reset-page-phone');
    expect(await axeSerious(opener)).toEqual([]);
    await opener.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await opener.getByLabel('Confirm password').fill('not the same at all, sorry');
    await opener.getByRole('button', { name: 'Set new password' }).click();
    await opener.getByRole('alert').getByText('The passwords do not match.').waitFor();
    await opener.getByLabel('Confirm password').fill(NEW_PASSWORD);
    await opener.getByRole('button', { name: 'Set new password' }).click();
    await opener.getByRole('heading', { name: 'Your password was changed' }).waitFor();

    // The link is spent.
    await opener.goto(`${suite.server.origin}/about`);
    await opener.goto(link);
    await opener
      .getByRole('alert')
      .getByText(/does not work any more/)
      .waitFor();

    // The member's open session ended: the app goes back to sign-in.
    await forgetful.goto(`${suite.server.origin}/`);
    await forgetful.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(forgetful, suite.server.origin, name, STRONG_PASSWORD);
    await forgetful.getByRole('alert').getByText('Wrong username or password.').waitFor();
    await signIn(forgetful, suite.server.origin, name, NEW_PASSWORD);
    await conversation(forgetful).waitFor();
    await encrypted(forgetful, /End-to-end encrypted|Verified/);
    await send(forgetful, 'after the reset');
    await boss.goto(`${suite.server.origin}/`);
    await sees(boss, 'after the reset');
    // The administrator's device tells that the key is not the one it saw before.
    await conversation(boss)
      .getByText(`${name}’s safety number changed.`, { exact: false })
      .waitFor();
    await screenshot(boss, 'reset-seen-by-others');

    // Their account activity tells what happened, and who started it.
    await forgetful.goto(`${suite.server.origin}/activity`);
    const list = forgetful.getByRole('region', { name: 'Account activity' });
    await list.getByText('Password reset with a link').waitFor();
    const made = list.getByRole('listitem').filter({ hasText: 'Password-reset link made' });
    await made.getByText('by an administrator').waitFor();
    await list.getByText('Signed in').first().waitFor();
    expect(await axeSerious(forgetful)).toEqual([]);
    await screenshot(forgetful, 'activity-desktop');
  });

  it('signs out everywhere else from the devices page', async () => {
    const name = uniqueName('roamer');
    const first = await member(name);
    const { page: second } = await suite.open();
    await signIn(second, suite.server.origin, name);
    await conversation(second).waitFor();

    await first.goto(`${suite.server.origin}/devices`);
    await first.getByRole('button', { name: 'Sign out everywhere else' }).click();
    const dialog = first.getByRole('dialog', { name: 'Sign out everywhere else?' });
    await dialog.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await first.getByRole('status').getByText('Signed out of 1 other session.').waitFor();
    await screenshot(first, 'devices-signed-out-others');

    // The other browser is signed out (its socket closes at the next session check)...
    await second.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 20_000 });
    // ...and this one is not.
    await first.goto(`${suite.server.origin}/`);
    await conversation(first).waitFor();
  });

  it('closes, reopens and deletes a room from the console: its members’ apps follow at once', async () => {
    const name = uniqueName('lantern');
    const owner = await member(uniqueName('founder'));
    await rooms(owner).getByRole('button', { name: 'Create a channel' }).click();
    const create = owner.getByRole('dialog', { name: 'Create a channel' });
    await create.getByRole('textbox', { name: 'Name' }).fill(name);
    await create.getByRole('button', { name: 'Create channel' }).click();
    await conversation(owner).getByRole('heading', { name }).waitFor();
    await encrypted(owner, /End-to-end encrypted|Verified/);
    await send(owner, 'soon gone');

    const boss = await adminPage();
    await boss.goto(`${suite.server.origin}/admin`);
    const card = boss.getByRole('region', { name: 'Rooms' });
    await card.getByLabel('Channel name').fill(name);
    await card.getByRole('button', { name: 'Apply filters' }).click();
    const row = card.getByRole('list', { name: 'Rooms' }).getByRole('listitem');
    await expect.poll(() => row.count()).toBe(1);
    await row.getByText(`#${name}`).waitFor();
    await row.getByText('1 member', { exact: false }).waitFor();
    await screenshot(boss, 'admin-rooms-desktop');
    expect(await axeSerious(boss)).toEqual([]);

    // Closing: the owner's open app shows why, and the composer gives way to a note.
    await row.getByRole('button', { name: `Close #${name}` }).click();
    const closing = boss.getByRole('dialog', { name: `Close #${name}?` });
    await closing.getByText(/read-only archive/).waitFor();
    await closing.getByRole('button', { name: 'Close room' }).click();
    await card.getByRole('status').getByText(`#${name} was closed.`).waitFor();
    await row.getByText('Closed', { exact: true }).waitFor();
    const banner = conversation(owner).getByRole('region', { name: 'Room closed' });
    await banner.getByText(/closed by an administrator/).waitFor();
    await conversation(owner)
      .getByText('This room is closed: no one can send new messages.')
      .waitFor();
    expect(await composer(owner).count()).toBe(0);
    await sees(owner, 'soon gone');
    // Nothing is replied, reacted or edited there; deleting one's own message stays.
    const kept = messages(owner, 'soon gone');
    expect(await kept.getByRole('button', { name: 'Reply' }).count()).toBe(0);
    expect(await kept.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await kept.getByRole('button', { name: 'Delete' }).count()).toBe(1);
    expect(await axeSerious(owner)).toEqual([]);
    await screenshot(owner, 'room-closed-desktop');

    // Reopening gives the composer back, and messages go through again.
    await row.getByRole('button', { name: `Reopen #${name}` }).click();
    await boss
      .getByRole('dialog', { name: `Reopen #${name}?` })
      .getByRole('button', { name: 'Reopen room' })
      .click();
    await card.getByRole('status').getByText(`#${name} was reopened.`).waitFor();
    await banner.waitFor({ state: 'detached' });
    await expect.poll(() => kept.getByRole('button', { name: 'Reply' }).count()).toBe(1);
    await send(owner, 'back again');
    await sees(owner, 'back again');

    await row.getByRole('button', { name: `Delete #${name}` }).click();
    const dialog = boss.getByRole('dialog', { name: `Delete #${name}?` });
    await dialog.getByText(/can’t be undone/).waitFor();
    await dialog.getByRole('button', { name: 'Delete room' }).click();
    await card.getByRole('status').getByText(`#${name} was deleted.`).waitFor();
    await expect.poll(() => row.count()).toBe(0);

    // The owner's open app drops it without a reload.
    await expect.poll(() => rooms(owner).getByRole('link', { name }).count()).toBe(0);
  });

  it('filters the audit log by person and by kind of event', async () => {
    const boss = await adminPage();
    const name = uniqueName('audited');
    await member(name);
    await boss.goto(`${suite.server.origin}/admin`);
    const accounts = boss.getByRole('list', { name: 'Users' }).getByRole('listitem');
    await expect.poll(() => accounts.count()).toBeGreaterThan(1);
    await boss.getByLabel('Search accounts').fill(name.toUpperCase());
    await expect.poll(() => accounts.count()).toBe(1);
    await accounts.getByText(name).waitFor();
    const audit = boss.getByRole('region', { name: 'Audit log' });
    await audit.getByLabel('Username').fill(name);
    await audit.getByRole('button', { name: 'Apply filters' }).click();
    const rows = audit.getByRole('list', { name: 'Audit log' }).getByRole('listitem');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    const texts = await rows.allTextContents();
    expect(texts.every((text) => text.includes(`Account: ${name}`))).toBe(true);
    expect(texts.some((text) => text.includes('Account created'))).toBe(true);

    await audit.getByLabel('Username').fill('');
    await audit.getByLabel('Event').selectOption({ label: 'Password resets' });
    await audit.getByRole('button', { name: 'Apply filters' }).click();
    await expect
      .poll(async () =>
        (await rows.allTextContents()).every((t) => t.includes('reset.link_created')),
      )
      .toBe(true);
    expect(await rows.count()).toBeGreaterThan(0);
    expect(await axeSerious(boss)).toEqual([]);
    await screenshot(boss, 'admin-audit-desktop');

    // Deleting the account: asked first, then shown as deleted with nothing left to do to it.
    await boss.getByRole('button', { name: `Actions for ${name}` }).click();
    await boss.getByRole('menuitem', { name: 'Delete account…' }).click();
    const dialog = boss.getByRole('dialog', { name: `Delete ${name}’s account?` });
    await dialog.getByText(/Its messages stay in their conversations/).waitFor();
    await dialog.getByRole('button', { name: 'Delete account' }).click();
    await accounts.getByText('Deleted', { exact: true }).waitFor();
    expect(await boss.getByRole('button', { name: `Actions for ${name}` }).count()).toBe(0);
  });
});
