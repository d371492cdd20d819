import type { Redis } from 'ioredis';
import type { Keys } from '../engine/keys.js';
import { type User, type UserStanding, usernameKey } from '../users/user.js';

const MAX_OPTIMISTIC_RETRIES = 10;

export class UserStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  private key(username: string) {
    return this.keys.user(encodeURIComponent(usernameKey(username)));
  }
  private standingKey(username: string) {
    return `${this.key(username)}:standing`;
  }

  async get(username: string): Promise<User | null> {
    const raw = await this.redis.get(this.key(username));
    return raw ? (JSON.parse(raw) as User) : null;
  }

  /** Creates the user; false when the username is taken. */
  async create(user: User): Promise<boolean> {
    const created = await this.redis.set(this.key(user.username), JSON.stringify(user), 'NX');
    if (created) await this.redis.zadd(this.keys.users(), 0, usernameKey(user.username));
    return created === 'OK';
  }

  /** Applies `change` with optimistic locking; null when the user does not exist. */
  async update(username: string, change: (user: User) => User | Promise<User>): Promise<User | null> {
    const key = this.key(username);
    for (let i = 0; i < MAX_OPTIMISTIC_RETRIES; i += 1) {
      const connection = this.redis.duplicate();
      try {
        await connection.watch(key);
        const raw = await connection.get(key);
        if (!raw) return null;
        const next = await change(JSON.parse(raw) as User);
        const result = await connection.multi().set(key, JSON.stringify(next)).exec();
        if (result) return next;
      } finally {
        connection.disconnect();
      }
    }
    throw new Error('user update kept conflicting');
  }

  async delete(username: string): Promise<boolean> {
    const removed = await this.redis.del(this.key(username), this.standingKey(username));
    await this.redis.zrem(this.keys.users(), usernameKey(username));
    return removed > 0;
  }

  async list(offset: number, limit: number): Promise<string[]> {
    return this.redis.zrange(this.keys.users(), String(offset), String(offset + limit - 1));
  }

  async standing(username: string): Promise<UserStanding> {
    const raw = await this.redis.hgetall(this.standingKey(username));
    const num = (v: string | undefined) => (v ? Number(v) : null);
    return {
      failures: Number(raw.failures ?? 0),
      lockedUntil: num(raw.lockedUntil),
      blockedUntil: num(raw.blockedUntil),
      blockReason: raw.blockReason ?? null,
    };
  }

  async block(username: string, until: number, reason: string): Promise<void> {
    await this.redis.hset(this.standingKey(username), 'blockedUntil', until, 'blockReason', reason);
  }

  async unblock(username: string): Promise<void> {
    await this.redis.hdel(
      this.standingKey(username),
      'blockedUntil',
      'blockReason',
      'lockedUntil',
      'failures',
    );
  }

  /** Counts consecutive failures; locks when the threshold is reached. Success resets the count. */
  async recordOutcome(
    username: string,
    outcome: 'success' | 'failure',
    lockout: { threshold: number; lockUntil: number },
  ): Promise<void> {
    const key = this.standingKey(username);
    if (outcome === 'success') {
      await this.redis.hdel(key, 'failures', 'lockedUntil');
      return;
    }
    const failures = await this.redis.hincrby(key, 'failures', 1);
    if (failures >= lockout.threshold) {
      await this.redis.multi().hset(key, 'lockedUntil', lockout.lockUntil).hset(key, 'failures', 0).exec();
    }
  }
}
