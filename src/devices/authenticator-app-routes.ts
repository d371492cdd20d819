import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { en } from '../../flows/i18n/en.js';
import { es } from '../../flows/i18n/es.js';

export const APP_PATH = '/app';

/**
 * The authenticator app's CSP: its own static files only (no inline script or style), its own server's device
 * API only, the camera's frames for the QR scanner, no framing.
 */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const APP_HEADERS = {
  'content-security-policy': APP_CSP,
  'cache-control': 'no-cache',
  'permissions-policy': 'camera=(self), microphone=(), geolocation=()',
  'cross-origin-opener-policy': 'same-origin',
};

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  webmanifest: 'application/manifest+json',
  svg: 'image/svg+xml',
  png: 'image/png',
  json: 'application/json; charset=utf-8',
};

interface Asset {
  type: string;
  body: Buffer | string;
}

/** The app's files, read once: `web/app/` next to the sources (tsx) or two levels up from `dist/src/...`. */
function readAppFiles(): Map<string, Asset> {
  for (const candidate of ['../../web/app/', '../../../web/app/']) {
    const dir = new URL(candidate, import.meta.url);
    try {
      if (!statSync(dir).isDirectory()) continue;
    } catch {
      continue;
    }
    const files = new Map<string, Asset>();
    for (const name of readdirSync(dir)) {
      const type = TYPES[name.split('.').pop() ?? ''];
      if (type && name !== 'index.html') files.set(name, { type, body: readFileSync(new URL(name, dir)) });
    }
    files.set('', { type: TYPES.html!, body: readFileSync(new URL('index.html', dir)) });
    return files;
  }
  throw new Error('authenticator app: web/app/ not found next to the sources');
}

/** The app's texts: the catalogue's `app.*` keys without the prefix, one JSON file per language. */
function appStrings(catalog: Record<string, string>): string {
  const texts: Record<string, string> = {};
  for (const [key, value] of Object.entries(catalog))
    if (key.startsWith('app.')) texts[key.slice('app.'.length)] = value;
  return JSON.stringify(texts);
}

/**
 * Serves the authenticator web app at /app/: static files with a strict CSP, revalidated on every load
 * (`no-cache`) so the service worker's background refresh picks up a new version. Needs no session or Redis.
 */
export function authenticatorAppRoutes(): FastifyPluginAsync {
  const files = readAppFiles();
  for (const [language, catalog] of Object.entries({ en, es }))
    files.set(`i18n/${language}.json`, { type: TYPES.json!, body: appStrings(catalog) });

  return async (app) => {
    app.get(APP_PATH, async (_request, reply) => reply.redirect(`${APP_PATH}/`, 301));
    app.get(`${APP_PATH}/*`, async (request, reply) => {
      const asset = files.get((request.params as { '*': string })['*']);
      if (!asset) return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
      return reply.headers(APP_HEADERS).type(asset.type).send(asset.body);
    });
  };
}
