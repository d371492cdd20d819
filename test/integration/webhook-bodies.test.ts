/**
 * Webhook bodies: carriers post forms, so anything else is 415 and changes nothing, even with a valid signature
 * over the same parameters; a repeated form parameter is signed the way twilio's validateRequest signs it.
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { pendingSmsFlow, SERVICE_NUMBER } from '../support/sms-helpers.js';
import { startTestRuntime, TEST_SIGNING_KEY, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;

beforeAll(async () => {
  redis = await startRedisServer({ appendOnly: false });
  t = await startTestRuntime(redis.url);
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

let seq = 0;
function pendingFlow() {
  seq += 1;
  return pendingSmsFlow(t, `body${seq}`, `+1202555${String(4100 + seq)}`);
}

async function attempts(id: string) {
  const flow = await t.runtime.store.load(id);
  return {
    version: flow!.version,
    attempts: (flow!.snapshot as { context: { attempts: number } }).context.attempts,
  };
}

async function post(path: string, body: string, contentType: string | null, signature: string) {
  const response = await fetch(`${t.baseUrl}${path}`, {
    method: 'POST',
    headers: { ...(contentType ? { 'content-type': contentType } : {}), 'x-twilio-signature': signature },
    body,
  });
  return { status: response.status, text: await response.text() };
}

describe('webhook bodies', () => {
  it('refuses JSON, text and a missing content type with 415, even when correctly signed, and changes nothing', async () => {
    const { id, mobile } = await pendingFlow();
    const params = { MessageSid: `SM${'1'.repeat(32)}`, From: mobile, To: SERVICE_NUMBER, Body: '999999' };
    const url = `${t.baseUrl}/webhooks/sms`;
    const signature = twilio.getExpectedTwilioSignature(TEST_SIGNING_KEY, url, params);
    const before = await attempts(id);
    for (const [body, type] of [
      [JSON.stringify(params), 'application/json'],
      [new URLSearchParams(params).toString(), 'text/plain'],
      [new URLSearchParams(params).toString(), null],
    ] as const) {
      const answer = await post('/webhooks/sms', body, type, signature);
      expect(answer.status, String(type)).toBe(415);
      expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'unsupported_media_type' } });
    }
    for (const path of [
      '/webhooks/sms/status',
      '/webhooks/voice?flow=x',
      '/webhooks/voice/gather?flow=x',
      '/webhooks/voice/status?flow=x',
    ])
      expect((await post(path, '{}', 'application/json', signature)).status, path).toBe(415);
    expect(await attempts(id)).toEqual(before);

    // The same parameters as a form are accepted (the control).
    const form = await post(
      '/webhooks/sms',
      new URLSearchParams(params).toString(),
      'application/x-www-form-urlencoded; charset=utf-8',
      signature,
    );
    expect(form.status).toBe(200);
    expect(await attempts(id)).toEqual({ version: before.version + 1, attempts: before.attempts + 1 });
  });

  it('checks a repeated parameter the way twilio signs it (distinct values, sorted)', async () => {
    const { id, mobile } = await pendingFlow();
    const url = `${t.baseUrl}/webhooks/sms`;
    // A carrier may send a repeated field (e.g. media URLs) in any order.
    const body = new URLSearchParams([
      ['MessageSid', `SM${'2'.repeat(32)}`],
      ['From', mobile],
      ['To', SERVICE_NUMBER],
      ['Body', '999999'],
      ['MediaUrl', 'https://media.example/b'],
      ['MediaUrl', 'https://media.example/a'],
    ]).toString();
    const params = {
      MessageSid: `SM${'2'.repeat(32)}`,
      From: mobile,
      To: SERVICE_NUMBER,
      Body: '999999',
      MediaUrl: ['https://media.example/b', 'https://media.example/a'],
    };
    const signature = twilio.getExpectedTwilioSignature(TEST_SIGNING_KEY, url, params);
    expect(twilio.validateRequest(TEST_SIGNING_KEY, signature, url, params)).toBe(true);
    const answer = await post('/webhooks/sms', body, 'application/x-www-form-urlencoded', signature);
    expect(answer.status).toBe(200);
    expect((await attempts(id)).attempts).toBe(1);
  });
});
