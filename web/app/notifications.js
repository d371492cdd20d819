// Web Push: with the user's permission the browser subscribes with the server's VAPID key, and the device
// registers (and on every start refreshes) that subscription through the signed device API. The service worker
// shows the notification; without it the app still long-polls while it is open.
import { Refused } from './device-api.js';
import { t } from './strings.js';

const $ = (id) => document.getElementById(id);

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function status(text) {
  const box = $('notify-status');
  box.textContent = text;
  box.hidden = !text;
}

async function register(api, registration) {
  let subscription = await registration.pushManager.getSubscription();
  if (!subscription)
    subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(api.device.webPushKey),
    });
  await api.subscribe(subscription.toJSON());
  $('notify').hidden = true;
  status(t('notify.on'));
}

/** Sets up the notifications section for an activated device (nothing when the server has Web Push off). */
export async function setUpNotifications(api, registration) {
  const button = $('notify');
  button.hidden = true;
  status('');
  if (!api.device.webPushKey) return;
  if (!registration || !('PushManager' in window) || !('Notification' in window))
    return status(t('notify.unsupported'));
  if (Notification.permission === 'denied') return status(t('notify.blocked'));
  const failed = (error) =>
    status(t('notify.failed', { code: error instanceof Refused ? error.code : error.name }));
  if (Notification.permission === 'granted') {
    await register(api, registration).catch(failed);
    return;
  }
  button.hidden = false;
  button.onclick = async () => {
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') return status(t('notify.blocked'));
    await register(api, registration).catch(failed);
  };
}

export async function dropSubscription(registration) {
  const subscription = await registration?.pushManager?.getSubscription().catch(() => null);
  await subscription?.unsubscribe().catch(() => {});
}
