import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { usernameKey } from '../users/user.js';
import type { Device, PushSubscriptionRecord } from './device.js';
import type { DeviceKeys } from './device-keys.js';

// KEYS: user's device set, device hash. ARGV: max devices, device id, record JSON, now.
const REGISTER = `
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'record', ARGV[3])
return 1
`;

type Registration = Omit<Device, 'id' | 'lastUsedAt' | 'pushSubscription'>;

export const newDeviceId = () => randomBytes(16).toString('base64url');
export const userKeyOf = (userId: string) => encodeURIComponent(usernameKey(userId));

/** A user's registered authenticators: at most `maxDevices` each, added and removed atomically. */
export class DeviceStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: DeviceKeys,
  ) {}

  /** Registers a device (under `id` when the protocol names it, a token serial); null when the user has `maxDevices`. */
  async register(registration: Registration, maxDevices: number, id = newDeviceId()): Promise<Device | null> {
    const ok = await this.redis.eval(
      REGISTER,
      2,
      this.keys.userDevices(userKeyOf(registration.userId)),
      this.keys.device(id),
      maxDevices,
      id,
      JSON.stringify({ ...registration, id }),
    );
    if (ok === -1) throw new Error(`device id ${id} already taken`);
    return ok === 1 ? { ...registration, id, lastUsedAt: null, pushSubscription: null } : null;
  }

  async get(deviceId: string): Promise<Device | null> {
    const raw = await this.redis.hgetall(this.keys.device(deviceId));
    return raw.record ? toDevice(raw) : null;
  }

  async list(userId: string): Promise<Device[]> {
    const ids = await this.redis.smembers(this.keys.userDevices(userKeyOf(userId)));
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.device(id));
    const rows = (await pipeline.exec()) ?? [];
    return rows
      .map(([, raw]) => raw as Record<string, string>)
      .filter((raw) => raw?.record)
      .map(toDevice)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  async count(userId: string): Promise<number> {
    return this.redis.scard(this.keys.userDevices(userKeyOf(userId)));
  }

  /** Removes one of the user's devices; false when the user has no such device. */
  async remove(userId: string, deviceId: string): Promise<boolean> {
    const removed = await this.redis.srem(this.keys.userDevices(userKeyOf(userId)), deviceId);
    if (removed === 0) return false;
    await this.redis.del(this.keys.device(deviceId));
    return true;
  }

  /** Every device of a user (the user was deleted). */
  async removeAll(userId: string): Promise<number> {
    const key = this.keys.userDevices(userKeyOf(userId));
    const ids = await this.redis.smembers(key);
    if (ids.length) await this.redis.del(key, ...ids.map((id) => this.keys.device(id)));
    return ids.length;
  }

  async touch(deviceId: string, at: number): Promise<void> {
    // Only an existing device: a request racing its removal must not resurrect an empty hash.
    await this.redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[1]) end",
      1,
      this.keys.device(deviceId),
      at,
    );
  }

  async setPushSubscription(deviceId: string, subscription: PushSubscriptionRecord | null): Promise<void> {
    const key = this.keys.device(deviceId);
    if (subscription === null) {
      await this.redis.hdel(key, 'push');
      return;
    }
    await this.redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'push', ARGV[1]) end",
      1,
      key,
      JSON.stringify(subscription),
    );
  }

  /** Drops a subscription the push service said is gone, unless the device replaced it meanwhile. */
  async dropPushSubscription(deviceId: string, endpoint: string): Promise<void> {
    const device = await this.get(deviceId);
    if (device?.pushSubscription?.endpoint === endpoint) await this.setPushSubscription(deviceId, null);
  }
}

function toDevice(raw: Record<string, string>): Device {
  const record = JSON.parse(raw.record ?? '{}') as Omit<Device, 'lastUsedAt' | 'pushSubscription'>;
  return {
    ...record,
    lastUsedAt: raw.lastUsedAt ? Number(raw.lastUsedAt) : null,
    pushSubscription: raw.push ? (JSON.parse(raw.push) as PushSubscriptionRecord) : null,
  };
}
