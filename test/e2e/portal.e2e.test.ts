/**
 * The portal in a real browser, as an employee uses it: headless Chromium against the real server, a real
 * OpenLDAP, a real Redis and the simulator carrier. The test plays the employee's phone through the simulator.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLdapDirectory } from '../../src/directory/ldap-directory.js';
import { createLogger, maskPhone } from '../../src/log.js';
import {
  gotoLoopback,
  type LoopbackPage,
  launchBrowser,
  openLoopbackPage,
  screenshot,
} from '../support/browser.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestSlapd, type TestSlapd, USERS } from '../support/slapd-server.js';
import { codeIn, replyFrom, textsTo, waitForTexts } from '../support/sms-helpers.js';
import { eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let slapd: TestSlapd;
let t: TestRuntime;
let browser: Browser;
let tab: LoopbackPage | undefined;

beforeAll(async () => {
  const launching = launchBrowser();
  try {
    [redis, slapd] = await Promise.all([startRedisServer(), startTestSlapd()]);
    const directory = createLdapDirectory(slapd.config, createLogger('silent'));
    t = await startTestRuntime(
      redis.url,
      { SECURITY_QUESTIONS: 'true', QUESTIONS_AS_SECOND_FACTOR: 'true' },
      { directory, loginPaddingMs: 50 },
    );
  } finally {
    browser = await launching;
  }
});
afterEach(async () => {
  const opened = tab;
  tab = undefined;
  if (!opened) return;
  await opened.close();
  expect(opened.offLoopback).toEqual([]);
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await Promise.all([redis?.stop(), slapd?.stop()]);
});

async function open(path: string): Promise<Page> {
  tab ??= await openLoopbackPage(browser);
  await gotoLoopback(tab.page, `${t.baseUrl}${path}`);
  return tab.page;
}

async function signIn(page: Page, username: string, password: string) {
  await gotoLoopback(page, `${t.baseUrl}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

let chosenQuestions: string[] = [];

async function answerQuestions(page: Page, shot: string) {
  await expect.poll(() => page.locator('h1').textContent(), { timeout: 15_000 }).toBe('Security Questions');
  await screenshot(page, `${shot}-questions`);
  const options = await page
    .locator('#question0 option')
    .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
  chosenQuestions = options.slice(0, 4);
  for (let i = 0; i < 4; i += 1) {
    await page.locator(`#question${i}`).selectOption(options[i]!);
    await page.locator(`#answer${i}`).fill(`answer number ${i + 1}`);
  }
  await page.getByRole('button', { name: 'Save and finish' }).click();
}

/** The employee's phone: the dev phone page in another tab; answer the ringing call, then key on the keypad. */
async function answerOnKeypad(phone: Page, number: string, keys: string, shot: string) {
  const url = `${t.baseUrl}/dev/phone?number=${encodeURIComponent(number)}&refresh=off`;
  await gotoLoopback(phone, url);
  const answer = phone.getByRole('button', { name: 'Answer' }).first();
  await expect
    .poll(async () => {
      if (await answer.isVisible()) return true;
      await gotoLoopback(phone, url);
      return false;
    })
    .toBe(true);
  await screenshot(phone, `${shot}-ringing`);
  await submitAndWait(phone, () => answer.click());
  await expect.poll(() => phone.locator('.call--live').count()).toBe(1);
  for (const key of keys) {
    await submitAndWait(phone, () => phone.locator(`form.keypad button[value="${key}"]`).first().click());
  }
  await screenshot(phone, `${shot}-keyed`);
}

/** A form post on the dev phone reloads the page: wait for that before the next key. */
async function submitAndWait(page: Page, action: () => Promise<void>) {
  await Promise.all([page.waitForEvent('load'), action()]);
}

// Each walk is a dozen pages and a phone: on a loaded two-core machine one takes most of the default 30 s.
const WALK_MS = 90_000;

