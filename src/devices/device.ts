import type { JsonWebKey } from 'node:crypto';

/**
 * The kinds of authenticator the device store holds: the product's own app (signed device API) and the
 * privacyIDEA Authenticator (its push token protocol, `src/pipush/`).
 */
export type DeviceKind = 'dialtone-app' | 'pipush';

export const DEVICE_PLATFORMS = ['ios', 'android', 'desktop', 'cli', 'other'] as const;
export type DevicePlatform = (typeof DEVICE_PLATFORMS)[number];

/** A device's public key: what verifies its signed requests. */
export type DevicePublicKey =
  | { type: 'ec-p256'; jwk: JsonWebKey }
  /** base64 DER SubjectPublicKeyInfo of the app's RSA key (privacyIDEA Authenticator). */
  | { type: 'rsa-spki'; der: string };

/** The server's own RSA key pair for one privacyIDEA push token: it signs the challenges the app polls. */
export interface PipushServerKey {
  /** base64 DER PKCS#1 RSAPublicKey, as the app expects it. */
  publicPkcs1: string;
  /** The PKCS#8 PEM private key, sealed (AES-256-GCM, key from SECRET_KEY, the device id as associated data). */
  sealedPrivate: string;
}

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
  /** Only for kind `pipush`. */
  serverKey?: PipushServerKey;
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
