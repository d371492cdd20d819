/**
 * The authenticator web app at /app in headless Chromium, as a phone uses it: activated by typing the code and
 * URL of an activation created through the API (and once from the QR code's content), then pushes started
 * through `POST /api/v1/verifications {method: "push"}` are answered on the page with the number and the PIN.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  gotoLoopback,
  type LoopbackPage,
  launchBrowser,
  openLoopbackPage,
  screenshot,
} from '../support/browser.js';
import { createUser, newActivation } from '../support/device-helpers.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;
let browser: Browser;
const tabs: LoopbackPage[] = [];
const cspViolations: string[] = [];

beforeAll(async () => {
  const launching = launchBrowser();
  try {
    redis = await startRedisServer();
    t = await startTestRuntime(redis.url);
  } finally {
    browser = await launching;
  }
});
afterAll(async () => {
  for (const tab of tabs) {
    await tab.close();
    expect(tab.offLoopback).toEqual([]);
  }
  expect(cspViolations).toEqual([]);
  await browser?.close();
  await t?.stop();
  await redis?.stop();
});

async function phone(): Promise<Page> {
  const tab = await openLoopbackPage(browser, { width: 390, height: 844, serviceWorkers: 'allow' });
  tabs.push(tab);
  tab.page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  await gotoLoopback(tab.page, `${t.baseUrl}/app/`);
  return tab.page;
}

async function startPush(username: string, client?: { ip: string; userAgent: string }) {
  const started = await t.api('/api/v1/verifications', {
    body: { username, method: 'push', ...(client ? { client } : {}) },
  });
  expect(started.status).toBe(201);
  return started.body as { id: string; number: string };
}

async function verdict(id: string) {
  return (await t.api(`/api/v1/verifications/${id}`)).body;
}

describe('the authenticator app at /app', { timeout: 90_000 }, () => {
  let page: Page;

  it('is an installable app with a strict CSP: manifest, icons, service worker', async () => {
    const shell = await fetch(`${t.baseUrl}/app/`);
    expect(shell.status).toBe(200);
    const csp = shell.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await shell.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is a file
    expect(html).not.toMatch(/<style|\sstyle=/);
    const manifest = await fetch(`${t.baseUrl}/app/manifest.webmanifest`);
    expect(manifest.headers.get('content-type')).toContain('application/manifest+json');
    const body = (await manifest.json()) as { icons: { src: string; type: string }[] };
    expect(body).toMatchObject({ display: 'standalone', start_url: './', scope: './' });
    for (const icon of body.icons) {
      const fetched = await fetch(`${t.baseUrl}/app/${icon.src}`);
      expect([fetched.status, fetched.headers.get('content-type')]).toEqual([200, icon.type]);
    }
    expect((await fetch(`${t.baseUrl}/app/sw.js`)).headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${t.baseUrl}/app/../src/main.ts`)).status).toBe(404);
    expect((await fetch(`${t.baseUrl}/app`, { redirect: 'manual' })).headers.get('location')).toBe('/app/');
  });

  it('refuses a wrong code, then activates with the code and URL typed in', async () => {
    await createUser(t, 'alice', '4821');
    const activation = await newActivation(t, 'alice');
    page = await phone();
    await expect.poll(() => page.getByRole('heading', { name: 'Activate this app' }).isVisible()).toBe(true);
    await page.getByLabel("Activation URL (or the QR code's content)").fill(activation.url);
    await page.getByLabel('Activation code').fill('000000000000');
    await page.getByRole('button', { name: 'Activate' }).click();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'not valid' }).isVisible()).toBe(true);

    await page.getByLabel('Activation code').fill(activation.code.replace(/(\d{4})(?=\d)/g, '$1 '));
    await page.getByLabel('Name of this device').fill('Alice phone');
    await page.getByRole('button', { name: 'Activate' }).click();
    await expect
      .poll(() => page.locator('#account').textContent())
      .toBe('Activated for alice on Dialtone as “Alice phone”.');
    await screenshot(page, 'app-activated');
    const devices = (await t.api('/api/v1/users/alice/devices')).body.devices;
    expect(devices).toMatchObject([{ name: 'Alice phone', platform: 'desktop' }]);

    // The private key stays in IndexedDB and cannot be read out, not even by the app's own script.
    // (A string: this project type-checks without the DOM library.)
    const key = await page.evaluate(`(async () => {
      const db = await new Promise((resolve, reject) => {
        const request = indexedDB.open('dialtone-authenticator');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const record = await new Promise((resolve) => {
        const request = db.transaction('device').objectStore('device').get('current');
        request.onsuccess = () => resolve(request.result);
      });
      const exported = await crypto.subtle.exportKey('jwk', record.keyPair.privateKey).then(
        () => 'exported',
        (error) => error.name,
      );
      return { deviceId: record.deviceId, extractable: record.keyPair.privateKey.extractable, exported };
    })()`);
    expect(key).toEqual({ deviceId: devices[0].id, extractable: false, exported: 'InvalidAccessError' });
  });

  it('shows a push with its context; the typed number and PIN approve it', async () => {
    const push = await startPush('alice', { ip: '198.51.100.23', userAgent: 'Firefox on a laptop' });
    const card = page.locator('article.request');
    await expect.poll(() => card.count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => card.locator('h2').textContent()).toBe('Dialtone: Sign-in');
    expect(await card.locator('.request-from').textContent()).toBe('198.51.100.23');
    expect(await card.locator('.request-browser').textContent()).toBe('Firefox on a laptop');
    expect(await card.locator('.request-when').textContent()).not.toBe('');
    expect(await card.textContent()).not.toContain(push.number);
    await screenshot(page, 'app-request');

    await card.getByLabel('Number shown on the screen').fill(push.number);
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => card.getByRole('alert').textContent()).toBe('Enter your PIN.');
    await card.getByLabel('PIN').fill('4821');
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => page.locator('#result').textContent())
      .toBe('Approved. You can go back to your sign-in.');
    expect(await verdict(push.id)).toMatchObject({ status: 'approved' });
    const bad = await t.api('/api/v1/verifications', {
      body: { username: 'alice', method: 'push', client: { ip: 'not an address' } },
    });
    expect(bad.status).toBe(400);
  });

  it('a wrong number fails the push; Deny denies one', async () => {
    const first = await startPush('alice');
    const card = page.locator('article.request');
    await expect.poll(() => card.count(), { timeout: 15_000 }).toBe(1);
    const wrong = first.number === '999' ? '998' : '999';
    await card.getByLabel('Number shown on the screen').fill(wrong);
    await card.getByLabel('PIN').fill('4821');
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => page.locator('#result').textContent())
      .toBe('Not approved: the number or the PIN was not right.');
    expect(await verdict(first.id)).toMatchObject({ status: 'failed', reason: 'wrong-answer' });

    const second = await startPush('alice');
    await expect.poll(() => card.count(), { timeout: 15_000 }).toBe(1);
    await card.getByRole('button', { name: 'Deny' }).click();
    await expect.poll(() => page.locator('#result').textContent()).toBe('Denied. Nobody was signed in.');
    expect(await verdict(second.id)).toMatchObject({ status: 'denied' });
  });

  it('keeps its shell offline and says when it cannot reach the server', async () => {
    await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
    const tab = tabs[0]!;
    await tab.context.setOffline(true);
    await page.reload();
    await expect.poll(() => page.locator('#account').textContent()).toContain('Activated for alice');
    await expect
      .poll(() => page.locator('#connection').textContent())
      .toBe('You are offline. Sign-in requests appear here when the connection is back.');
    await screenshot(page, 'app-offline');
    await tab.context.setOffline(false);
    await expect.poll(() => page.locator('#connection').isVisible(), { timeout: 15_000 }).toBe(false);
  });

  it('"I did not ask for this" reports fraud and blocks the user', async () => {
    const push = await startPush('alice');
    const card = page.locator('article.request');
    await expect.poll(() => card.count(), { timeout: 15_000 }).toBe(1);
    await card.getByRole('button', { name: 'I did not ask for this' }).click();
    await expect
      .poll(() => page.locator('#result').textContent())
      .toBe('Reported. The sign-in was blocked and your administrator is told.');
    expect(await verdict(push.id)).toMatchObject({ status: 'fraud' });
    const user = (await t.api('/api/v1/users/alice')).body;
    expect(user.blocked).toMatchObject({ until: expect.any(String) });
    const refused = await t.api('/api/v1/verifications', { body: { username: 'alice', method: 'push' } });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'user_blocked' } } });
  });

  it('activates from the QR code’s content pasted into the URL field', async () => {
    await createUser(t, 'bob', null);
    const { link } = await newActivation(t, 'bob');
    const second = await phone();
    await second.getByLabel("Activation URL (or the QR code's content)").fill(link);
    expect(await second.getByLabel('Activation code').inputValue()).toMatch(/^\d{12}$/);
    await second.getByRole('button', { name: 'Activate' }).click();
    await expect.poll(() => second.locator('#account').textContent()).toContain('Activated for bob');
    const push = await startPush('bob');
    const card = second.locator('article.request');
    await expect.poll(() => card.count(), { timeout: 15_000 }).toBe(1);
    expect(await card.getByLabel('PIN').count()).toBe(0); // bob has no PIN
    await card.getByLabel('Number shown on the screen').fill(push.number);
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(async () => (await verdict(push.id)).status).toBe('approved');
  });

  it('opened from the QR link, it fills URL and code and keeps them out of the address bar', async () => {
    await createUser(t, 'carol', null);
    const { link } = await newActivation(t, 'carol');
    const tab = await openLoopbackPage(browser, { serviceWorkers: 'allow' });
    tabs.push(tab);
    await gotoLoopback(tab.page, link);
    await expect.poll(() => tab.page.getByLabel('Activation code').inputValue()).toMatch(/^\d{12}$/);
    expect(new URL(tab.page.url()).hash).toBe('');
  });
});
