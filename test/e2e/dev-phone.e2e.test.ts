/**
 * The dev phone in a real browser: headless Chromium against the real server (simulator carrier, real Redis),
 * used as a person would. The API starts each verification and gives the verdict; everything the handset does
 * goes through the page: read the text, type the reply, answer the call, press keypad buttons.
 *
 * The page reloads itself every 3 s (meta refresh) while a number is shown, so every wait is for something on
 * the page (locators wait across reloads, and a reload is forced when the refresh is late), and every form post
 * is confirmed: a click that a refresh swallowed is retried, and each key press must show in the transcript
 * before the next key is pressed.
 */
import type { Browser, Locator, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  gotoLoopback,
  type LoopbackPage,
  launchBrowser,
  openLoopbackPage,
  screenshot,
} from '../support/browser.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { createUser } from '../support/sms-helpers.js';
import { startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;
let browser: Browser;
let tab: LoopbackPage | undefined;

beforeAll(async () => {
  // The browser starts while Redis and the server do.
  const launching = launchBrowser();
  try {
    redis = await startRedisServer();
    t = await startTestRuntime(redis.url);
  } finally {
    browser = await launching;
  }
});

afterEach(async () => {
  const opened = tab;
  tab = undefined;
  if (!opened) return;
  await opened.close();
  expect(opened.offLoopback, 'the page tried to load something other than loopback').toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await redis?.stop();
});

async function openPhone(number: string): Promise<Page> {
  tab = await openLoopbackPage(browser);
  await gotoLoopback(tab.page, `${t.baseUrl}/dev/phone?number=${encodeURIComponent(number)}`);
  return tab.page;
}

/**
 * Waits for `locator` to be visible. The meta refresh normally brings new content within 3 s; when it has not
 * after 4 s (or the page is paused), the page is reloaded, until `timeoutMs`.
 */
async function waitVisible(page: Page, locator: Locator, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    try {
      await locator.first().waitFor({ state: 'visible', timeout: Math.max(1, Math.min(4_000, left)) });
      return;
    } catch (error) {
      if (Date.now() >= deadline)
        throw new Error(`timed out waiting for ${what} on the dev phone`, { cause: error });
    }
    await reload(page);
  }
}

/**
 * Performs `act` (fill and click...) until it posts a form to a path matching `action`: a click can land on
 * a page the meta refresh is replacing (or type into a field the refresh then empties), and then nothing is
 * posted. Requests are watched from before `act` starts, and the browser gets 3 s after `act` returns to
 * start the post: a post that was seen is never repeated, so nothing is sent twice. A try that posted
 * nothing is repeated on a freshly reloaded page.
 */
async function submit(page: Page, action: RegExp, what: string, act: () => Promise<void>): Promise<void> {
  const matches = (request: Request) =>
    request.method() === 'POST' && action.test(new URL(request.url()).pathname);
  for (let attempt = 1; ; attempt++) {
    let posted = false;
    const watch = (request: Request) => {
      if (matches(request)) posted = true;
    };
    page.on('request', watch);
    try {
      await act();
      if (!posted) {
        posted = await page.waitForRequest(matches, { timeout: 3_000 }).then(
          () => true,
          () => false,
        );
      }
    } finally {
      page.off('request', watch);
    }
    if (posted) return;
    if (attempt === 3) throw new Error(`${what}: the dev phone posted nothing after ${attempt} tries`);
    await reload(page); // try again on a fresh page, a whole refresh period away from the next reload
  }
}

/** Clicks "Pause auto-refresh" until the paused page shows (a refresh at the same moment can win the race). */
async function pauseAutoRefresh(page: Page): Promise<void> {
  const resume = page.getByRole('link', { name: 'Resume auto-refresh' });
  for (let attempt = 1; ; attempt++) {
    if (await resume.isVisible()) return;
    await page.getByRole('link', { name: 'Pause auto-refresh' }).click();
    try {
      await resume.waitFor({ timeout: 2_000 });
      return;
    } catch (error) {
      if (attempt === 3) throw new Error('the dev phone did not pause its auto-refresh', { cause: error });
    }
  }
}

/** Reloads the page. A meta refresh starting at the same moment interrupts the reload: either way, a new page. */
async function reload(page: Page): Promise<void> {
  try {
    await page.reload({ waitUntil: 'load' });
  } catch (error) {
    if (!/interrupted by another navigation|ERR_ABORTED/i.test(String(error))) throw error;
    await page.waitForLoadState('load');
  }
}

