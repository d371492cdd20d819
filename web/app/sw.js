// The app's service worker: keeps the app's shell offline (stale-while-revalidate, so an update arrives on the
// next start), shows Web Push notifications, and opens or focuses the app when one is tapped. The device API
// is never cached.
const CACHE = 'dialtone-app-v1';
const SHELL = [
  './',
  'app.css',
  'app.js',
  'activation-view.js',
  'device-api.js',
  'key-store.js',
  'notifications.js',
  'requests-view.js',
  'strings.js',
  'manifest.webmanifest',
  'icon.svg',
  'icon-192.png',
  'icon-512.png',
  'i18n/en.json',
  'i18n/es.json',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (request.method !== 'GET' || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname))
    return;
  // Every page of the app is the one shell (its fragment carries the activation link).
  const key = request.mode === 'navigate' ? scope.href : request;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(key, { ignoreSearch: request.mode === 'navigate' });
      const fresh = fetch(request)
        .then((response) => {
          if (response.ok) cache.put(key, response.clone());
          return response;
        })
        .catch(() => null);
      if (cached) {
        event.waitUntil(fresh);
        return cached;
      }
      return (await fresh) ?? Response.error();
    }),
  );
});

self.addEventListener('push', (event) => {
  let message = {};
  try {
    message = event.data?.json() ?? {};
  } catch {
    // not JSON: a generic notification
  }
  event.waitUntil(
    (async () => {
      const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      for (const client of open) client.postMessage({ type: 'challenge', id: message.id ?? null });
      await self.registration.showNotification(message.title ?? 'Sign-in request', {
        body: message.body ?? '',
        tag: message.id ?? 'challenge',
        icon: 'icon-192.png',
        requireInteraction: true,
      });
    })(),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(
    (async () => {
      const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const app = open.find((client) => client.url.startsWith(self.registration.scope));
      if (app) {
        app.postMessage({ type: 'challenge' });
        return app.focus();
      }
      return self.clients.openWindow(self.registration.scope);
    })(),
  );
});
