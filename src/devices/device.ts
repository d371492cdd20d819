import type { JsonWebKey } from 'node:crypto';

/** The kinds of authenticator the device store holds; another protocol adds its own kind and key type. */
export type DeviceKind = 'dialtone-app';

export const DEVICE_PLATFORMS = ['ios', 'android', 'desktop', 'cli', 'other'] as const;
export type DevicePlatform = (typeof DEVICE_PLATFORMS)[number];

/** A device's public key: what verifies its signed requests. */
export type DevicePublicKey = { type: 'ec-p256'; jwk: JsonWebKey };

/** A Web Push subscription as the browser's PushManager hands it out. */
export interface PushSubscriptionRecord {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  updatedAt: number;
}

export interface Device {
  id: string;
  userId: string;
  kind: DeviceKind;
  name: string;
  platform: DevicePlatform;
  publicKey: DevicePublicKey;
  createdAt: number;
  lastUsedAt: number | null;
  pushSubscription: PushSubscriptionRecord | null;
}

/** What the portal and the device itself may see: never the push keys. */
export function publicDevice(device: Device) {
  return {
    id: device.id,
    name: device.name,
    platform: device.platform,
    kind: device.kind,
    createdAt: new Date(device.createdAt).toISOString(),
    lastUsedAt: device.lastUsedAt === null ? null : new Date(device.lastUsedAt).toISOString(),
    webPush: device.pushSubscription !== null,
  };
}
export type PublicDevice = ReturnType<typeof publicDevice>;
