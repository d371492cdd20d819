import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeSecrets } from '../../src/security/secrets.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import {
  codeIn,
  createUser,
  postWebhook,
  replyFrom,
  SERVICE_NUMBER,
  waitForStatus,
  waitForTexts,
} from '../support/sms-helpers.js';
import { startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

// The test runtime's SECRET_KEY: the test derives a code as the carrier's handset would read it in the text.
const secrets = new CodeSecrets('test-secret-key-0123456789');

let redis: RedisServerHandle;
let t: TestRuntime;
let seq = 0;
/** Users whose handset answers before the start request has returned: username -> sender, text after the code. */
const replyAtOnce = new Map<string, { from: string; suffix: string }>();
const earlyReplies: number[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(
    redis.url,
    {},
    {
      hooks: {
        // Runs after a commit and before its effects are queued: the start request has not answered yet.
        afterCommit: async (flowId, version) => {
          if (version !== 1) return;
          const flow = await t.runtime.store.load(flowId);
          const handset = flow && replyAtOnce.get(flow.userId);
          if (!handset) return;
          replyAtOnce.delete(flow.userId);
          const code = secrets.codeFor(flowId, (flow.input as { nonce: string }).nonce, 6);
          const answer = await postWebhook(t, '/webhooks/sms', {
            MessageSid: `SMearly${flowId}`,
            From: handset.from,
            To: SERVICE_NUMBER,
            Body: `${code}${handset.suffix}`,
          });
          earlyReplies.push(answer.status);
        },
      },
    },
  );
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

async function newUser(pin?: string) {
  seq += 1;
  const mobile = `+1202555${String(6100 + seq)}`;
  const username = `route${seq}`;
  await createUser(t, { username, phones: { mobile }, ...(pin ? { pin } : {}) });
  return { username, mobile };
}

describe('a reply that beats the start request', () => {
  it('is judged against its own verification, with and without a PIN (5 + 5 of 10 approved)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const pin = i % 2 ? '4821' : undefined;
      const { username, mobile } = await newUser(pin);
      replyAtOnce.set(username, { from: mobile, suffix: pin ? ` ${pin}` : '' });
      const { body } = await t.api('/api/v1/verifications', { body: { username } });
      ids.push(body.id);
    }
    expect(earlyReplies).toEqual(Array(10).fill(200));
    for (const id of ids) {
      const approved = await waitForStatus(t, id, 'approved');
      expect(approved.status).toBe('approved');
    }
  });
});

describe('two pending verifications for one number', () => {
  it('judges a reply against the newest; the older ends superseded and counts no failure', async () => {
    const { username, mobile } = await newUser('4821');
    const older = await t.api('/api/v1/verifications', { body: { username } });
    await waitForTexts(t, mobile, 1);
    const newer = await t.api('/api/v1/verifications', { body: { username } });
    const newerCode = codeIn((await waitForTexts(t, mobile, 2))[1]!);

    const superseded = await waitForStatus(t, older.body.id, 'failed');
    expect(superseded.reason).toBe('superseded');
    await replyFrom(t, mobile, `${newerCode} 4821`);
    await waitForStatus(t, newer.body.id, 'approved');

    const { body: user } = await t.api(`/api/v1/users/${username}`);
    expect(user.failedAttempts).toBe(0);
    expect((await t.api(`/api/v1/verifications/${older.body.id}`)).body.reason).toBe('superseded');
  });

  it("an answer to the older code is a wrong answer of the newest, never of the older one's", async () => {
    const { username, mobile } = await newUser();
    const older = await t.api('/api/v1/verifications', { body: { username } });
    const olderCode = codeIn((await waitForTexts(t, mobile, 1))[0]!);
    const newer = await t.api('/api/v1/verifications', { body: { username } });
    await waitForTexts(t, mobile, 2);
    await waitForStatus(t, older.body.id, 'failed');

    await replyFrom(t, mobile, olderCode);
    await waitForTexts(t, mobile, 3);
    const judged = await t.api(`/api/v1/verifications/${newer.body.id}`);
    expect([judged.body.status, judged.body.attemptsLeft]).toEqual(['pending', 2]);
    const old = await t.api(`/api/v1/verifications/${older.body.id}`);
    expect([old.body.status, old.body.reason]).toEqual(['failed', 'superseded']);
  });
});
