import type { Redis } from 'ioredis';
import type { FlowIndexEntry } from '../engine/flow-store.js';
import type { Keys } from '../engine/keys.js';

const REPLY_WINDOW_SECONDS = 24 * 3600;
/** How long a status callback that beat the carrier's REST answer waits for the message's flow to be known. */
const EARLY_STATUS_SECONDS = 10 * 60;

/**
 * The message's flow is recorded and the statuses that arrived before it are taken, in one step; and a status
 * finds the flow or is parked, in one step: whichever runs second sees what the first wrote, in either order.
 * KEYS: bySid, early; ARGV: flowId, ttlSeconds. Returns the parked statuses.
 */
const REMEMBER_MESSAGE = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local parked = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return parked
`;
/** KEYS: bySid, early; ARGV: status, ttlSeconds. Returns the flow id, or false after parking the status. */
const FLOW_FOR_STATUS = `
local flowId = redis.call('GET', KEYS[1])
if flowId then return flowId end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -10, -1)
redis.call('EXPIRE', KEYS[2], ARGV[2])
return false
`;
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

  /**
   * Records which flow a code text belongs to, once the carrier answered with its id, and returns the delivery
   * statuses that reached us before that answer did (a carrier's callback can beat its own REST response).
   */
  async rememberMessage(sid: string, flowId: string): Promise<string[]> {
    const parked = await this.redis.eval(
      REMEMBER_MESSAGE,
      2,
      this.keys.smsBySid(sid),
      this.keys.smsEarlyStatus(sid),
      flowId,
      REPLY_WINDOW_SECONDS,
    );
    return parked as string[];
  }

  /** The flow a delivery status is for; when its text's id is not recorded yet, the status waits for it. */
  async flowForStatus(sid: string, status: string): Promise<string | null> {
    const flowId = await this.redis.eval(
      FLOW_FOR_STATUS,
      2,
      this.keys.smsBySid(sid),
      this.keys.smsEarlyStatus(sid),
      status,
      EARLY_STATUS_SECONDS,
    );
    return typeof flowId === 'string' ? flowId : null;
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
