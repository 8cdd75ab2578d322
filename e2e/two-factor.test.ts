/**
 * Two-factor sign-in in real Chromium: setting up an authenticator app in Settings (the codes
 * computed here with otpauth from the key the page shows as text), signing in with a code and
 * with a recovery code, the account activity that records it; passkeys registered and used
 * through Chromium's virtual authenticator (DevTools protocol), so the real WebAuthn API runs;
 * and a server that requires two-factor sending a new account to enrolment before its first
 * session.
 */
import { Secret, TOTP } from 'otpauth';
import type { CDPSession, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  alertText,
  axeSerious,
  browserSuite,
  chromiumPath,
  register,
  screenshot,
  signIn,
  signOut,
  STRONG_PASSWORD,
  uniqueName,
} from './support/browser.js';
import { conversation } from './support/chat.js';

const PERIOD_MS = 30_000;

/** The code an authenticator app shows `steps` time steps from now. */
function codeFor(secret: string, steps = 0): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    timestamp: Date.now() + steps * PERIOD_MS,
  });
}

/** The key the enrolment shows as text (grouped by four for reading). */
async function shownSecret(page: Page): Promise<string> {
  const key = page.getByLabel('Or enter this key by hand');
  await key.waitFor();
  const text = await key.inputValue();
  const secret = text.replace(/\s/g, '');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  return secret;
}

