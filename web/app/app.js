// The authenticator app: activation, then a long-poll for sign-in requests while the app is open (and Web
// Push to wake it when subscribed). Served by the product at /app with a CSP that allows only these files.
import { showActivation } from './activation-view.js';
import { DeviceApi, Refused, Unreachable } from './device-api.js';
import { forgetDevice, loadDevice, saveDevice } from './key-store.js';
import { dropSubscription, setUpNotifications } from './notifications.js';
import { clearRequests, renderRequests, showResult, tick } from './requests-view.js';
import { loadStrings, t } from './strings.js';

const $ = (id) => document.getElementById(id);
const LONG_POLL_SECONDS = 25;
const MAX_BACKOFF_MS = 30_000;

let registration = null;
let session = null; // {api, stop, wake}

function connection(problem) {
  const box = $('connection');
  box.hidden = !problem;
  box.textContent = !problem
    ? ''
    : navigator.onLine === false
      ? t('offline')
      : t('unreachable', { host: location.host });
}

/** Long-polls while the app is open; `wake()` cuts a wait short (a notification, back online, back in view). */
function startPolling(api, onRemoved) {
  let running = true;
  let controller = null;
  let immediate = true;
  let sleeper = null;
  const wake = () => {
    immediate = true;
    controller?.abort();
    sleeper?.();
  };
  const pause = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      sleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  (async () => {
    let backoff = 1000;
    while (running) {
      controller = new AbortController();
      const wait = immediate ? 0 : LONG_POLL_SECONDS;
      immediate = false;
      try {
        const challenges = await api.challenges(wait, controller.signal);
        connection(false);
        backoff = 1000;
        renderRequests(challenges, api);
      } catch (error) {
        if (!running) return;
        if (error?.name === 'AbortError') continue;
        if (error instanceof Refused && error.code === 'unknown_device') return onRemoved();
        connection(error instanceof Unreachable ? 'unreachable' : 'refused');
        immediate = true;
        await pause(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  })();
  const ticker = setInterval(() => tick(api.clock.skewMs), 1000);
  return {
    wake,
    stop() {
      running = false;
      clearInterval(ticker);
      controller?.abort();
      sleeper?.();
    },
  };
}

async function showHome(device) {
  $('activation').hidden = true;
  $('home').hidden = false;
  const api = new DeviceApi(device);
  $('title').textContent = device.serviceName;
  $('account').textContent = t('account', {
    username: device.username,
    service: device.serviceName,
    name: device.name,
  });
  $('poll-status').textContent = t('poll.waiting');
  const removed = async (message) => {
    session?.stop();
    session = null;
    clearRequests();
    showResult('');
    connection(false);
    await dropSubscription(registration);
    await forgetDevice();
    showHome(await showActivation(message));
  };
  session = startPolling(api, () => removed(t('removed')));
  $('remove').onclick = async () => {
    try {
      await api.remove();
    } catch (error) {
      if (!(error instanceof Refused && error.code === 'unknown_device')) return connection('unreachable');
    }
    await removed(t('remove.done'));
  };
  // The server's view of this device: still registered, and its Web Push key (may have changed since).
  try {
    const described = await api.describe();
    device.webPushKey = described.webPush?.publicKey ?? null;
    device.skewMs = api.clock.skewMs;
    await saveDevice(device);
  } catch (error) {
    if (error instanceof Refused && error.code === 'unknown_device') return removed(t('removed'));
  }
  await setUpNotifications(api, registration);
}

async function main() {
  await loadStrings();
  if ('serviceWorker' in navigator) {
    registration = await navigator.serviceWorker.register('sw.js', { scope: './' }).catch(() => null);
    // The service worker forwards a push notification to an open app, so it fetches at once.
    navigator.serviceWorker.addEventListener('message', (event) => {
      if (event.data?.type === 'challenge') session?.wake();
    });
  }
  window.addEventListener('online', () => session?.wake());
  window.addEventListener('offline', () => connection('offline'));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') session?.wake();
  });
  $('loading').hidden = true;
  const device = await loadDevice();
  showHome(device ?? (await showActivation()));
}

main();
