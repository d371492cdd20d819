import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearRefusals, refuseTexts } from '../../src/carriers/simulator/simulator-routes.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import {
  codeIn,
  createUser,
  postWebhook,
  replyFrom,
  SERVICE_NUMBER,
  textsTo,
  waitForStatus,
  waitForTexts,
} from '../support/sms-helpers.js';
import { effectsSettled, eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;
let phoneSeq = 100;
const nextPhone = () => `+1202555${String(phoneSeq++).padStart(4, '0')}`;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url);
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

async function userWithPhone(extra: Record<string, unknown> = {}) {
  const mobile = nextPhone();
  const username = `user${phoneSeq}`;
  await createUser(t, { username, phones: { mobile }, ...extra });
  return { username, mobile };
}

async function start(username: string) {
  const response = await t.api('/api/v1/verifications', { body: { username } });
  expect(response.status).toBe(201);
  return response.body as { id: string; status: string; method: string; expiresAt: string };
}

describe('SMS verification over HTTP through the simulator', () => {
  it('texts a code; the reply with code and PIN approves; the long-poll sees it', async () => {
    const { username, mobile } = await userWithPhone({ pin: '4821' });
    const started = await start(username);
    expect(started).toMatchObject({ status: 'pending', method: 'sms' });
    expect(Date.parse(started.expiresAt) - t.clock.now()).toBe(300_000);

    const [codeText] = await waitForTexts(t, mobile, 1);
    expect(codeText!.from).toBe(SERVICE_NUMBER);
    expect(codeText!.body).toContain('followed by your PIN');
    const code = codeIn(codeText!);
    expect(code).toHaveLength(6);

    const poll = t.api(`/api/v1/verifications/${started.id}?wait=10`);
    expect(await replyFrom(t, mobile, `${code} 4821`)).toBe(200);
    const polled = await poll;
    expect(polled.body.status).toBe('approved');
    const texts = await waitForTexts(t, mobile, 2);
    expect(texts[1]!.body).toContain('You are verified');
  });

  it('accepts the code and PIN without a space', async () => {
    const { username, mobile } = await userWithPhone({ pin: '482193' });
    const { id } = await start(username);
    const code = codeIn((await waitForTexts(t, mobile, 1))[0]!);
    await replyFrom(t, mobile, `${code}482193`);
    await waitForStatus(t, id, 'approved');
  });

  it('approves a right answer on the last try, fails after three wrong ones, and says how many tries are left', async () => {
    const { username, mobile } = await userWithPhone({ pin: '4821' });
    const { id } = await start(username);
    const code = codeIn((await waitForTexts(t, mobile, 1))[0]!);
    await replyFrom(t, mobile, `${code} 0000`); // right code, wrong PIN
    await waitForTexts(t, mobile, 2);
    await replyFrom(t, mobile, '111111 4821');
    await waitForTexts(t, mobile, 3);
    await replyFrom(t, mobile, `${code} 4821`); // the third try, and right
    const done = await waitForStatus(t, id, 'approved');
    expect(done.status).toBe('approved');

    const second = await userWithPhone();
    const flow = await start(second.username);
    await waitForTexts(t, second.mobile, 1);
    for (const [n, guess] of ['000000', '111111', '222222'].entries()) {
      await replyFrom(t, second.mobile, guess);
      await waitForTexts(t, second.mobile, n + 2);
    }
    const failed = await waitForStatus(t, flow.id, 'failed');
    expect(failed.reason).toBe('too-many-attempts');
    const texts = await textsTo(t, second.mobile);
    expect(texts.map((m) => m.body.split('.')[0])).toEqual([
      expect.stringMatching(/is your Dialtone code/),
      'That answer is not right',
      'That answer is not right',
      'Verification failed',
    ]);
    expect(texts[1]!.body).toContain('2 tries left');
  });

  it('checks a code typed on a screen, and a resend keeps the wrong-answer count', async () => {
    const { username, mobile } = await userWithPhone({ pin: '4821' });
    const { id } = await start(username);
    await waitForTexts(t, mobile, 1);
    const wrong = await t.api(`/api/v1/verifications/${id}/check`, { body: { code: '000000 4821' } });
    expect(wrong.status).toBe(200);
    expect(wrong.body).toMatchObject({ status: 'pending', attemptsLeft: 2 });
    const resent = await t.api(`/api/v1/verifications/${id}/resend`, { method: 'POST' });
    expect(resent.body).toMatchObject({ status: 'pending', attemptsLeft: 2 });
    const texts = await waitForTexts(t, mobile, 2);
    const newCode = codeIn(texts[1]!);
    const oldCode = codeIn(texts[0]!);
    if (oldCode !== newCode) {
      const stale = await t.api(`/api/v1/verifications/${id}/check`, { body: { code: `${oldCode}4821` } });
      expect(stale.body.attemptsLeft).toBe(1);
    }
    const right = await t.api(`/api/v1/verifications/${id}/check`, { body: { code: `${newCode} 4821` } });
    expect(right.body.status).toBe('approved');
    const again = await t.api(`/api/v1/verifications/${id}/check`, { body: { code: `${newCode} 4821` } });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'verification_closed' } } });
  });

  it('reports fraud on 0 and blocks the user', async () => {
    const { username, mobile } = await userWithPhone();
    const { id } = await start(username);
    await waitForTexts(t, mobile, 1);
    await replyFrom(t, mobile, '0');
    const fraud = await waitForStatus(t, id, 'fraud');
    expect(fraud.reason).toBe('reported-by-user');
    const user = await eventually(async () => {
      const { body } = await t.api(`/api/v1/users/${username}`);
      return body.blocked ? body : undefined;
    });
    expect(user.blocked.reason).toBe('fraud-report');
    const refused = await t.api('/api/v1/verifications', { body: { username } });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'user_blocked' } } });
  });

  it('answers HELP and STOP politely; STOP ends the active flow and refuses new texts', async () => {
    const { username, mobile } = await userWithPhone();
    const { id } = await start(username);
    await waitForTexts(t, mobile, 1);
    await replyFrom(t, mobile, 'help');
    expect((await waitForTexts(t, mobile, 2))[1]!.body).toContain('Reply STOP to opt out');
    await replyFrom(t, mobile, 'STOP');
    expect((await waitForTexts(t, mobile, 3))[2]!.body).toContain('unsubscribed');
    expect((await waitForStatus(t, id, 'failed')).reason).toBe('opted-out');
    const refused = await t.api('/api/v1/verifications', { body: { username } });
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'phone_opted_out' } } });
    await replyFrom(t, mobile, 'START');
    await waitForTexts(t, mobile, 4);
    expect((await t.api('/api/v1/verifications', { body: { username } })).status).toBe(201);
  });

  it('sends a keyword answer that the carrier refused at first, once, also when the carrier retries the webhook', async () => {
    const mobile = nextPhone();
    refuseTexts(mobile, { status: 503, code: 20500, message: 'Service unavailable', times: 1 });
    const webhook = { MessageSid: `SMkeyword${phoneSeq}`, From: mobile, To: SERVICE_NUMBER, Body: 'HELP' };
    expect((await postWebhook(t, '/webhooks/sms', webhook)).status).toBe(200);
    // The carrier delivers the same text again (its own retry): it must not add a second answer.
    expect((await postWebhook(t, '/webhooks/sms', webhook)).status).toBe(200);
    const [help] = await waitForTexts(t, mobile, 1);
    expect(help!.body).toContain('Reply STOP to opt out');
    await effectsSettled(t);
    expect(await textsTo(t, mobile)).toHaveLength(1);
  });

  it('fails a verification at once when the carrier refuses its code text for good, without retrying', async () => {
    const { username, mobile } = await userWithPhone();
    refuseTexts(mobile, { status: 400, code: 21211, message: `The 'To' number ${mobile} is not valid.` });
    try {
      const { id } = await start(username);
      const failed = await waitForStatus(t, id, 'failed');
      expect(failed.reason).toBe('carrier-refused');
      await effectsSettled(t);
      const jobs = (await t.runtime.effectsQueue.getFailed()).filter((job) => job.data.flowId === id);
      expect(jobs.map((job) => [job.name, job.attemptsMade])).toEqual([['sendSms', 1]]);
      expect(await textsTo(t, mobile)).toEqual([]);
    } finally {
      clearRefusals(mobile);
    }
  });

  it('speaks the user language', async () => {
    const { username, mobile } = await userWithPhone({ language: 'es' });
    await start(username);
    expect((await waitForTexts(t, mobile, 1))[0]!.body).toContain('es su código de Dialtone');
  });

  it('ignores a reply from a number with no verification', async () => {
    const stranger = nextPhone();
    expect(await replyFrom(t, stranger, '123456')).toBe(200);
    expect(await textsTo(t, stranger)).toEqual([]);
  });

  it('cancels', async () => {
    const { username, mobile } = await userWithPhone();
    const { id } = await start(username);
    await waitForTexts(t, mobile, 1);
    const canceled = await t.api(`/api/v1/verifications/${id}/cancel`, { method: 'POST' });
    expect(canceled.body).toMatchObject({ status: 'canceled', reason: 'canceled' });
  });
});
