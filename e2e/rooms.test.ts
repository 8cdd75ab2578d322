/**
 * Rooms as people run them, in real browsers: a private group made with the people picker
 * (its end-to-end name seen by everyone invited), renamed from its settings; a moderator
 * named, who deletes someone else's message for everyone; a member removed, who loses the
 * room; an owner told to hand the room on before leaving, who does; the last one out told
 * the room goes with them. A protected channel joined from
 * a link, with a wrong then the right password; a public channel's link offers Join; a
 * channel's new name and topic reach its members. A profile card opens a direct message, and
 * Block stops that person's messages until Unblock (Settings › Blocked people). axe-core finds
 * nothing serious in the new dialogs; screenshots at desktop and phone widths are kept under
 * test-results/.
 */
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  alertText,
  axeSerious,
  browserSuite,
  chromiumPath,
  register,
  uniqueName,
} from './support/browser.js';
import { conversation, encrypted, messages, rooms, sees, send } from './support/chat.js';

const heading = (page: Page, name: string) =>
  conversation(page).getByRole('heading', { level: 1, name, exact: true });

async function moreActions(page: Page, item: string): Promise<void> {
  await conversation(page)
    .getByRole('button', { name: 'More actions for this conversation' })
    .click();
  await page.getByRole('menuitem', { name: item }).click();
}

/**
 * axe finds nothing serious, at 1280 px in the light theme and at 390 px in the dark one; the
 * page is kept as a screenshot of each.
 */
async function checkDialog(page: Page, name: string): Promise<void> {
  expect(await axeSerious(page)).toEqual([]);
  await page.screenshot({ path: `test-results/rooms-${name}-1280.png` });
  const size = page.viewportSize() ?? { width: 1280, height: 800 };
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(200);
  await page.screenshot({ path: `test-results/rooms-${name}-390-dark.png` });
  expect(await axeSerious(page)).toEqual([]);
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(size);
}

/** Pick `username` in a people picker by typing the start of it. */
async function pick(scope: Locator, field: string, username: string, button: string) {
  await scope.getByRole('textbox', { name: field }).fill(username.slice(0, -1));
  await scope.getByRole('button', { name: button, exact: true }).click();
}