/** The recovery codes shown once after enrolment. */
async function shownRecoveryCodes(page: Page): Promise<string[]> {
  const list = page.getByRole('list', { name: 'Recovery codes' });
  await list.waitFor();
  const codes = (await list.getByRole('listitem').allTextContents()).map((c) => c.trim());
  expect(codes).toHaveLength(10);
  for (const code of codes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
  return codes;
}

describe.skipIf(!chromiumPath())('two-factor sign-in', () => {
  const suite = browserSuite({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });

  it('sets up an authenticator app in Settings, then signs in with a code and a recovery code', async () => {
    const { page } = await suite.open();
    const name = uniqueName('twofa');
    await register(page, suite.server.origin, name);
    await conversation(page).waitFor();

    await page.goto(`${suite.server.origin}/settings`);
    const card = page.getByRole('region', { name: 'Two-factor sign-in' });
    await card.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const qr = card.getByRole('img', { name: 'QR code to add SecureChat to an authenticator app' });
    await qr.waitFor();
    // The QR code is a data: image, which the CSP allows; it decoded (has a size).
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    expect(await qr.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(100);
    const secret = await shownSecret(page);
    await card.scrollIntoViewIfNeeded();
    await screenshot(page, 'two-factor-enrolment');
    expect(await axeSerious(page)).toEqual([]);

    // A wrong code is refused; the right one turns it on and shows the recovery codes once.
    const wrong = String((Number(codeFor(secret)) + 1) % 1_000_000).padStart(6, '0');
    await card.getByLabel('Code from the app').fill(wrong);
    await card.getByRole('button', { name: 'Turn on' }).click();
    await expect.poll(alertText(page)).toMatch(/not right/);
    await card.getByLabel('Code from the app').fill(codeFor(secret));
    await card.getByRole('button', { name: 'Turn on' }).click();
    const codes = await shownRecoveryCodes(page);
    await screenshot(page, 'two-factor-recovery-codes');
    expect(await axeSerious(page)).toEqual([]);
    await card.getByRole('button', { name: 'I have saved my recovery codes' }).click();
    await card.getByText('10 unused recovery codes left.').waitFor();

    // Signing in now asks for the code after the password, with no session before it.
    await signOut(page);
    await signIn(page, suite.server.origin, name);
    await page.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor();
    const session = await page.evaluate(async () => (await fetch('/api/auth/session')).status);
    expect(session).toBe(401);
    await screenshot(page, 'two-factor-sign-in');
    expect(await axeSerious(page)).toEqual([]);
    await page.getByLabel('Code from the app').fill('000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(alertText(page)).toMatch(/not right/);
    // The enrolment spent this time step's code: the app's next code is the one to use.
    await page.getByLabel('Code from the app').fill(codeFor(secret, 1));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await conversation(page).waitFor();

    // Lost phone: a recovery code, typed loosely, signs in once.
    await signOut(page);
    await signIn(page, suite.server.origin, name);
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    const loose = ` ${(codes[0] ?? '').toUpperCase().replace('-', ' ')} `;
    await page.getByLabel('Recovery code').fill(loose);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await conversation(page).waitFor();

    // Both show on the account activity page.
    await page.goto(`${suite.server.origin}/activity`);
    const activity = page.getByRole('region', { name: 'Account activity' });
    await activity.getByText('Authenticator app turned on').waitFor();
    await activity.getByText('Recovery code used').waitFor();
    await activity
      .getByText(/Wrong two-factor code/)
      .first()
      .waitFor();

    // Settings says one code is spent.
    await page.goto(`${suite.server.origin}/settings`);
    await page.getByText('9 unused recovery codes left.').waitFor();
  });
});

/**
 * A platform authenticator in this page's browser context, as a laptop's fingerprint reader
 * would be: CTAP2, internal transport, resident keys, user verification that succeeds.
 */
async function virtualAuthenticator(
  page: Page,
  session?: CDPSession,
): Promise<{ cdp: CDPSession; id: string }> {
  const cdp = session ?? (await page.context().newCDPSession(page));
  if (!session) await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  return { cdp, id: authenticatorId };
}

describe.skipIf(!chromiumPath())('two-factor removed by an administrator', () => {
  const suite = browserSuite({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });

  it('removes a member’s second factor from the admin console; the password alone signs in', async () => {
    const line = await suite.server.waitForLog('/setup#token=');
    const setupLink = /(http:\/\/localhost:\d+\/setup#token=[A-Za-z0-9_-]+)/.exec(
      line.msg ?? '',
    )?.[1];
    const { page: boss } = await suite.open();
    await boss.goto(setupLink ?? '');
    await boss.getByLabel('Username').fill('warden');
    await boss.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
    await boss.getByLabel('Confirm password').fill(STRONG_PASSWORD);
    await boss.getByRole('button', { name: 'Create account' }).click();
    await conversation(boss).waitFor();

    // A member turns on the authenticator app, then loses the phone.
    const { page } = await suite.open();
    const name = uniqueName('lost');
    await register(page, suite.server.origin, name);
    await conversation(page).waitFor();
    await page.goto(`${suite.server.origin}/settings`);
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = await shownSecret(page);
    await page.getByLabel('Code from the app').fill(codeFor(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await shownRecoveryCodes(page);
    await page.getByRole('button', { name: 'I have saved my recovery codes' }).click();
    await signOut(page);

    await boss.goto(`${suite.server.origin}/admin`);
    const row = boss.getByRole('listitem').filter({ hasText: name });
    await row.getByText('2FA').waitFor();
    await boss.getByRole('button', { name: `Actions for ${name}` }).click();
    await boss.getByRole('menuitem', { name: 'Remove two-factor' }).click();
    const dialog = boss.getByRole('dialog', { name: `Remove ${name}’s two-factor sign-in?` });
    await dialog.getByRole('button', { name: 'Remove two-factor' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => row.getByText('2FA').count()).toBe(0);

    await signIn(page, suite.server.origin, name);
    await conversation(page).waitFor();
    await page.goto(`${suite.server.origin}/activity`);
    await page
      .getByRole('region', { name: 'Account activity' })
      .getByText('Two-factor sign-in removed')
      .waitFor();
  });
});

describe.skipIf(!chromiumPath())('passkeys', () => {
  const suite = browserSuite({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });

  it('registers two named passkeys, signs in with one, renames and removes them', async () => {
    const { page } = await suite.open();
    const authenticator = await virtualAuthenticator(page);
    const name = uniqueName('passkey');
    await register(page, suite.server.origin, name);
    await conversation(page).waitFor();

    await page.goto(`${suite.server.origin}/settings`);
    const card = page.getByRole('region', { name: 'Passkeys' });
    await card.getByText('No passkeys yet.').waitFor();
    await card.getByLabel('Name for the new passkey').fill('Laptop');
    await card.getByRole('button', { name: 'Add a passkey' }).click();
    await card.getByText('Passkey “Laptop” added.', { exact: false }).waitFor();
    // The same authenticator can't hold two for one account (the server excludes it)…
    await card.getByLabel('Name for the new passkey').fill('Again');
    await card.getByRole('button', { name: 'Add a passkey' }).click();
    await expect.poll(alertText(page)).toMatch(/already holds a passkey/);
    // …a second one (a security key) can; the laptop's is left behind.
    await authenticator.cdp.send('WebAuthn.removeVirtualAuthenticator', {
      authenticatorId: authenticator.id,
    });
    authenticator.id = (await virtualAuthenticator(page, authenticator.cdp)).id;
    await card.getByLabel('Name for the new passkey').fill('Second key');
    await card.getByRole('button', { name: 'Add a passkey' }).click();
    await card.getByText('Passkey “Second key” added.', { exact: false }).waitFor();
    const list = card.getByRole('list', { name: 'Your passkeys' });
    await expect.poll(() => list.getByRole('listitem').count()).toBe(2);
    // The key holds its credential for this origin's host.
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: authenticator.id,
    });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]?.rpId).toBe('localhost');
    await card.scrollIntoViewIfNeeded();
    await screenshot(page, 'passkeys-settings');
    expect(await axeSerious(page)).toEqual([]);

    // Signing in now offers the passkey after the password; no session before it.
    await signOut(page);
    await signIn(page, suite.server.origin, name);
    await page.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor();
    expect(await page.evaluate(async () => (await fetch('/api/auth/session')).status)).toBe(401);
    expect(await page.getByLabel('Code from the app').count()).toBe(0);
    await screenshot(page, 'passkey-sign-in');
    expect(await axeSerious(page)).toEqual([]);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await conversation(page).waitFor();
    // The signature counter moved on the authenticator and was accepted by the server.
    const after = await authenticator.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: authenticator.id,
    });
    expect(after.credentials.some((c) => c.signCount > 0)).toBe(true);

    // Without user verification (no fingerprint or PIN) there is no sign-in: the options
    // require it, so the browser gives no passkey.
    await signOut(page);
    await authenticator.cdp.send('WebAuthn.setUserVerified', {
      authenticatorId: authenticator.id,
      isUserVerified: false,
    });
    await signIn(page, suite.server.origin, name);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await expect.poll(alertText(page)).toMatch(/passkey was not used/);
    expect(await page.evaluate(async () => (await fetch('/api/auth/session')).status)).toBe(401);
    await authenticator.cdp.send('WebAuthn.setUserVerified', {
      authenticatorId: authenticator.id,
      isUserVerified: true,
    });
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await conversation(page).waitFor();

    // Rename one, remove both (each after the password).
    await page.goto(`${suite.server.origin}/settings`);
    const rows = page.getByRole('region', { name: 'Passkeys' });
    await rows
      .getByRole('group', { name: 'Actions for passkey Laptop' })
      .getByRole('button', { name: 'Rename' })
      .click();
    await rows.getByLabel('New name for Laptop').fill('Work laptop');
    await rows.getByRole('button', { name: 'Save' }).click();
    await rows.getByText('Work laptop').waitFor();
    for (const key of ['Work laptop', 'Second key']) {
      await rows
        .getByRole('group', { name: `Actions for passkey ${key}` })
        .getByRole('button', { name: 'Remove' })
        .click();
      const dialog = page.getByRole('dialog', { name: `Remove the passkey “${key}”?` });
      await dialog.getByLabel('Current password').fill(STRONG_PASSWORD);
      await dialog.getByRole('button', { name: 'Remove' }).click();
      await dialog.waitFor({ state: 'detached' });
    }
    await rows.getByText('No passkeys yet.').waitFor();

    // Each change is on the account activity.
    await page.goto(`${suite.server.origin}/activity`);
    const activity = page.getByRole('region', { name: 'Account activity' });
    await activity.getByText('Passkey added').first().waitFor();
    await activity.getByText('Passkey renamed').waitFor();
    await activity.getByText('Passkey removed').first().waitFor();

    // With none left, the password alone signs in again.
    await signOut(page);
    await signIn(page, suite.server.origin, name);
    await conversation(page).waitFor();
  });
});

describe.skipIf(!chromiumPath())('two-factor required (REQUIRE_2FA)', () => {
  const suite = browserSuite({ REQUIRE_2FA: 'true' });

  it('sends a new account to set up an authenticator app before its first session', async () => {
    const { page } = await suite.open({ width: 390, height: 844 });
    const name = uniqueName('required');
    await register(page, suite.server.origin, name);
    await page.getByRole('heading', { name: 'Set up two-factor sign-in' }).waitFor();
    const session = await page.evaluate(async () => (await fetch('/api/auth/session')).status);
    expect(session).toBe(401);
    const secret = await shownSecret(page);
    await screenshot(page, 'two-factor-required-enrolment-phone');
    expect(await axeSerious(page)).toEqual([]);
    await page.getByLabel('Code from the app').fill(codeFor(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await shownRecoveryCodes(page);
    await page.getByRole('button', { name: 'I have saved my recovery codes' }).click();
    await conversation(page).waitFor();

    // Settings offers no way to turn it off on this server.
    await page.goto(`${suite.server.origin}/settings`);
    await page.getByText(/requires two-factor sign-in/).waitFor();
    expect(await page.getByRole('button', { name: 'Turn off two-factor' }).count()).toBe(0);
  });
});