describe('portal in a browser', () => {
  it(
    'enrolls with SMS, answers questions, signs out and back in with the second factor, changes the PIN',
    async () => {
      const user = USERS.jdoe;
      const page = await open('/login');
      await screenshot(page, 'portal-01-login');
      await signIn(page, user.uid, user.password);

      await expect.poll(() => page.locator('h1').textContent()).toBe('User Setup');
      await screenshot(page, 'portal-02-choose-method');
      await page.getByLabel('SMS Text').check();
      await page.getByRole('button', { name: 'Continue' }).click();

      await expect.poll(() => page.locator('h1').textContent()).toBe('SMS Text');
      const mobile = '+12025550177';
      await page.getByLabel('Mobile phone').fill('(202) 555-0177');
      await page.getByLabel('PIN', { exact: true }).fill('4821');
      await page.getByLabel('Confirm PIN').fill('4821');
      await screenshot(page, 'portal-03-sms-details');
      await page.getByRole('button', { name: 'Text Me Now to Authenticate' }).click();

      await expect.poll(() => page.locator('.status').textContent()).toContain('Waiting');
      await screenshot(page, 'portal-04-sms-waiting');
      const code = codeIn((await waitForTexts(t, mobile, 1))[0]!);
      await replyFrom(t, mobile, `${code} 4821`);
      await answerQuestions(page, 'portal-05');

      await expect.poll(() => page.locator('h1').textContent()).toBe('Your account');
      await expect.poll(() => page.locator('.alert').textContent()).toContain('You are enrolled.');
      await expect.poll(() => page.locator('.settings').textContent()).toContain(maskPhone(mobile));
      await screenshot(page, 'portal-06-home');
      const stored = await t.runtime.users.get(user.uid);
      expect(stored).toMatchObject({ method: 'sms', phones: { mobile } });
      expect(await t.runtime.hasher.verify('4821', stored!.pinHash!)).toBe(true);
      expect(await t.runtime.questions.load(user.uid)).toHaveLength(4);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Sign in');
      await signIn(page, user.uid, user.password);
      await expect.poll(() => page.locator('h1').textContent()).toBe('Verify it is you');
      await screenshot(page, 'portal-07-second-factor');
      const again = codeIn((await waitForTexts(t, mobile, 3))[2]!);
      await replyFrom(t, mobile, `${again}4821`);
      await expect.poll(() => page.locator('h1').textContent(), { timeout: 15_000 }).toBe('Your account');

      await page.getByRole('link', { name: 'Change PIN' }).click();
      await page.getByLabel('Current PIN').fill('4821');
      await page.getByLabel('New PIN', { exact: true }).fill('1111');
      await page.getByLabel('Confirm new PIN').fill('1111');
      await page.getByRole('button', { name: 'Change PIN' }).click();
      await expect.poll(() => page.locator('.field-error').first().textContent()).toContain('too easy');
      await screenshot(page, 'portal-08-pin-refused');
      await page.getByLabel('Current PIN').fill('4821');
      await page.getByLabel('New PIN', { exact: true }).fill('5937');
      await page.getByLabel('Confirm new PIN').fill('5937');
      await page.getByRole('button', { name: 'Change PIN' }).click();
      await expect.poll(() => page.locator('.alert').textContent()).toContain('Your PIN was changed.');
      const changed = await t.runtime.users.get(user.uid);
      expect(await t.runtime.hasher.verify('5937', changed!.pinHash!)).toBe(true);
      const mail = await eventually(async () => {
        const list = await t.runtime.devMailbox!.list(10);
        return list.find((m) => m.to === user.mail && /PIN/.test(m.text)) ?? undefined;
      });
      expect(mail.text).not.toContain('5937');
      const audited = (await t.runtime.audit.recent(50))
        .filter((e) => e.userId === user.uid)
        .map((e) => e.event);
      expect(audited).toEqual(expect.arrayContaining(['portal.enroll', 'portal.change-pin']));
      expect(await textsTo(t, mobile)).toHaveLength(4);

      // Security questions as the second factor (enabled in this configuration): wrong answers, then right ones.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(page, user.uid, user.password);
      await page.getByRole('link', { name: 'Answer your security questions instead' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Answer your security questions');
      const asked = await page
        .locator('input[type=hidden][name^=question]')
        .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
      expect(asked).toHaveLength(2);
      await page.locator('#answer0').fill('not it');
      await page.locator('#answer1').fill('not it either');
      await page.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => page.locator('.alert').textContent()).toContain('not right');
      await screenshot(page, 'portal-09-questions-refused');
      for (const [i, id] of asked.entries()) {
        // Case and spacing do not matter: answers are normalised before hashing.
        await page.locator(`#answer${i}`).fill(`  ANSWER number ${chosenQuestions.indexOf(id) + 1} `);
      }
      await page.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Your account');
    },
    WALK_MS,
  );

  it(
    'enrolls with a voice call answered on the dev phone keypad, signs in again by call, changes the phone',
    async () => {
      const user = USERS.jose;
      const page = await open('/login');
      await signIn(page, user.uid, user.password);
      await page.getByLabel('Voice Call').check();
      await page.getByRole('button', { name: 'Continue' }).click();
      const primary = '+12025550178';
      await page.getByLabel('Primary phone').fill(primary);
      await page.getByLabel('Extension (optional)').fill('42');
      await page.getByLabel('PIN', { exact: true }).fill('7305');
      await page.getByLabel('Confirm PIN').fill('7305');
      await screenshot(page, 'portal-11-voice-details');
      await page.getByRole('button', { name: 'Call Me Now to Authenticate' }).click();
      await expect.poll(() => page.locator('.status').textContent()).toContain('Calling you');
      await screenshot(page, 'portal-12-voice-calling');

      const phone = await tab!.context.newPage();
      await answerOnKeypad(phone, primary, '7305#', 'portal-13');
      await answerQuestions(page, 'portal-14');
      await expect.poll(() => page.locator('h1').textContent()).toBe('Your account');
      expect(await t.runtime.users.get(user.uid)).toMatchObject({
        method: 'voice',
        phones: { primary, extension: '42' },
      });

      // Back in later: the second factor is a call, answered on the keypad again.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(page, user.uid, user.password);
      await expect.poll(() => page.locator('h1').textContent()).toBe('Verify it is you');
      await answerOnKeypad(phone, primary, '7305#', 'portal-15');
      await expect.poll(() => page.locator('h1').textContent(), { timeout: 15_000 }).toBe('Your account');

      // A new number replaces the old one only with the current PIN, and once a call to it is answered.
      await page.getByRole('button', { name: 'Change phone numbers' }).click();
      await page.getByLabel('Current PIN').fill('7305');
      const newPrimary = '+12025550179';
      await page.getByLabel('Primary phone').fill(newPrimary);
      await page.getByRole('button', { name: 'Call Me Now to Authenticate' }).click();
      expect((await t.runtime.users.get(user.uid))?.phones.primary).toBe(primary);
      await answerOnKeypad(phone, newPrimary, '7305#', 'portal-16');
      await expect
        .poll(() => page.locator('.alert').textContent(), { timeout: 15_000 })
        .toContain('Your settings were changed.');
      await screenshot(page, 'portal-17-phone-changed');
      expect((await t.runtime.users.get(user.uid))?.phones.primary).toBe(newPrimary);
    },
    WALK_MS,
  );

  it('refuses a POST without the CSRF token', async () => {
    const response = await fetch(`${t.baseUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: USERS.jdoe.uid, password: USERS.jdoe.password }),
    });
    expect(response.status).toBe(403);
  });
});
