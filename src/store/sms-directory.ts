import type { Redis } from 'ioredis';
import type { Keys } from '../engine/keys.js';

const REPLY_WINDOW_SECONDS = 24 * 3600;
const KEEP_PER_NUMBER = 10;

/** Which SMS flows texted a number (to route replies) and which message ids belong to which flow. */
export class SmsDirectory {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async addFlow(e164: string, flowId: string, at: number): Promise<void> {
    const key = this.keys.smsByPhone(e164);
    await this.redis
      .multi()
      .zadd(key, at, flowId)
      .zremrangebyrank(key, 0, -(KEEP_PER_NUMBER + 1))
      .expire(key, REPLY_WINDOW_SECONDS)
      .exec();
  }

  /**
   * The flow a reply from this number answers: the newest pending one; otherwise the newest expired one, so a
   * late reply hears "expired"; otherwise none.
   */
  async flowForReply(e164: string): Promise<string | null> {
    const ids = await this.redis.zrevrange(this.keys.smsByPhone(e164), 0, KEEP_PER_NUMBER - 1);
    if (ids.length === 0) return null;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.keys.flow(id), 'status');
    const statuses = ((await pipeline.exec()) ?? []).map(([, status]) => status as string | null);
    const pending = ids.find((_, i) => statuses[i] === 'pending');
    if (pending) return pending;
    return ids.find((_, i) => statuses[i] === 'expired') ?? null;
  }

  async rememberMessage(sid: string, flowId: string): Promise<void> {
    await this.redis.set(this.keys.smsBySid(sid), flowId, 'EX', REPLY_WINDOW_SECONDS);
  }

  async flowForMessage(sid: string): Promise<string | null> {
    return this.redis.get(this.keys.smsBySid(sid));
  }

  async optOut(e164: string): Promise<void> {
    await this.redis.set(this.keys.optOut(e164), '1');
  }

  async optIn(e164: string): Promise<void> {
    await this.redis.del(this.keys.optOut(e164));
  }

  async isOptedOut(e164: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.optOut(e164))) === 1;
  }
}
