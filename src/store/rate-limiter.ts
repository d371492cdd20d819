import type { Redis } from 'ioredis';
import type { Keys } from '../engine/keys.js';

/** Fixed-window counters in Redis, shared by every engine process. */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Counts one hit; true while the window's count stays within `limit`. */
  async hit(name: string, limit: number, windowSeconds: number): Promise<boolean> {
    const key = this.keys.rateLimit(name);
    const result = await this.redis.multi().incr(key).expire(key, windowSeconds, 'NX').exec();
    const count = Number(result?.[0]?.[1] ?? 0);
    return count <= limit;
  }

  async peek(name: string): Promise<number> {
    return Number((await this.redis.get(this.keys.rateLimit(name))) ?? 0);
  }
}
