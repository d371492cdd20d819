import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMERS_QUEUE, type TimerJobData } from '../../src/engine/queues.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { createUser, waitForStatus } from '../support/sms-helpers.js';
import { effectsSettled, eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';
import { callsTo, gathering, handset, over, ringing, spoken, waitForCall } from '../support/voice-helpers.js';

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

async function voiceUser(extra: Record<string, unknown> = {}, phones: Record<string, string> = {}) {
  seq += 1;
  const primary = `+1202555${String(8000 + seq * 2)}`;
  const username = `caller${seq}`;
  await createUser(t, { username, method: 'voice', phones: { primary, ...phones }, ...extra });
  return { username, primary };
}

async function startCall(username: string) {
  const response = await t.api('/api/v1/verifications', { body: { username, method: 'voice' } });
  expect(response.status).toBe(201);
  return response.body as { id: string; status: string; method: string; code?: string };
}

async function answer(to: string, answeredBy?: string) {
  const call = await waitForCall(t, to, ringing, 'ringing call');
  expect((await handset(t, call.sid, 'answer', answeredBy ? { answeredBy } : {})).status).toBe(200);
  return waitForCall(t, to, (c) => c.gathering || over(c), 'first prompt');
}

describe('voice verification through the simulator', () => {
  it('rings, greets, takes the PIN and #, says verified and hangs up', async () => {
    const { username, primary } = await voiceUser({ pin: '4821', pinMustChange: false });
    const { id, method } = await startCall(username);
    expect(method).toBe('voice');
    const call = await answer(primary);
    expect(spoken(call).join(' ')).toContain('enter your PIN, followed by the pound key');
    await handset(t, call.sid, 'digits', { digits: '4821#' });
    await waitForStatus(t, id, 'approved');
    const done = await waitForCall(t, primary, over, 'hang-up');
    expect(done.status).toBe('completed');
    expect(spoken(done).at(-1)).toBe('You are verified. Goodbye.');
  });

  it('changes an admin-set PIN at first use: old PIN, weak PIN refused, new PIN twice', async () => {
    const { username, primary } = await voiceUser({ pin: '4821' });
    const { id } = await startCall(username);
    const call = await answer(primary);
    await handset(t, call.sid, 'digits', { digits: '4821#' });
    await waitForCall(
      t,
      primary,
      (c) => spoken(c).at(-1)?.includes('Your PIN must be changed') ?? false,
      'new PIN prompt',
    );
    await handset(t, call.sid, 'digits', { digits: '1111#' });
    await waitForCall(
      t,
      primary,
      (c) => spoken(c).some((s) => s.includes('too easy to guess')),
      'weak PIN reason',
    );
    await handset(t, call.sid, 'digits', { digits: '5937#' });
    await waitForCall(t, primary, (c) => spoken(c).at(-1)?.includes('again') ?? false, 'confirmation prompt');
    await handset(t, call.sid, 'digits', { digits: '5937#' });
    await waitForStatus(t, id, 'approved');
    const user = await eventually(async () => {
      const stored = await t.runtime.users.get(username);
      return stored && !stored.pinMustChange ? stored : undefined;
    });
    expect(await t.runtime.hasher.verify('5937', user.pinHash!)).toBe(true);
    expect((await t.api(`/api/v1/users/${username}`)).body.pinMustChange).toBe(false);
  });

  it('dials the extension digits after connect', async () => {
    const { username, primary } = await voiceUser(
      { pin: '4821', pinMustChange: false },
      { extension: '1234' },
    );
    await startCall(username);
    const call = await answer(primary);
    expect(call.transcript.map((l) => l.text).join(' ')).toContain('ww1234');
  });

  it('fails after three wrong PINs, and treats # alone and a 30-key flood as handled input', async () => {
    const { username, primary } = await voiceUser({ pin: '4821', pinMustChange: false });
    const { id } = await startCall(username);
    const call = await answer(primary);
    await handset(t, call.sid, 'digits', { digits: '#' }); // nothing before '#': like silence, re-prompted
    await waitForCall(
      t,
      primary,
      (c) => spoken(c).some((s) => s.includes('did not hear anything')),
      'no-input prompt',
    );
    await handset(t, call.sid, 'digits', { digits: `${'9'.repeat(30)}#` });
    await waitForCall(
      t,
      primary,
      (c) => spoken(c).some((s) => s === 'That is not right.'),
      'wrong PIN prompt',
    );
    await handset(t, call.sid, 'digits', { digits: '1111#' });
    await handset(t, call.sid, 'digits', { digits: '2222#' });
    const failed = await waitForStatus(t, id, 'failed');
    expect(failed.reason).toBe('too-many-attempts');
    expect(spoken(await waitForCall(t, primary, over)).at(-1)).toBe('Verification failed. Goodbye.');
  });

  it('reports fraud on 0# and blocks the user', async () => {
    const { username, primary } = await voiceUser({ pin: '4821', pinMustChange: false });
    const { id } = await startCall(username);
    const call = await answer(primary);
    await handset(t, call.sid, 'digits', { digits: '0#' });
    expect((await waitForStatus(t, id, 'fraud')).reason).toBe('reported-by-user');
    const user = await eventually(async () =>
      (await t.api(`/api/v1/users/${username}`)).body.blocked ? true : undefined,
    );
    expect(user).toBe(true);
  });

  it('hangs up on voicemail with reason voicemail', async () => {
    const { username, primary } = await voiceUser({ pin: '4821', pinMustChange: false });
    const { id } = await startCall(username);
    const call = await waitForCall(t, primary, ringing);
    await handset(t, call.sid, 'status', { status: 'machine' });
    expect((await waitForStatus(t, id, 'failed')).reason).toBe('voicemail');
    await waitForCall(t, primary, over, 'hang-up of the voicemail call');
  });

  it('calls the backup phone once when the primary is busy', async () => {
    const backup = `+1202555${String(8500 + seq)}`;
    const { username, primary } = await voiceUser({ pin: '4821', pinMustChange: false }, { backup });
    const { id } = await startCall(username);
    const first = await waitForCall(t, primary, ringing);
    await handset(t, first.sid, 'status', { status: 'busy' });
    const second = await waitForCall(t, backup, ringing, 'backup call');
    await handset(t, second.sid, 'status', { status: 'no-answer' });
    expect((await waitForStatus(t, id, 'failed')).reason).toBe('no-answer');
    await effectsSettled(t);
    expect(await callsTo(t, backup)).toHaveLength(1);
  });

  it('fails with a reason when the caller hangs up before the verdict, or stays silent', async () => {
    const a = await voiceUser({ pin: '4821', pinMustChange: false });
    const flowA = await startCall(a.username);
    const callA = await answer(a.primary);
    await handset(t, callA.sid, 'hangup');
    expect((await waitForStatus(t, flowA.id, 'failed')).reason).toBe('hung-up');

    const b = await voiceUser({ pin: '4821', pinMustChange: false });
    const flowB = await startCall(b.username);
    const callB = await answer(b.primary);
    await handset(t, callB.sid, 'timeout');
    await waitForCall(
      t,
      b.primary,
      (c) => spoken(c).some((s) => s.includes('did not hear anything')),
      're-prompt',
    );
    await handset(t, callB.sid, 'timeout');
    expect((await waitForStatus(t, flowB.id, 'failed')).reason).toBe('no-input');
  });

  it('presses # alone in standard mode (no PIN), and types the shown code in code mode', async () => {
    const { username, primary } = await voiceUser();
    const { id } = await startCall(username);
    const call = await answer(primary);
    expect(spoken(call).join(' ')).toContain('Press the pound key');
    await handset(t, call.sid, 'digits', { digits: '#' });
    await waitForStatus(t, id, 'approved');

    const codeRuntime = await startTestRuntime(redis.url, { VOICE_MODE: 'code' });
    try {
      seq += 1;
      const phone = `+1202555${String(8900 + seq)}`;
      await createUser(codeRuntime, { username: `coder${seq}`, phones: { primary: phone } });
      const started = await codeRuntime.api('/api/v1/verifications', {
        body: { username: `coder${seq}`, method: 'voice' },
      });
      expect(started.body.code).toMatch(/^\d{6}$/);
      const ring = await waitForCall(codeRuntime, phone, ringing);
      await handset(codeRuntime, ring.sid, 'answer');
      await waitForCall(codeRuntime, phone, gathering);
      await handset(codeRuntime, ring.sid, 'digits', { digits: `${started.body.code}#` });
      await waitForStatus(codeRuntime, started.body.id, 'approved');
    } finally {
      await codeRuntime.stop();
    }
  });

  it('fails an unanswered call through the real BullMQ ring timer', async () => {
    const { username, primary } = await voiceUser({ pin: '4821', pinMustChange: false });
    const { id } = await startCall(username);
    await waitForCall(t, primary, ringing);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const timers = new Queue<TimerJobData>(TIMERS_QUEUE, {
      connection,
      prefix: t.runtime.keys.queuePrefix(),
    });
    try {
      const job = await eventually(async () =>
        (await timers.getDelayed()).find((j) => j.data.flowId === id && j.data.timer === 'ring'),
      );
      expect(job.delay).toBe(45_000); // ring 30 s + 15 s grace
      await job.promote();
      expect((await waitForStatus(t, id, 'failed')).reason).toBe('no-answer');
    } finally {
      await timers.close();
      await connection.quit();
    }
  });

  it('ends a call that runs too long through the real BullMQ call timer, hanging up', async () => {
    const { username, primary } = await voiceUser({ pin: '4821', pinMustChange: false });
    const { id } = await startCall(username);
    await answer(primary);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const timers = new Queue<TimerJobData>(TIMERS_QUEUE, {
      connection,
      prefix: t.runtime.keys.queuePrefix(),
    });
    try {
      const job = await eventually(async () =>
        (await timers.getDelayed()).find((j) => j.data.flowId === id && j.data.timer === 'call'),
      );
      expect(job.delay).toBe(180_000);
      await job.promote();
      expect((await waitForStatus(t, id, 'failed')).reason).toBe('timeout');
      expect((await waitForCall(t, primary, over, 'hang-up by the engine')).status).toBe('completed');
    } finally {
      await timers.close();
      await connection.quit();
    }
  });
});
