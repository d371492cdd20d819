import fc from 'fast-check';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { createUser, postWebhook, waitForStatus } from '../support/sms-helpers.js';
import { startTestRuntime, TEST_SIGNING_KEY, type TestRuntime } from '../support/test-runtime.js';
import { callsTo, ringing, waitForCall } from '../support/voice-helpers.js';

let redis: RedisServerHandle;
let t: TestRuntime;
let seq = 0;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url);
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

/** A pending voice flow whose call the simulator placed; the test then plays the carrier by hand. */
async function ringingFlow() {
  seq += 1;
  const primary = `+1202555${String(6000 + seq)}`;
  await createUser(t, { username: `vw${seq}`, phones: { primary }, pin: '4821', pinMustChange: false });
  const { body } = await t.api('/api/v1/verifications', { body: { username: `vw${seq}`, method: 'voice' } });
  await waitForCall(t, primary, ringing);
  return { id: body.id as string, primary };
}

const version = async (id: string) => (await t.runtime.store.load(id))?.version;

describe('voice webhooks', () => {
  it('accepts an answer signed by an independent implementation and refuses a forged one', async () => {
    const { id } = await ringingFlow();
    const path = `/webhooks/voice?flow=${id}`;
    const params = { CallSid: 'CAhand0001', CallStatus: 'in-progress', AnsweredBy: 'human' };
    const url = `${t.baseUrl}${path}`;
    const forged = await postWebhook(t, path, params, {
      signature: twilio.getExpectedTwilioSignature('not-the-key', url, params),
    });
    expect(forged.status).toBe(403);
    expect(await version(id)).toBe(1);
    const signed = await postWebhook(t, path, params, {
      signature: twilio.getExpectedTwilioSignature(TEST_SIGNING_KEY, url, params),
    });
    expect(signed.status).toBe(200);
    expect(signed.text).toContain('<Gather input="dtmf"');
    expect(await version(id)).toBe(2);
    // The flow id is part of the signed URL: moving the signature to another flow fails.
    const other = await ringingFlow();
    const moved = await postWebhook(t, `/webhooks/voice?flow=${other.id}`, params, {
      signature: twilio.getExpectedTwilioSignature(TEST_SIGNING_KEY, url, params),
    });
    expect(moved.status).toBe(403);
  });

  it('answers a retried answer or gather webhook the same way, changing nothing twice', async () => {
    const { id } = await ringingFlow();
    const answer = { CallSid: 'CAhand0002', CallStatus: 'in-progress' };
    const first = await postWebhook(t, `/webhooks/voice?flow=${id}`, answer);
    const again = await postWebhook(t, `/webhooks/voice?flow=${id}`, answer);
    expect(again.text).toBe(first.text);
    expect(await version(id)).toBe(2);
    const step = /step=(\d+)/.exec(first.text)?.[1];
    const gather = `/webhooks/voice/gather?flow=${id}&step=${step}`;
    const wrong = await postWebhook(t, gather, { CallSid: 'CAhand0002', Digits: '9999' });
    const retried = await postWebhook(t, gather, { CallSid: 'CAhand0002', Digits: '9999' });
    expect(wrong.text).toContain('That is not right.');
    expect(retried.text).toBe(wrong.text);
    const flow = await t.runtime.store.load(id);
    expect((flow!.snapshot as { context: { attempts: number } }).context.attempts).toBe(1);
  });

  it('takes duplicate and out-of-order status callbacks safely', async () => {
    const { id } = await ringingFlow();
    const status = (CallStatus: string, SequenceNumber: string) =>
      postWebhook(t, `/webhooks/voice/status?flow=${id}`, {
        CallSid: 'CAhand0003',
        CallStatus,
        SequenceNumber,
      });
    // completed arrives before in-progress, twice.
    expect((await status('completed', '3')).status).toBe(204);
    expect((await status('completed', '3')).status).toBe(204);
    expect((await status('in-progress', '2')).status).toBe(204);
    expect((await status('ringing', '1')).status).toBe(204);
    const failed = await waitForStatus(t, id, 'failed');
    expect(failed.reason).toBe('hung-up');
    expect(await version(id)).toBe(2);
    // A late answer for the finished flow is hung up politely.
    const late = await postWebhook(t, `/webhooks/voice?flow=${id}`, {
      CallSid: 'CAhand0003',
      CallStatus: 'in-progress',
    });
    expect(late.text).toContain('<Hangup/>');
    expect(await version(id)).toBe(2);
  });

  it('hangs up on an unknown flow and refuses malformed posts without a 5xx', async () => {
    const unknown = await postWebhook(t, '/webhooks/voice?flow=nope', { CallSid: 'CAx' });
    expect([unknown.status, unknown.text.includes('<Hangup/>')]).toEqual([200, true]);
    expect(
      (await postWebhook(t, '/webhooks/voice/status?flow=nope', { CallSid: 'CAx', CallStatus: 'busy' }))
        .status,
    ).toBe(204);
    expect((await postWebhook(t, '/webhooks/voice?flow=bad%20id', { CallSid: 'CAx' })).status).toBe(400);
    expect((await postWebhook(t, '/webhooks/voice/gather?flow=x', {})).status).toBe(400);
  });

  it('never answers a 5xx to arbitrary signed or unsigned voice webhooks (property)', async () => {
    const { id, primary } = await ringingFlow();
    const field = fc.constantFrom(
      'CallSid',
      'CallStatus',
      'Digits',
      'AnsweredBy',
      'SequenceNumber',
      '__proto__',
    );
    const form = fc.dictionary(field, fc.string({ maxLength: 40 }), { maxKeys: 5 });
    const path = fc.constantFrom(
      `/webhooks/voice?flow=${id}`,
      `/webhooks/voice/gather?flow=${id}&step=1`,
      `/webhooks/voice/status?flow=${id}`,
      '/webhooks/voice?flow=',
    );
    await fc.assert(
      fc.asyncProperty(form, fc.boolean(), path, async (params, signed, p) => {
        const result = await postWebhook(t, p, params, signed ? {} : { signature: 'bogus' });
        expect(result.status).toBeLessThan(500);
        if (!signed) expect(result.status).toBe(403);
      }),
      { numRuns: 120 },
    );
    expect(await callsTo(t, primary)).toHaveLength(1);
  });
});