describe('dev phone in headless Chromium', () => {
  it('SMS: reads the code on the page, replies code and PIN, and is verified', async () => {
    const number = '+12025550147';
    const pin = '4821';
    await createUser(t, {
      username: 'alice',
      displayName: 'Alice',
      phones: { mobile: '+1 202 555 0147' },
      pin,
    });
    const started = await t.api('/api/v1/verifications', { body: { username: 'alice', method: 'sms' } });
    expect(started.status).toBe(201);
    const id: string = started.body.id;

    const page = await openPhone(number);
    await expect(page.title()).resolves.toBe(`Dev phone ${number}`);
    const codeText = page.locator('.message--received .bubble').filter({ hasText: /is your .+ code/ });
    await waitVisible(page, codeText, 'the text with the code');
    const text = (await codeText.first().textContent()) ?? '';
    expect(text).toContain('followed by your PIN');
    const code = /\b(\d{6,10})\b/.exec(text)?.[1];
    if (!code) throw new Error(`no code in the text on the page: ${text}`);
    await screenshot(page, 'sms-1-code');

    // Typing, a screenshot and the click take a few hundred ms: start them on a fresh page, a whole refresh
    // period away from the next reload (which would empty the field; `submit` retries if it does anyway).
    await reload(page);
    const reply = page.getByLabel('Reply', { exact: true });
    const answer = `${code} ${pin}`;
    await submit(page, /^\/dev\/phone\/reply$/, 'the reply', async () => {
      await reply.fill(answer);
      await screenshot(page, 'sms-2-reply-typed');
      await page.getByRole('button', { name: 'Send', exact: true }).click();
    });
    // The reply is in the conversation as a sent text, then the service's answer arrives.
    await waitVisible(
      page,
      page.locator('.message--sent .bubble').filter({ hasText: answer }),
      'the reply in the conversation',
    );
    const verdict = await t.api(`/api/v1/verifications/${id}?wait=10`);
    expect(verdict.body.status).toBe('approved');
    await waitVisible(
      page,
      page.locator('.message--received .bubble').filter({ hasText: 'You are verified' }),
      '"You are verified"',
    );
    expect(await page.locator('.message--sent').count()).toBe(1); // sent once, never twice
    await screenshot(page, 'sms-3-verified');
  });

  it('voice: answers, keys the admin-set PIN and #, changes the PIN on the keypad, and is verified', async () => {
    const number = '+12025550163';
    await createUser(t, {
      username: 'bob',
      displayName: 'Bob',
      method: 'voice',
      phones: { primary: number },
      pin: '4821',
      pinMustChange: true,
    });
    const started = await t.api('/api/v1/verifications', { body: { username: 'bob', method: 'voice' } });
    expect(started.status).toBe(201);
    expect(started.body.method).toBe('voice');
    const id: string = started.body.id;

    const page = await openPhone(number);
    const call = page.locator('li.call').first(); // newest first; this number has one call
    const callerLines = call.locator('.transcript__line--caller');

    // Ringing: Answer and Decline.
    await waitVisible(page, page.locator('li.call--ringing'), 'the ringing call');
    await waitVisible(page, call.getByText('Incoming call'), '"Incoming call"');
    await waitVisible(page, call.getByRole('button', { name: 'Decline', exact: true }), 'the Decline button');
    await screenshot(page, 'voice-1-ringing');
    await submit(page, /^\/dev\/phone\/call\/[^/]+\/answer$/, 'Answer', () =>
      call.getByRole('button', { name: 'Answer', exact: true }).click(),
    );

    // Live: the greeting and the PIN prompt as text, and the keypad.
    await waitVisible(
      page,
      page.locator('li.call--live').getByText('Please enter your PIN'),
      'the PIN prompt',
    );
    await waitVisible(page, call.getByText(/calling to verify your sign-in/), 'the greeting');
    await waitVisible(page, call.getByText('The service is waiting for keys.'), 'the waiting-for-keys note');
    await screenshot(page, 'voice-2-prompt');

    let pressed = 0;
    /** Presses each key on the keypad, one post per key, each seen in the transcript before the next. */
    const key = async (keys: string) => {
      for (const k of keys) {
        const label = k === '#' ? 'Key pound' : k === '*' ? 'Key star' : `Key ${k}`;
        await submit(page, /^\/dev\/phone\/call\/[^/]+\/keys$/, label, () =>
          call.getByRole('button', { name: label, exact: true }).click(),
        );
        pressed += 1;
        await callerLines.nth(pressed - 1).waitFor({ state: 'attached' });
        await expect(callerLines.nth(pressed - 1).textContent()).resolves.toBe(`You pressed ${k}`);
      }
    };

    await key('4821#');
    await waitVisible(page, call.getByText('Your PIN must be changed.'), 'the new-PIN prompt');
    await screenshot(page, 'voice-3-new-pin-prompt');
    await key('5937#');
    await waitVisible(page, call.getByText('Enter the new PIN again'), 'the confirmation prompt');
    await key('5937#');

    const verdict = await t.api(`/api/v1/verifications/${id}?wait=10`);
    expect(verdict.body.status).toBe('approved');

    // Ended: the transcript folds away under "Transcript"; the refresh would fold it again, so pause it first.
    await waitVisible(page, page.locator('li.call--ended'), 'the ended call');
    await pauseAutoRefresh(page);
    await call.getByText('Transcript', { exact: true }).click();
    const last = call.locator('.transcript__line--engine').last();
    await last.waitFor({ state: 'visible' });
    await expect(last.textContent()).resolves.toContain('You are verified. Goodbye.');
    await expect(callerLines.allTextContents()).resolves.toEqual(
      [...'4821#5937#5937#'].map((k) => `You pressed ${k}`),
    );
    await screenshot(page, 'voice-4-end');

    const user = await t.api('/api/v1/users/bob');
    expect(user.body.pinMustChange).toBe(false);
  });
});
