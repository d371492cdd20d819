import webpush from 'web-push';
import { translate } from '../../flows/i18n/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { UserStore } from '../store/user-store.js';
import type { ChallengeNotice, DeviceNotifier } from './device-notifier.js';
import type { DeviceStore } from './device-store.js';
import type { VapidKeys } from './vapid-keys.js';

/** Which subscription endpoints the server will post to: a device chooses the URL, so this guards against SSRF. */
export interface PushEndpointPolicy {
  /** Host names (or parent domains) of push services, e.g. fcm.googleapis.com, push.apple.com. */
  hosts: string[];
  /** Development and tests: http:// endpoints on loopback. */
  allowLoopbackHttp: boolean;
}

export function endpointAllowed(endpoint: string, policy: PushEndpointPolicy): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  const host = url.hostname.toLowerCase();
  if (
    policy.allowLoopbackHttp &&
    url.protocol === 'http:' &&
    ['127.0.0.1', 'localhost', '[::1]'].includes(host)
  )
    return true;
  if (url.protocol !== 'https:') return false;
  return policy.hosts.some((allowed) => host === allowed || host.endsWith(`.${allowed}`));
}

const SEND_TIMEOUT_MS = 5_000;

/**
 * Web Push (RFC 8030/8291) with VAPID (RFC 8292): `web-push` builds and encrypts the request, fetch posts it (so a
 * loopback push service works in tests). The body says only that a request is waiting; the device then fetches
 * the challenge over the signed API. A 404/410 means the subscription is gone: it is deleted.
 */
export class WebPushNotifier implements DeviceNotifier {
  readonly name = 'web-push';
  constructor(
    private readonly deps: {
      devices: DeviceStore;
      users: UserStore;
      vapid: VapidKeys;
      policy: PushEndpointPolicy;
      clock: Clock;
      logger: Logger;
    },
  ) {}

  async notify(notice: ChallengeNotice): Promise<void> {
    const devices = (await this.deps.devices.list(notice.userId)).filter(
      (d) => d.pushSubscription && notice.deviceIds.includes(d.id),
    );
    if (devices.length === 0) return;
    const user = await this.deps.users.get(notice.userId);
    const language = user?.language ?? 'en';
    const payload = JSON.stringify({
      type: 'challenge',
      id: notice.flowId,
      title: translate(language, 'push.notification.title'),
      body: translate(language, 'push.notification.body'),
    });
    const ttl = Math.max(0, Math.floor((notice.expiresAt - this.deps.clock.now()) / 1000));
    await Promise.all(
      devices.map(async (device) => {
        const subscription = device.pushSubscription;
        if (!subscription) return;
        if (!endpointAllowed(subscription.endpoint, this.deps.policy)) {
          this.deps.logger.warn({ deviceId: device.id }, 'push endpoint not allowed; subscription ignored');
          return;
        }
        const status = await this.send(subscription, payload, ttl);
        if (status === 404 || status === 410) {
          await this.deps.devices.dropPushSubscription(device.id, subscription.endpoint);
          this.deps.logger.info({ deviceId: device.id, status }, 'push subscription gone; deleted');
        } else if (status < 200 || status >= 300) {
          this.deps.logger.warn({ deviceId: device.id, status }, 'push service refused the notification');
        }
      }),
    );
  }

  private async send(
    subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
    payload: string,
    ttl: number,
  ): Promise<number> {
    const details = webpush.generateRequestDetails(subscription, payload, {
      TTL: ttl,
      urgency: 'high',
      topic: 'challenge',
      vapidDetails: this.deps.vapid,
    });
    const headers = Object.fromEntries(Object.entries(details.headers).map(([k, v]) => [k, String(v)]));
    delete headers['Content-Length']; // fetch sets it from the body
    const response = await fetch(details.endpoint, {
      method: 'POST',
      headers,
      body: details.body ?? null,
      redirect: 'error',
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.status;
  }
}