describe.skipIf(!chromiumPath())('rooms in the browser', () => {
  const suite = browserSuite({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });

  async function people(...prefixes: string[]) {
    const made = await Promise.all(
      prefixes.map(async (prefix) => {
        const name = uniqueName(prefix);
        const tab = await suite.open();
        await register(tab.page, suite.server.origin, name);
        await heading(tab.page, 'general').waitFor();
        return { name, ...tab };
      }),
    );
    return made;
  }

  it('makes a private group with invited people, renames it, names a moderator who deletes a message, removes a member, hands ownership on, and leaves', async () => {
    const [alice, bob, carol] = await people('alice', 'bob', 'carol');
    if (!alice || !bob || !carol) throw new Error('three people');
    const group = `Plans ${alice.name}`;

    // Alice creates the group with Bob and Carol picked in the people picker.
    await rooms(alice.page).getByRole('button', { name: 'Create a private group' }).click();
    const create = alice.page.getByRole('dialog', { name: 'Create a private group' });
    await create.getByRole('textbox', { name: 'Group name' }).fill(group);
    await create.getByRole('textbox', { name: 'Topic' }).fill('Where we go next');
    await pick(create, 'Invite people', bob.name, `Add ${bob.name}`);
    await pick(create, 'Invite people', carol.name, `Add ${carol.name}`);
    await create.getByRole('button', { name: `Remove ${carol.name}` }).waitFor();
    await checkDialog(alice.page, 'create-group');
    await create.getByRole('button', { name: 'Create group' }).click();
    await heading(alice.page, group).waitFor({ timeout: 30_000 });
    await conversation(alice.page).getByText('Where we go next').waitFor();

    // Both invited people see the group by its name (end-to-end content) and can talk in it.
    for (const { page } of [bob, carol]) {
      const link = rooms(page).getByRole('link', { name: group });
      await link.waitFor({ timeout: 30_000 });
      await link.click();
      await heading(page, group).waitFor();
      await encrypted(page, /End-to-end encrypted|Verified/);
    }
    await send(bob.page, `hello group from ${bob.name}`);
    await sees(alice.page, `hello group from ${bob.name}`);
    await sees(carol.page, `hello group from ${bob.name}`);
    await send(carol.page, `carol was here ${carol.name}`);
    await sees(alice.page, `carol was here ${carol.name}`);
    await sees(bob.page, `carol was here ${carol.name}`);

    // Bob is a member: the settings are read-only to him.
    await moreActions(bob.page, 'Room settings…');
    const bobSettings = bob.page.getByRole('dialog', { name: `Settings of ${group}` });
    await bobSettings
      .getByText('Only the owner and moderators can change these settings.')
      .waitFor();
    await bobSettings.getByRole('button', { name: 'Close' }).first().click();

    // Alice renames the group and changes its topic; everyone sees it.
    const renamed = `Trip ${alice.name}`;
    await moreActions(alice.page, 'Room settings…');
    const settings = alice.page.getByRole('dialog', { name: /^Settings of / });
    await checkDialog(alice.page, 'settings');
    await settings.getByRole('textbox', { name: 'Group name' }).fill(renamed);
    await settings.getByRole('textbox', { name: 'Topic' }).fill('Leaving on Friday');
    await settings.getByRole('button', { name: 'Save changes' }).click();
    await settings.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
    for (const { page } of [alice, bob, carol]) {
      await heading(page, renamed).waitFor({ timeout: 20_000 });
      await conversation(page).getByText('Leaving on Friday', { exact: true }).waitFor();
      await rooms(page).getByRole('link', { name: renamed }).waitFor();
    }

    // Alice makes Bob a moderator.
    await settings.getByRole('tab', { name: /Members/ }).click();
    await settings.getByRole('button', { name: `Actions for ${bob.name}` }).click();
    await alice.page.screenshot({
      path: 'test-results/rooms-settings-member-menu-1280.png',
      animations: 'disabled',
    });
    await alice.page.getByRole('menuitem', { name: 'Make moderator' }).click();
    await settings
      .getByRole('listitem')
      .filter({ hasText: bob.name })
      .getByText('moderator', { exact: true })
      .waitFor();
    await alice.page.screenshot({ path: 'test-results/rooms-settings-members-1280.png' });
    await settings.getByRole('button', { name: 'Close' }).first().click();
    await sees(bob.page, `${alice.name} made ${bob.name} a moderator`);

    // Bob, a moderator now, deletes Carol's message: the same code confirms it, and it is gone
    // for everyone.
    const carols = messages(bob.page, `carol was here ${carol.name}`);
    await carols.hover();
    await carols.getByRole('button', { name: 'Delete' }).click();
    const confirm = bob.page.getByRole('dialog', { name: 'Delete this message?' });
    await confirm.getByText(`You are deleting ${carol.name}’s message as a moderator`).waitFor();
    const code = (await confirm.locator('strong.code').textContent()) ?? '';
    await confirm.getByRole('textbox', { name: 'Confirmation code' }).fill(code);
    await confirm.getByRole('button', { name: 'Delete message' }).click();
    for (const { page } of [alice, bob, carol])
      await expect
        .poll(() => messages(page, `carol was here ${carol.name}`).count(), { timeout: 20_000 })
        .toBe(0);
    // Carol, a member, is offered no Delete on others' messages.
    const bobs = messages(carol.page, `hello group from ${bob.name}`);
    await bobs.hover();
    expect(await bobs.getByRole('button', { name: 'Delete' }).count()).toBe(0);

    // Bob removes Carol (after confirming): she loses the room.
    await moreActions(bob.page, 'Room settings…');
    const bobs2 = bob.page.getByRole('dialog', { name: `Settings of ${renamed}` });
    await bobs2.getByRole('tab', { name: /Members/ }).click();
    // A moderator can't touch the owner.
    await bobs2.getByRole('listitem').filter({ hasText: alice.name }).waitFor();
    expect(await bobs2.getByRole('button', { name: `Actions for ${alice.name}` }).count()).toBe(0);
    await bobs2.getByRole('button', { name: `Actions for ${carol.name}` }).click();
    await bob.page.getByRole('menuitem', { name: 'Remove from room…' }).click();
    const kick = bob.page.getByRole('dialog', { name: `Remove ${carol.name} from the room?` });
    await kick.getByRole('button', { name: 'Remove' }).click();
    await bobs2
      .getByRole('listitem')
      .filter({ hasText: carol.name })
      .waitFor({ state: 'detached' });
    await bobs2.getByRole('button', { name: 'Close' }).first().click();
    await expect
      .poll(() => rooms(carol.page).getByRole('link', { name: renamed }).count(), {
        timeout: 20_000,
      })
      .toBe(0);
    await sees(alice.page, `${bob.name} removed ${carol.name}`);

    // Alice, the owner, is told to hand the room on before she can leave it.
    await moreActions(alice.page, 'Leave room…');
    const ownerBlocked = alice.page.getByRole('dialog', { name: `Leave ${renamed}?` });
    await ownerBlocked.getByText(/You own this room, so you can’t leave it yet/).waitFor();
    expect(await ownerBlocked.getByRole('button', { name: 'Leave', exact: true }).count()).toBe(0);
    await ownerBlocked.getByRole('button', { name: 'Close' }).last().click();

    // She makes Bob the owner (after confirming), becoming a moderator; then she can leave.
    await moreActions(alice.page, 'Room settings…');
    const handOn = alice.page.getByRole('dialog', { name: `Settings of ${renamed}` });
    await handOn.getByRole('tab', { name: /Members/ }).click();
    await handOn.getByRole('button', { name: `Actions for ${bob.name}` }).click();
    await alice.page.getByRole('menuitem', { name: 'Make owner…' }).click();
    const transfer = alice.page.getByRole('dialog', { name: `Make ${bob.name} the owner?` });
    await transfer.getByRole('button', { name: 'Make owner' }).click();
    await handOn
      .getByRole('listitem')
      .filter({ hasText: alice.name })
      .getByText('moderator', { exact: true })
      .waitFor();
    await handOn.getByRole('button', { name: 'Close' }).first().click();
    await sees(bob.page, `${alice.name} made ${bob.name} the owner`);

    await moreActions(alice.page, 'Leave room…');
    const leave = alice.page.getByRole('dialog', { name: `Leave ${renamed}?` });
    await leave.getByText(/This device forgets the conversation/).waitFor();
    await leave.getByRole('button', { name: 'Leave', exact: true }).click();
    await heading(alice.page, 'general').waitFor();
    expect(await rooms(alice.page).getByRole('link', { name: renamed }).count()).toBe(0);
    await sees(bob.page, `${alice.name} left`);

    // Alone now, Bob is told that leaving deletes the room.
    await moreActions(bob.page, 'Leave room…');
    const lastOut = bob.page.getByRole('dialog', { name: `Leave ${renamed}?` });
    await lastOut.getByText(/You are the last member: leaving deletes the room/).waitFor();
    await lastOut.getByRole('button', { name: 'Leave', exact: true }).click();
    await heading(bob.page, 'general').waitFor();
    expect(await rooms(bob.page).getByRole('link', { name: renamed }).count()).toBe(0);
  });

  it('joins a protected channel from a link with a wrong then the right password, offers Join on a public channel’s link, and shows a channel’s new name and topic', async () => {
    const [alice, bob] = await people('alice', 'bob');
    if (!alice || !bob) throw new Error('two people');

    // A protected channel, made in the new-conversation dialog.
    const vault = uniqueName('vault');
    const password = 'correct horse battery';
    await rooms(alice.page).getByRole('button', { name: 'Create a channel' }).click();
    const create = alice.page.getByRole('dialog', { name: 'Create a channel' });
    await create.getByRole('textbox', { name: 'Name' }).fill(vault);
    await create.getByRole('radio', { name: /Only with a password/ }).check();
    await create.getByLabel('Room password').fill(password);
    await checkDialog(alice.page, 'create-channel');
    await create.getByRole('button', { name: 'Create channel' }).click();
    await heading(alice.page, vault).waitFor();
    const vaultUrl = alice.page.url();
    expect(vaultUrl).toMatch(/\/rooms\/[^/]+$/);

    // Bob opens its link: not a member, so the page asks for the password.
    await bob.page.goto(vaultUrl);
    const main = conversation(bob.page);
    await main.getByRole('heading', { name: `#${vault}` }).waitFor();
    await bob.page.setViewportSize({ width: 390, height: 844 });
    await bob.page.waitForTimeout(400);
    await bob.page.screenshot({
      path: 'test-results/rooms-join-protected-390.png',
      animations: 'disabled',
    });
    await bob.page.setViewportSize({ width: 1280, height: 800 });
    await main.getByLabel('Room password').fill('not the password');
    await main.getByRole('button', { name: 'Join channel' }).click();
    await expect.poll(() => main.getByText('Wrong room password.').count()).toBe(1);
    await main.getByLabel('Room password').fill(password);
    await main.getByRole('button', { name: 'Join channel' }).click();
    await heading(bob.page, vault).waitFor();
    await rooms(bob.page).getByRole('link', { name: vault }).waitFor();
    await sees(alice.page, `${bob.name} joined`);

    // A public channel's link offers Join.
    const lobby = uniqueName('lobby');
    await rooms(alice.page).getByRole('button', { name: 'Create a channel' }).click();
    const again = alice.page.getByRole('dialog', { name: 'Create a channel' });
    await again.getByRole('textbox', { name: 'Name' }).fill(lobby);
    await again.getByRole('textbox', { name: 'Topic' }).fill('Everyone welcome');
    await again.getByRole('button', { name: 'Create channel' }).click();
    await heading(alice.page, lobby).waitFor();
    await bob.page.goto(alice.page.url());
    await main.getByRole('heading', { name: `#${lobby}` }).waitFor();
    await main.getByText('Everyone welcome').waitFor();
    await bob.page.screenshot({ path: 'test-results/rooms-join-link-1280.png' });
    expect(await axeSerious(bob.page)).toEqual([]);
    await main.getByRole('button', { name: 'Join channel' }).click();
    await heading(bob.page, lobby).waitFor();
    await encrypted(bob.page, /End-to-end encrypted|Verified/);

    // Alice renames it and changes its topic: Bob sees both.
    const renamed = uniqueName('hall');
    await moreActions(alice.page, 'Room settings…');
    const settings = alice.page.getByRole('dialog', { name: /^Settings of #/ });
    await settings.getByRole('textbox', { name: 'Name' }).fill(renamed);
    await settings.getByRole('textbox', { name: 'Topic' }).fill('Now with a new name');
    await settings.getByRole('button', { name: 'Save changes' }).click();
    await settings.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
    await settings.getByRole('button', { name: 'Close' }).first().click();
    await heading(bob.page, renamed).waitFor({ timeout: 20_000 });
    await conversation(bob.page).getByText('Now with a new name', { exact: true }).waitFor();
    await rooms(bob.page).getByRole('link', { name: renamed }).waitFor();

    // A channel name that is taken is refused in words.
    await moreActions(alice.page, 'Room settings…');
    const taken = alice.page.getByRole('dialog', { name: /^Settings of #/ });
    await taken.getByRole('textbox', { name: 'Name' }).fill(vault);
    await taken.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(alertText(alice.page)).toBe('A channel with that name already exists.');
  });

  it('opens a direct message from a profile card, and Block stops that person’s messages until Unblock', async () => {
    const [alice, bob] = await people('alice', 'bob');
    if (!alice || !bob) throw new Error('two people');
    for (const { page } of [alice, bob]) await encrypted(page, /End-to-end encrypted|Verified/);
    await send(alice.page, `morning from ${alice.name}`);
    await sees(bob.page, `morning from ${alice.name}`);

    // Bob clicks Alice's name on her message: her card.
    await messages(bob.page, `morning from ${alice.name}`)
      .getByRole('button', { name: alice.name, exact: true })
      .click();
    const card = bob.page.getByRole('dialog', { name: alice.name });
    await card.getByText('Not verified').waitFor();
    await checkDialog(bob.page, 'profile-card');
    await card.getByRole('button', { name: 'Message' }).click();
    await heading(bob.page, alice.name).waitFor();
    await send(bob.page, `psst ${bob.name}`);
    await rooms(alice.page).getByRole('link', { name: bob.name }).click();
    await sees(alice.page, `psst ${bob.name}`);

    // Alice opens Bob's card from the members panel and blocks him.
    await conversation(alice.page)
      .getByRole('button', { name: /^Members/ })
      .click();
    await alice.page
      .getByRole('complementary', { name: 'Members' })
      .getByRole('button', { name: new RegExp(`^${bob.name}\\s*,`) })
      .click();
    const bobCard = alice.page.getByRole('dialog', { name: bob.name });
    await bobCard.getByRole('button', { name: 'Block' }).click();
    await bobCard.getByText(`You blocked ${bob.name}.`).waitFor();
    await bobCard.getByRole('button', { name: 'Unblock' }).waitFor();
    await bobCard.getByRole('button', { name: 'Close' }).first().click();

    // Bob's next message is refused, and he can't start a new direct room with her either.
    await send(bob.page, `are you there ${bob.name}`);
    await expect
      .poll(() => messages(bob.page, `are you there ${bob.name}`).textContent(), {
        timeout: 20_000,
      })
      .toContain('This person is not accepting that from you.');
    expect(await messages(alice.page, `are you there ${bob.name}`).count()).toBe(0);

    // Settings › Blocked people lists him, with Unblock.
    await alice.page.goto(`${suite.server.origin}/settings`);
    const blocked = alice.page.getByRole('region', { name: 'Blocked people' });
    await blocked.getByText(bob.name, { exact: true }).waitFor();
    await alice.page.screenshot({ path: 'test-results/rooms-blocked-1280.png', fullPage: true });
    await blocked.getByRole('button', { name: `Unblock ${bob.name}` }).click();
    await blocked.getByText('You have not blocked anyone.').waitFor();

    // Unblocked: his retry goes through.
    await messages(bob.page, `are you there ${bob.name}`)
      .getByRole('button', { name: 'Retry' })
      .click();
    await rooms(alice.page).getByRole('link', { name: bob.name }).click();
    await sees(alice.page, `are you there ${bob.name}`);
  });
});
