import type { Redis } from 'ioredis';
import type { UserPrecondition } from '../../flows/effects.js';
import type { Keys } from '../engine/keys.js';
import { type User, type UserStanding, usernameKey } from '../users/user.js';
import { LOCKOUT_SCRIPT } from './lockout-script.js';

const MAX_OPTIMISTIC_RETRIES = 10;

/** The escalating lockout's settings (see `LOCKOUT_SCRIPT`). */
export interface LockoutPolicy {
  threshold: number;
  firstLockMs: number;
  /** The lock of this level (1-based) is a hard lock. */
  hardLockAt: number;
  /** A quiet period this long (no failure, no lock) returns the level to 0; 0 never does. */
  quietMs: number;
}

export type LockoutVerdict = 'counted' | 'locked-now' | 'hard-now' | 'blocked' | 'hard' | 'locked' | 'ok';

export interface LockoutResult {
  verdict: LockoutVerdict;
  level: number;
  lockedUntil: number | null;
  failures: number;
}

type LockoutCommand = (
  key: string,
  ...args: (string | number)[]
) => Promise<[string, number, number, number]>;

export class UserStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    // defineCommand sends EVALSHA and falls back to EVAL once after a Redis restart flushed the script cache.
    if (!('mfaLockout' in redis)) redis.defineCommand('mfaLockout', { numberOfKeys: 1, lua: LOCKOUT_SCRIPT });
  }

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
    return this.optimistic(username, async (user) => {
      const next = await change(user);
      return { next, result: next };
    });
  }

  /**
   * Compare-and-set: applies `change` only while the user is still as `expected` says (her `enrolledAt` and
   * `updatedAt`, read when the writer began), and stamps the write with `writer`. 'stale' when she changed in
   * between (enrolled or changed elsewhere); a retry by the same writer finds its own stamp and answers 'saved'.
   */
  async updateIf(
    username: string,
    expected: UserPrecondition,
    writer: string,
    change: (user: User) => User,
  ): Promise<'saved' | 'stale' | 'missing'> {
    const outcome = await this.optimistic(username, async (user) => {
      if (user.changedBy === writer) return { result: 'saved' as const };
      if ((user.enrolledAt ?? null) !== expected.enrolledAt || user.updatedAt !== expected.updatedAt)
        return { result: 'stale' as const };
      return { next: { ...change(user), changedBy: writer }, result: 'saved' as const };
    });
    return outcome ?? 'missing';
  }

  /** WATCH, read, decide, MULTI/EXEC; again when another writer came between. Null when the user is absent. */
  private async optimistic<T>(
    username: string,
    decide: (user: User) => Promise<{ next?: User; result: T }>,
  ): Promise<T | null> {
    const key = this.key(username);
    for (let i = 0; i < MAX_OPTIMISTIC_RETRIES; i += 1) {
      const connection = this.redis.duplicate();
      try {
        await connection.watch(key);
        const raw = await connection.get(key);
        if (!raw) return null;
        const { next, result } = await decide(JSON.parse(raw) as User);
        if (!next) return result;
        if (await connection.multi().set(key, JSON.stringify(next)).exec()) return result;
      } finally {
        connection.disconnect();
      }
    }
    throw new Error('user update kept conflicting');
  }

  /** Stores `to` as the user's PIN hash only while it still is `from` (a rehash never overwrites a change). */
  async replacePinHash(username: string, from: string, to: string): Promise<void> {
    await this.update(username, (user) => (user.pinHash === from ? { ...user, pinHash: to } : user));
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
      lockLevel: Number(raw.lockLevel ?? 0),
      lockedUntil: num(raw.lockedUntil),
      hardLockedAt: num(raw.hardLockedAt),
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

  /**
   * One change to the lockout, atomically: `reserve` refuses when locked or blocked, else counts the attempt as
   * a failure until `settle` says it was right; `failure` and `success` are verdicts of whole verifications.
   */
  async lockout(
    username: string,
    op: 'reserve' | 'settle' | 'failure' | 'success',
    policy: LockoutPolicy,
    at: { now: number; token?: string; right?: boolean },
  ): Promise<LockoutResult> {
    const command = (this.redis as unknown as { mfaLockout: LockoutCommand }).mfaLockout;
    const [verdict, level, lockedUntil, failures] = await command.call(
      this.redis,
      this.standingKey(username),
      op,
      at.now,
      policy.threshold,
      policy.firstLockMs,
      policy.hardLockAt,
      policy.quietMs,
      at.token ?? '',
      at.right ? '1' : '0',
    );
    return { verdict: verdict as LockoutVerdict, level, lockedUntil: lockedUntil || null, failures };
  }

  /** Lifts any lock, timed or hard, and forgets the escalation (an administrator's unlock). */
  async clearLock(username: string): Promise<void> {
    await this.redis.hdel(
      this.standingKey(username),
      'failures',
      'lockLevel',
      'lockedUntil',
      'hardLockedAt',
      'lockToken',
      'lastFailureAt',
    );
  }
}
