import { randomInt } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../engine/keys.js';
import { isSecretHash } from '../security/pin-hash.js';
import { usernameKey } from '../users/user.js';
import type { HashedAnswer } from './answer-hash.js';

/** An integer in `[0, maxExclusive)`, uniformly; injected so tests choose the questions. */
export type RandomInt = (maxExclusive: number) => number;

export const cryptoRandomInt: RandomInt = (maxExclusive) => randomInt(maxExclusive);

/** `count` distinct ids of `ids`, in the order drawn (a partial Fisher-Yates shuffle). */
export function pickQuestions(ids: readonly string[], count: number, random: RandomInt): string[] {
  if (!Number.isInteger(count) || count < 0 || count > ids.length) {
    throw new RangeError(`cannot pick ${count} of ${ids.length} questions`);
  }
  const pool = [...ids];
  for (let i = 0; i < count; i++) {
    const span = pool.length - i;
    const offset = random(span);
    if (!Number.isInteger(offset) || offset < 0 || offset >= span) {
      throw new RangeError(`random(${span}) returned ${offset}`);
    }
    const j = i + offset;
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}

export interface QuestionStoreOptions {
  /**
   * How long a picked challenge is kept, in seconds (default 900): asking again within that time gets the same
   * questions, so a caller cannot re-roll until it sees questions it can answer. 0 picks anew every time.
   */
  challengeHoldSeconds?: number;
}

interface StoredAnswers {
  v: 1;
  answers: HashedAnswer[];
}

const DEFAULT_HOLD_SECONDS = 15 * 60;

/**
 * Each user's security-question hashes, one Redis string per user (`{tag}:questions:<username>`), and the
 * challenge currently asked (`...:challenge`, expiring).
 */
export class QuestionStore {
  private readonly holdSeconds: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    opts: QuestionStoreOptions = {},
  ) {
    this.holdSeconds = Math.max(0, Math.floor(opts.challengeHoldSeconds ?? DEFAULT_HOLD_SECONDS));
  }

  private key(username: string): string {
    return `${this.keys.tag}:questions:${encodeURIComponent(usernameKey(username))}`;
  }
  private challengeKey(username: string): string {
    return `${this.key(username)}:challenge`;
  }

  /** Replaces the user's answers (and drops a pending challenge). */
  async save(username: string, hashed: readonly HashedAnswer[]): Promise<void> {
    if (hashed.length === 0) throw new Error('questions: nothing to save');
    const ids = new Set<string>();
    for (const { questionId, hash } of hashed) {
      if (!questionId || !isSecretHash(hash)) throw new Error('questions: save takes hashed answers');
      if (ids.has(questionId)) throw new Error(`questions: ${questionId} appears twice`);
      ids.add(questionId);
    }
    const value: StoredAnswers = {
      v: 1,
      answers: hashed.map(({ questionId, hash }) => ({ questionId, hash })),
    };
    await this.redis
      .multi()
      .set(this.key(username), JSON.stringify(value))
      .del(this.challengeKey(username))
      .exec();
  }

  /** The user's hashed answers; null when none are set. */
  async load(username: string): Promise<HashedAnswer[] | null> {
    const raw = await this.redis.get(this.key(username));
    if (!raw) return null;
    const value = JSON.parse(raw) as StoredAnswers;
    return Array.isArray(value.answers) && value.answers.length > 0 ? value.answers : null;
  }

  /** Removes the answers and any pending challenge; true when there were answers. */
  async clear(username: string): Promise<boolean> {
    const removed = await this.redis.del(this.key(username), this.challengeKey(username));
    return removed > 0;
  }

  /**
   * The ids of `count` distinct questions to ask, drawn from the user's answered ones; null when the user has
   * fewer than `count` answers. Within the hold time the same challenge comes back (see `QuestionStoreOptions`).
   */
  async pickChallenge(
    username: string,
    count: number,
    random: RandomInt = cryptoRandomInt,
  ): Promise<string[] | null> {
    const answers = await this.load(username);
    if (!answers || !Number.isInteger(count) || count < 1 || answers.length < count) return null;
    const ids = answers.map((answer) => answer.questionId);
    if (this.holdSeconds === 0) return pickQuestions(ids, count, random);

    const key = this.challengeKey(username);
    const held = this.parseHeld(await this.redis.get(key), ids, count);
    if (held) return held;
    const picked = pickQuestions(ids, count, random);
    const previous = await this.redis.set(key, JSON.stringify(picked), 'EX', this.holdSeconds, 'GET');
    // A concurrent request may have stored a challenge between our read and write: keep theirs.
    const raced = this.parseHeld(previous, ids, count);
    if (raced) {
      await this.redis.set(key, JSON.stringify(raced), 'EX', this.holdSeconds);
      return raced;
    }
    return picked;
  }

  /** Ends the held challenge (after a successful answer), so the next sign-in draws new questions. */
  async releaseChallenge(username: string): Promise<void> {
    await this.redis.del(this.challengeKey(username));
  }

  private parseHeld(raw: string | null, ids: readonly string[], count: number): string[] | null {
    if (!raw) return null;
    try {
      const held = JSON.parse(raw) as unknown;
      if (
        Array.isArray(held) &&
        held.length === count &&
        held.every((id) => typeof id === 'string' && ids.includes(id)) &&
        new Set(held).size === held.length
      ) {
        return held as string[];
      }
    } catch {
      // an unreadable challenge is replaced
    }
    return null;
  }
}
