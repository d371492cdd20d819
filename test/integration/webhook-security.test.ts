import fc from 'fast-check';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import {
  pendingSmsFlow,
  postWebhook,
  SERVICE_NUMBER,
  textsTo,
  waitForTexts,
} from '../support/sms-helpers.js';
import {
  effectsSettled,
  startTestRuntime,
  TEST_SIGNING_KEY,
  type TestRuntime,
} from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url);
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

let seq = 0;
function pendingFlow() {
  seq += 1;
  return pendingSmsFlow(t, `sig${seq}`, `+1202555${String(3000 + seq)}`);
}

const reply = (
  mobile: string,
  body: string,
  sid = `SM${Math.random().toString(16).slice(2).padEnd(32, '0')}`,
) => ({
  MessageSid: sid,
  AccountSid: 'AC0',
  From: mobile,
  To: SERVICE_NUMBER,
  Body: body,
});

async function flowState(id: string) {
  const flow = await t.runtime.store.load(id);
  if (!flow) throw new Error(`no flow ${id}`);
  const { attempts } = (flow.snapshot as { context: { attempts: number } }).context;
  return { version: flow.version, status: flow.status, attempts };
}

describe('webhook signatures', () => {
  it('accepts a reply signed by an independent implementation (twilio) and refuses another key', async () => {
    const { id, mobile } = await pendingFlow();
    const params = reply(mobile, '999999');
    const url = `${t.baseUrl}/webhooks/sms`;
    const forged = twilio.getExpectedTwilioSignature('some-other-signing-key', url, params);
    const refused = await postWebhook(t, '/webhooks/sms', params, {
      signature: forged,
      header: 'x-twilio-signature',
    });
    expect(refused.status).toBe(403);
    expect(await flowState(id)).toMatchObject({ version: 1, attempts: 0 });

    const signed = twilio.getExpectedTwilioSignature(TEST_SIGNING_KEY, url, params);
    const accepted = await postWebhook(t, '/webhooks/sms', params, {
      signature: signed,
      header: 'x-twilio-signature',
    });
    expect(accepted.status).toBe(200);
    expect(accepted.text).toContain('<Response>');
    expect(await flowState(id)).toMatchObject({ version: 2, attempts: 1 });
  });

  it('refuses missing, wrong and altered signatures with 403 and changes nothing', async () => {
    const { id, mobile } = await pendingFlow();
    const params = reply(mobile, '999999');
    const before = await flowState(id);
    expect((await postWebhook(t, '/webhooks/sms', params, { signature: null })).status).toBe(403);
    expect((await postWebhook(t, '/webhooks/sms', params, { key: 'wrong-key-0123456789' })).status).toBe(403);
    const url = `${t.baseUrl}/webhooks/sms`;
    const signedOriginal = twilio.getExpectedTwilioSignature(TEST_SIGNING_KEY, url, params);
    const altered = { ...params, Body: '0' };
    expect((await postWebhook(t, '/webhooks/sms', altered, { signature: signedOriginal })).status).toBe(403);
    const status = { MessageSid: 'SMx', MessageStatus: 'failed' };
    expect((await postWebhook(t, '/webhooks/sms/status', status, { signature: 'AAAA' })).status).toBe(403);
    expect(await flowState(id)).toEqual(before);
    expect(await textsTo(t, mobile)).toHaveLength(1);
  });

  it('applies the same webhook delivered twice only once', async () => {
    const { id, mobile } = await pendingFlow();
    const params = reply(mobile, '999999', 'SMduplicate00000000000000000000001');
    const first = await postWebhook(t, '/webhooks/sms', params);
    const second = await postWebhook(t, '/webhooks/sms', params);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.text).toBe(first.text);
    expect(await flowState(id)).toMatchObject({ version: 2, attempts: 1 });
    await waitForTexts(t, mobile, 2);
    const third = await postWebhook(t, '/webhooks/sms', {
      ...params,
      MessageSid: 'SMduplicate00000000000000000000002',
    });
    expect(third.status).toBe(200);
    expect(await flowState(id)).toMatchObject({ version: 3, attempts: 2 });
    await effectsSettled(t);
    expect(await textsTo(t, mobile)).toHaveLength(3); // the code, and one "wrong answer" per distinct reply
  });

  it('answers malformed but signed webhooks with 400, never 5xx', async () => {
    const bad = await postWebhook(t, '/webhooks/sms', { From: '+12025550000' });
    expect(bad.status).toBe(400);
    const unknownFlow = await postWebhook(t, '/webhooks/sms/status', {
      MessageSid: 'SMnope',
      MessageStatus: 'failed',
    });
    expect(unknownFlow.status).toBe(204);
  });

  it('never answers a 5xx to arbitrary form bodies, signed or not (property)', async () => {
    const { id } = await pendingFlow();
    const before = await flowState(id);
    const field = fc.constantFrom(
      'MessageSid',
      'From',
      'To',
      'Body',
      'MessageStatus',
      'AccountSid',
      'x',
      '__proto__',
      'constructor',
    );
    const form = fc.dictionary(field, fc.string({ maxLength: 80 }), { maxKeys: 6 });
    await fc.assert(
      fc.asyncProperty(
        form,
        fc.boolean(),
        fc.constantFrom('/webhooks/sms', '/webhooks/sms/status'),
        async (params, signed, path) => {
          const result = await postWebhook(t, path, params, signed ? {} : { signature: 'bogus' });
          expect(result.status).toBeLessThan(500);
          if (!signed) expect(result.status).toBe(403);
        },
      ),
      { numRuns: 150 },
    );
    // Fuzzed senders are not this flow's number, so nothing may have touched it.
    expect(await flowState(id)).toEqual(before);
  });

  it('refuses a huge body without a 5xx', async () => {
    const result = await postWebhook(t, '/webhooks/sms', { Body: 'x'.repeat(200_000) });
    expect(result.status).toBe(413);
  });
});
