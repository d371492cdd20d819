import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessagingCarrier, OutboundSms } from '../../src/carriers/messaging-port.js';
import { clearUndeliverable, markUndeliverable } from '../../src/carriers/simulator/simulator-routes.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { createUser, postWebhook, textsTo, waitForStatus } from '../support/sms-helpers.js';
import { startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let seq = 0;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

async function newUser(t: TestRuntime) {
  seq += 1;
  const mobile = `+1202555${String(6300 + seq)}`;
  const username = `undeliv${seq}`;
  await createUser(t, { username, phones: { mobile } });
  return { username, mobile };
}

/**
 * A carrier whose status callback beats its own REST answer: it reports the text `undelivered` (signed, to the
 * engine's webhook, and waits for the engine to answer it) before it answers the send with the message id.
 */
function carrierFasterThanItsAnswer(t: () => TestRuntime) {
  const sent: OutboundSms[] = [];
  const callbacks: number[] = [];
  const carrier: MessagingCarrier = {
    name: 'signalwire-cxml',
    async start() {},
    async sendSms(sms) {
      sent.push(sms);
      const sid = `SMfast${sent.length}${Date.now()}`;
      const answer = await postWebhook(t(), '/webhooks/sms/status', {
        MessageSid: sid,
        MessageStatus: 'undelivered',
        ErrorCode: '30003',
      });
      callbacks.push(answer.status);
      return { sid };
    },
    readiness: () => ({ ok: true, detail: 'fake' }),
    async stop() {},
  };
  return { carrier, sent, callbacks };
}

describe('a delivery failure reported before the carrier answered the send', () => {
  let t: TestRuntime;
  const fake = carrierFasterThanItsAnswer(() => t);
  beforeAll(async () => {
    t = await startTestRuntime(redis.url, {}, { carrier: fake.carrier });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('still fails the verification as undeliverable (5 of 5)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const { username } = await newUser(t);
      ids.push((await t.api('/api/v1/verifications', { body: { username } })).body.id);
    }
    const verdicts = await Promise.all(ids.map((id) => waitForStatus(t, id, 'failed')));
    expect(verdicts.map((v) => v.reason)).toEqual(Array(5).fill('undeliverable'));
    expect(fake.callbacks).toEqual(Array(5).fill(204));
  });
});

describe('end to end through the simulator', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime(redis.url);
  });
  afterAll(async () => {
    clearUndeliverable();
    await t?.stop();
  });

  it('fails a text verification whose handset is unreachable (the simulator reports "failed")', async () => {
    const { username, mobile } = await newUser(t);
    markUndeliverable(mobile);
    const { body } = await t.api('/api/v1/verifications', { body: { username } });
    const failed = await waitForStatus(t, body.id, 'failed');
    expect(failed.reason).toBe('undeliverable');
    const [text] = await textsTo(t, mobile);
    expect(text?.status).toBe('failed');
  });
});
