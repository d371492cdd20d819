import type { Keys } from '../engine/keys.js';

/** Redis keys of devices, activations, device nonces and open pushes, under the engine's hash tag. */
export function deviceKeys(keys: Pick<Keys, 'tag'>) {
  const tag = keys.tag;
  return {
    /** Set of a user's device ids. */
    userDevices: (userKey: string) => `${tag}:devices:${userKey}`,
    /** Hash: `record` (the registration, JSON), `lastUsedAt`, `push` (the Web Push subscription, JSON). */
    device: (deviceId: string) => `${tag}:device:${deviceId}`,
    activation: (id: string) => `${tag}:activation:${id}`,
    /** A device's used request nonces (one key each, expiring after the signature window). */
    nonce: (deviceId: string, nonce: string) => `${tag}:device-nonce:${deviceId}:${nonce}`,
    /** The user's open push challenge (one at a time). */
    openPush: (userKey: string) => `${tag}:push:open:${userKey}`,
    /** Pub/sub: "<user key> challenge" wakes the user's long-polling devices. */
    wakeChannel: () => `${tag}:device-wake`,
  };
}
export type DeviceKeys = ReturnType<typeof deviceKeys>;
