import type { Redis } from 'ioredis';
import type { FlowIndexEntry } from '../engine/flow-store.js';
import type { Keys } from '../engine/keys.js';

const REPLY_WINDOW_SECONDS = 24 * 3600;
const KEEP_PER_NUMBER = 10;

/** Which SMS flows texted a number (to route replies) and which message ids belong to which flow. */
export class SmsDirectory {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /**
   * The entry an SMS flow joins in the same commit that queues its first text (`FlowEngine.start`), so a reply
   * that beats the start request's answer already finds its flow.
   */
  replyIndex(e164: string): FlowIndexEntry {
    return { key: this.keys.smsByPhone(e164), keep: KEEP_PER_NUMBER, ttlSeconds: REPLY_WINDOW_SECONDS };
  }

  /**
   * The flow a reply from this number answers: the newest flow that texted it, while it waits for an answer or
   * has expired (a late reply hears "expired"); otherwise none. Never an older flow: a new verification to a
   * number supersedes the older ones (`olderFlows`), and a reply is judged only against the newest.
   */
  async flowForReply(e164: string): Promise<string | null> {
    const [newest] = await this.redis.zrevrange(this.keys.smsByPhone(e164), 0, 0);
    if (!newest) return null;
    const status = await this.redis.hget(this.keys.flow(newest), 'status');
    return status === 'pending' || status === 'expired' ? newest : null;
  }

  /** The flows that texted this number before `flowId` did (oldest first); none when it is not indexed. */
  async olderFlows(e164: string, flowId: string): Promise<string[]> {
    const key = this.keys.smsByPhone(e164);
    const rank = await this.redis.zrank(key, flowId);
    if (rank === null || rank === 0) return [];
    return this.redis.zrange(key, 0, String(rank - 1));
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
