/**
 * Headless Chromium for end-to-end tests: the Debian package's `/usr/bin/chromium`, driven by playwright-core
 * (never `npx playwright install`: it downloads a browser build, which cannot work here).
 *
 * Pages opened with `openLoopbackPage` may only load loopback URLs: anything else is aborted before it leaves
 * the machine and recorded, so a test can assert that nothing went elsewhere.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless Chromium as root on this machine: no sandbox, no GPU, and nothing that phones home. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where `screenshot` writes: `artifacts/screenshots/` under the repository (git-ignored). */
export const SCREENSHOTS_DIR = path.join(REPO_ROOT, 'artifacts', 'screenshots');

/**
 * Launches headless Chromium. Every launch gets a fresh, temporary profile (playwright-core creates an empty
 * user data directory and removes it on close), so no cookies or cache carry over between runs.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed (${CHROMIUM_PATH} is missing). Install the Debian package: ` +
        '`sudo apt-get update && sudo apt-get install -y chromium` (or run `npm test` once as root: ' +
        'scripts/ensure-deps.sh installs it). Do not run `npx playwright install`.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** True for http(s)/ws(s) URLs on a loopback host (127.0.0.0/8, ::1, localhost). */
export function isLoopbackUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) return false;
  const host = parsed.hostname.toLowerCase();
  return LOOPBACK_HOSTS.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export interface LoopbackPage {
  page: Page;
  context: BrowserContext;
  /** Every request to something other than loopback, in order (each was aborted). Expected to stay empty. */
  offLoopback: string[];
  close(): Promise<void>;
}

/**
 * A page in its own fresh browser context that can only reach loopback: other requests (navigations,
 * redirects, subresources) are aborted and listed in `offLoopback`.
 */
export async function openLoopbackPage(
  browser: Browser,
  options: { width?: number; height?: number; serviceWorkers?: 'allow' | 'block' } = {},
): Promise<LoopbackPage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 480, height: options.height ?? 900 },
    colorScheme: 'light',
    // Blocked unless a test is about one (the authenticator app's offline shell).
    serviceWorkers: options.serviceWorkers ?? 'block',
  });
  const offLoopback: string[] = [];
  context.on('request', (request) => {
    if (!isLoopbackUrl(request.url()) && !request.url().startsWith('data:')) offLoopback.push(request.url());
  });
  await context.route(
    (url) => !isLoopbackUrl(url.href),
    (route) => route.abort('blockedbyclient'),
  );
  const page = await context.newPage();
  // Actions and waits fail after this long instead of the whole test's timeout: the message names the step.
  page.setDefaultTimeout(10_000);
  page.setDefaultNavigationTimeout(10_000);
  return { page, context, offLoopback, close: () => context.close() };
}

/** Loads a loopback URL in the page; refuses any other URL before the browser sees it. */
export async function gotoLoopback(page: Page, url: string): Promise<void> {
  if (!isLoopbackUrl(url)) throw new Error(`refusing to open a non-loopback URL in the test browser: ${url}`);
  await page.goto(url, { waitUntil: 'load' });
}

/** Saves a full-page PNG as `artifacts/screenshots/<name>.png` under the repository and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`bad screenshot name: ${name}`);
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  const file = path.join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
