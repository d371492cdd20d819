import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../src/engine/keys.js';
import { type HashedAnswer, hashAnswers } from '../../src/questions/answer-hash.js';
import { pickQuestions, QuestionStore, type RandomInt } from '../../src/questions/question-store.js';
import { SecretHasher } from '../../src/security/pin-hash.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';

const hasher = new SecretHasher('test-secret-key-0123456789');

/** Plays back the given draws, like a scripted die. */
function scripted(...draws: number[]): RandomInt & { calls: number[] } {
  const calls: number[] = [];
  const random = ((max: number) => {
    calls.push(max);
    const next = draws.shift();
    if (next === undefined) throw new Error('no more draws');
    return next;
  }) as RandomInt & { calls: number[] };
  random.calls = calls;
  return random;
}

const IDS = ['q.a', 'q.b', 'q.c', 'q.d', 'q.e', 'q.f'];

describe('pickQuestions', () => {
  it('draws distinct questions with the injected random, one draw per pick over the shrinking pool', () => {
    const random = scripted(0, 0, 0, 0);
    expect(pickQuestions(IDS, 4, random)).toEqual(['q.a', 'q.b', 'q.c', 'q.d']);
    expect(random.calls).toEqual([6, 5, 4, 3]);
    expect(pickQuestions(IDS, 3, scripted(5, 4, 0))).toEqual(['q.f', 'q.a', 'q.c']);
    expect(pickQuestions(IDS, 2, scripted(2, 2))).toEqual(['q.c', 'q.d']);
  });

  it('reaches every question and every position evenly', () => {
    const counts = new Map<string, number>();
    for (let first = 0; first < IDS.length; first++) {
      for (let second = 0; second < IDS.length - 1; second++) {
        const picked = pickQuestions(IDS, 2, scripted(first, second));
        expect(new Set(picked).size).toBe(2);
        for (const id of picked) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    }
    expect([...counts.values()]).toEqual(IDS.map(() => 10));
  });

  it('refuses impossible counts and a random out of range', () => {
    expect(() => pickQuestions(IDS, 7, scripted())).toThrow(RangeError);
    expect(() => pickQuestions(IDS, 1, scripted(6))).toThrow(/returned 6/);
    expect(() => pickQuestions(IDS, 1, scripted(0.5))).toThrow(RangeError);
    expect(pickQuestions(IDS, 0, scripted())).toEqual([]);
  });
});

describe('QuestionStore against a real redis-server', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let answers: HashedAnswer[];
  const keys = new Keys(`questions-test-${process.pid}`);

  beforeAll(async () => {
    server = await startRedisServer({ appendOnly: false });
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    answers = await hashAnswers(
      hasher,
      ['q.first-pet', 'q.first-school', 'q.parents-met', 'q.first-car', 'q.first-job'].map((questionId) => ({
        questionId,
        answer: `answer for ${questionId}`,
      })),
    );
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('saves, loads and clears by username (case-insensitive), under the tagged key', async () => {
    const store = new QuestionStore(redis, keys);
    expect(await store.load('ada')).toBeNull();
    await store.save('Ada', answers);
    expect(await store.load('ADA')).toEqual(answers);
    const raw = await redis.get(`{questions-test-${process.pid}}:questions:ada`);
    expect(raw).not.toContain('answer for');
    expect(await store.clear('ada')).toBe(true);
    expect(await store.load('ada')).toBeNull();
    expect(await store.clear('ada')).toBe(false);
  });

  it('refuses to save nothing, plain answers, or a question twice', async () => {
    const store = new QuestionStore(redis, keys);
    await expect(store.save('bob', [])).rejects.toThrow(/nothing/);
    await expect(store.save('bob', [{ questionId: 'q.first-pet', hash: 'fido' }])).rejects.toThrow(/hashed/);
    await expect(store.save('bob', [answers[0]!, answers[0]!])).rejects.toThrow(/twice/);
    expect(await store.load('bob')).toBeNull();
  });

  it('picks distinct stored questions with the injected random; null when too few', async () => {
    const store = new QuestionStore(redis, keys, { challengeHoldSeconds: 0 });
    expect(await store.pickChallenge('carol', 4, scripted(0, 0, 0, 0))).toBeNull();
    await store.save('carol', answers);
    expect(await store.pickChallenge('carol', 4, scripted(4, 0, 2, 0))).toEqual([
      'q.first-job',
      'q.first-school',
      'q.first-pet',
      'q.first-car',
    ]);
    expect(await store.pickChallenge('carol', 2, scripted(0, 0))).toEqual(['q.first-pet', 'q.first-school']);
    expect(await store.pickChallenge('carol', 6, scripted())).toBeNull();
    expect(await store.pickChallenge('carol', 0, scripted())).toBeNull();
    const picked = await store.pickChallenge('carol', 5);
    expect(new Set(picked).size).toBe(5);
  });

  it('holds a challenge so asking again cannot re-roll the questions, until released or re-saved', async () => {
    const store = new QuestionStore(redis, keys, { challengeHoldSeconds: 60 });
    await store.save('dave', answers);
    const first = await store.pickChallenge('dave', 4, scripted(0, 0, 0, 0));
    expect(first).toEqual(['q.first-pet', 'q.first-school', 'q.parents-met', 'q.first-car']);
    const again = scripted(4, 3, 2, 1);
    expect(await store.pickChallenge('dave', 4, again)).toEqual(first);
    expect(again.calls).toEqual([]);
    const ttl = await redis.ttl(`{questions-test-${process.pid}}:questions:dave:challenge`);
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);

    await store.releaseChallenge('dave');
    expect(await store.pickChallenge('dave', 4, scripted(4, 0, 0, 0))).toEqual([
      'q.first-job',
      'q.first-school',
      'q.parents-met',
      'q.first-car',
    ]);
    // New answers end the held challenge.
    await store.save('dave', answers.slice(1));
    expect(await store.pickChallenge('dave', 4, scripted(0, 0, 0, 0))).toEqual([
      'q.first-school',
      'q.parents-met',
      'q.first-car',
      'q.first-job',
    ]);
    // A different count is a different challenge.
    expect(await store.pickChallenge('dave', 2, scripted(3, 0))).toEqual(['q.first-job', 'q.parents-met']);
    await store.clear('dave');
    expect(await redis.exists(`{questions-test-${process.pid}}:questions:dave:challenge`)).toBe(0);
  });
});
