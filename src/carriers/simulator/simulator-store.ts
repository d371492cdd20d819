import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../../engine/keys.js';

/** A text as the simulated carrier space saw it. */
export interface SimulatedMessage {
  sid: string;
  from: string;
  to: string;
  body: string;
  status: string;
  direction: 'outbound' | 'inbound';
  /** ISO 8601 */
  createdAt: string;
}

/** What `add` takes: the sid is generated when absent. */
export type NewSimulatedMessage = Omit<SimulatedMessage, 'sid'> & { sid?: string };

const TTL_SECONDS = 24 * 60 * 60;
const TTL_MS = TTL_SECONDS * 1000;
/** At most this many entries stay in one number's index (older ones are trimmed on add). */
const MAX_PER_NUMBER = 500;
const SEQ_WIDTH = 16;

/** `SM` followed by 32 random hex characters, like a carrier MessageSid. */
export function newMessageSid(): string {
  return `SM${randomBytes(16).toString('hex')}`;
}

// Updates the status only when the message still exists, so an expired hash is never re-created without a TTL.
const SET_STATUS_IF_EXISTS = `
if redis.call('exists', KEYS[1]) == 1 then
  redis.call('hset', KEYS[1], 'status', ARGV[1])
  return 1
end
return 0`;

/**
 * The simulated space's messages, kept in Redis so every engine process shares one space: a hash per message and
 * a sorted set per number (score = creation time). Members are `<sequence>:<sid>`, so texts created within the
 * same millisecond (a frozen test clock) still list in the order they were added. Everything expires after a day.
 */
export class SimulatorStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  private messageKey(sid: string): string {
    return `${this.keys.tag}:sim:msg:${sid}`;
  }

  private numberKey(e164: string): string {
    return `${this.keys.tag}:sim:num:${e164}`;
  }

  private seqKey(): string {
    return `${this.keys.tag}:sim:seq`;
  }

  async add(message: NewSimulatedMessage): Promise<SimulatedMessage> {
    const stored: SimulatedMessage = {
      sid: message.sid ?? newMessageSid(),
      from: message.from,
      to: message.to,
      body: message.body,
      status: message.status,
      direction: message.direction,
      createdAt: message.createdAt,
    };
    const time = Date.parse(stored.createdAt);
    const score = Number.isFinite(time) ? time : 0;
    const seq = await this.redis.incr(this.seqKey());
    const member = `${String(seq).padStart(SEQ_WIDTH, '0')}:${stored.sid}`;
    const numbers = stored.from === stored.to ? [stored.to] : [stored.from, stored.to];
    const tx = this.redis.multi();
    tx.hset(this.messageKey(stored.sid), { ...stored });
    tx.expire(this.messageKey(stored.sid), TTL_SECONDS);
    for (const number of numbers) {
      const key = this.numberKey(number);
      tx.zadd(key, score, member);
      tx.zremrangebyscore(key, '-inf', `(${score - TTL_MS}`);
      tx.zremrangebyrank(key, 0, -(MAX_PER_NUMBER + 1));
      tx.expire(key, TTL_SECONDS);
    }
    await tx.exec();
    return stored;
  }

  /** Sets the status of a stored message; false when it does not exist (unknown or expired). */
  async setStatus(sid: string, status: string): Promise<boolean> {
    const updated = await this.redis.eval(SET_STATUS_IF_EXISTS, 1, this.messageKey(sid), status);
    return updated === 1;
  }

  async get(sid: string): Promise<SimulatedMessage | undefined> {
    return toMessage(await this.redis.hgetall(this.messageKey(sid)));
  }

  /** Messages to or from the number, newest first. */
  async listFor(e164: string, limit = 50): Promise<SimulatedMessage[]> {
    return listNewest(this.redis, this.numberKey(e164), limit, (sid) => this.messageKey(sid), toMessage);
  }
}

/**
 * The newest `limit` records of a number's index (a sorted set of `<score>:<sid>` members), newest first: each
 * read from its hash (`hashKey(sid)`) and decoded; records that expired meanwhile are left out.
 */
export async function listNewest<T>(
  redis: Redis,
  indexKey: string,
  limit: number,
  hashKey: (sid: string) => string,
  decode: (hash: Record<string, string>) => T | undefined,
): Promise<T[]> {
  const count = Math.max(0, Math.floor(limit));
  if (count === 0) return [];
  const members = await redis.zrevrange(indexKey, 0, count - 1);
  if (members.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const member of members) pipeline.hgetall(hashKey(member.slice(member.indexOf(':') + 1)));
  const results = (await pipeline.exec()) ?? [];
  const records: T[] = [];
  for (const [error, value] of results) {
    if (error) throw error;
    const record = decode(value as Record<string, string>);
    if (record) records.push(record);
  }
  return records;
}

function toMessage(hash: Record<string, string> | null | undefined): SimulatedMessage | undefined {
  if (!hash?.sid) return undefined;
  const direction = hash.direction === 'inbound' ? 'inbound' : 'outbound';
  return {
    sid: hash.sid,
    from: hash.from ?? '',
    to: hash.to ?? '',
    body: hash.body ?? '',
    status: hash.status ?? '',
    direction,
    createdAt: hash.createdAt ?? '',
  };
}
