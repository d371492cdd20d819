import type { Redis } from 'ioredis';
import type { Keys } from '../engine/keys.js';
import { usernameKey } from '../users/user.js';

export interface TotpRecord {
  /** Sealed secrets (see TotpSecretBox): the active one, and one being enrolled. */
  active: string | null;
  pending: string | null;
  activatedAt: number | null;
  /** The last time step a code was accepted for: a code of that step or an older one is a replay. */
  lastStep: number | null;
}

// KEYS: the record. ARGV: step. Accepts a step only if it is newer than the last accepted one (replay guard).
const ACCEPT_STEP = `
local last = tonumber(redis.call('HGET', KEYS[1], 'lastStep') or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('HSET', KEYS[1], 'lastStep', ARGV[1])
return 1
`;

// KEYS: the record. ARGV: sealed pending, step, now. Promotes the pending secret proven by a code of `step`.
const ACTIVATE = `
if redis.call('HGET', KEYS[1], 'pending') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'active', ARGV[1], 'lastStep', ARGV[2], 'activatedAt', ARGV[3])
redis.call('HDEL', KEYS[1], 'pending')
return 1
`;

/** One TOTP record per user. */
export class TotpStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<Keys, 'tag'>,
  ) {}

  private key(username: string) {
    return `${this.keys.tag}:totp:${encodeURIComponent(usernameKey(username))}`;
  }

  /** The user was deleted: a later user of the same name must not inherit the secret. */
  async delete(username: string): Promise<void> {
    await this.redis.del(this.key(username));
  }

  async get(username: string): Promise<TotpRecord> {
    const raw = await this.redis.hgetall(this.key(username));
    return {
      active: raw.active ?? null,
      pending: raw.pending ?? null,
      activatedAt: raw.activatedAt ? Number(raw.activatedAt) : null,
      lastStep: raw.lastStep ? Number(raw.lastStep) : null,
    };
  }

  async setPending(username: string, sealed: string): Promise<void> {
    await this.redis.hset(this.key(username), 'pending', sealed);
  }

  async activate(username: string, sealed: string, step: number, now: number): Promise<boolean> {
    return (await this.redis.eval(ACTIVATE, 1, this.key(username), sealed, step, now)) === 1;
  }

  async acceptStep(username: string, step: number): Promise<boolean> {
    return (await this.redis.eval(ACCEPT_STEP, 1, this.key(username), step)) === 1;
  }

  async remove(username: string): Promise<void> {
    await this.redis.del(this.key(username));
  }
}
