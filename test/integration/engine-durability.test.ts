import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EffectJobData, TIMERS_QUEUE, type TimerJobData } from '../../src/engine/queues.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import {
  codeIn,
  createUser,
  replyFrom,
  textsTo,
  waitForStatus,
  waitForTexts,
} from '../support/sms-helpers.js';
import { effectsSettled, eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';
import { callsTo, gathering, handset, ringing, waitForCall } from '../support/voice-helpers.js';

let redis: RedisServerHandle;
let t: TestRuntime;
let seq = 0;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url, { SWEEP_GRACE_MS: '0', SWEEP_INTERVAL_MS: '60000' });
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

async function newUser(pin?: string) {
  seq += 1;
  const mobile = `+1202555${String(5000 + seq)}`;
  const username = `dur${seq}`;
  await createUser(t, { username, phones: { mobile }, ...(pin ? { pin } : {}) });
  return { username, mobile };
}

describe('timers', () => {
  it('expires through the real BullMQ delayed job, then answers a late reply with "expired"', async () => {
    const { username, mobile } = await newUser();
    const { body } = await t.api('/api/v1/verifications', { body: { username } });
    const [codeText] = await waitForTexts(t, mobile, 1);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const timers = new Queue<TimerJobData>(TIMERS_QUEUE, {
      connection,
      prefix: t.runtime.keys.queuePrefix(),
    });
    try {
      const job = await eventually(async () =>
        (await timers.getDelayed()).find((j) => j.data.flowId === body.id),
      );
      expect(job.delay).toBeGreaterThan(299_000); // five minutes, as configured
      await job.promote(); // run it now instead of waiting five real minutes
      const expired = await waitForStatus(t, body.id, 'expired');
      expect(expired.reason).toBe('expired');
    } finally {
      await timers.close();
      await connection.quit();
    }
    await replyFrom(t, mobile, codeIn(codeText!));
    const texts = await waitForTexts(t, mobile, 2);
    expect(texts[1]!.body).toContain('expired');
    expect((await t.api(`/api/v1/verifications/${body.id}`)).body.status).toBe('expired');
  });

  it('treats a reply after the code lapsed as expired even before the timer fires (injected clock)', async () => {
    // A runtime of its own: its clock only moves forward, and no other test shares it.
    const own = await startTestRuntime(redis.url);
    try {
      const { username, mobile } = await newUser();
      const { body } = await own.api('/api/v1/verifications', { body: { username } });
      const code = codeIn((await waitForTexts(own, mobile, 1))[0]!);
      own.clock.advance(300_001);
      await replyFrom(own, mobile, code);
      await waitForStatus(own, body.id, 'expired');
    } finally {
      await own.stop();
    }
  });
});

describe('crash safety', () => {
  it('sends the text exactly once when a process dies between persisting and enqueueing', async () => {
    const { username, mobile } = await newUser();
    const crashing = await startTestRuntime(
      redis.url,
      { SWEEP_GRACE_MS: '0' },
      {
        listen: false,
        workers: false,
        clock: t.clock,
        hooks: {
          afterCommit: async () => {
            throw new Error('simulated crash after commit');
          },
        },
      },
    );
    let flowId = '';
    try {
      await expect(crashing.runtime.verifications.start({ username })).rejects.toThrow('simulated crash');
      const stranded = await crashing.runtime.store.strandedOutboxes(Date.now() + 1000);
      expect(stranded).toHaveLength(1);
      flowId = stranded[0]!.flowId;
      expect((await crashing.runtime.store.load(flowId))?.status).toBe('pending');
    } finally {
      await crashing.stop();
    }
    expect(await textsTo(t, mobile)).toEqual([]);

    // A surviving process sweeps; sweeping again, or relaying the same outbox twice, sends nothing more.
    expect(await t.runtime.sweeper.sweepOnce()).toBe(1);
    expect(await t.runtime.sweeper.sweepOnce()).toBe(0);
    await waitForTexts(t, mobile, 1);
    const effects = (await t.runtime.store.readLog(flowId))[0]!;
    expect(effects.effects).toEqual(['sendSms', 'scheduleTimer', 'supersedeOlder']);
    await effectsSettled(t);
    expect(await textsTo(t, mobile)).toHaveLength(1);
  });

  it('sends the text exactly once after a real engine process is SIGKILLed between commit and enqueue', async () => {
    const { username, mobile } = await newUser();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/crash-after-commit.ts', redis.url, username],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect({ code, signal, stderr: stderr.slice(0, 500) }).toMatchObject({ code: null, signal: 'SIGKILL' });
    const stranded = await eventually(async () => {
      const all = await t.runtime.store.strandedOutboxes(Date.now() + 60_000);
      const mine = [];
      for (const entry of all)
        if ((await t.runtime.store.load(entry.flowId))?.userId === username) mine.push(entry);
      return mine.length ? mine : undefined;
    });
    expect(stranded).toHaveLength(1);
    expect(await textsTo(t, mobile)).toEqual([]);
    // The dead process stamped its outbox with the real time: a survivor whose clock starts now sweeps it.
    const survivor = await startTestRuntime(
      redis.url,
      { SWEEP_GRACE_MS: '0' },
      { listen: false, workers: false },
    );
    try {
      expect(await survivor.runtime.sweeper.sweepOnce()).toBeGreaterThanOrEqual(1);
      await survivor.runtime.sweeper.sweepOnce();
    } finally {
      await survivor.stop();
    }
    await waitForTexts(t, mobile, 1);
    await effectsSettled(t);
    expect(await textsTo(t, mobile)).toHaveLength(1);
  });

  it('re-enqueueing an already relayed outbox is harmless (deterministic job ids)', async () => {
    const { username, mobile } = await newUser();
    const view = await t.runtime.verifications.start({ username });
    await waitForTexts(t, mobile, 1);
    const [init] = await t.runtime.store.readLog(view.id);
    const flow = await t.runtime.store.load(view.id);
    const input = flow!.input as { nonce: string; to: string; language: 'en' };
    // Replay the exact outbox of version 1, as a crash after enqueue but before the acknowledgement would.
    await t.runtime.relay.relay(view.id, 1, [
      {
        type: 'sendSms',
        to: input.to,
        language: 'en',
        message: 'sms.code.reply',
        params: { service: 'Dialtone' },
        code: { nonce: input.nonce, length: 6 },
      },
    ]);
    expect(init!.effects).toContain('sendSms');
    await effectsSettled(t);
    expect(await textsTo(t, mobile)).toHaveLength(1);
  });
});

describe('two engine processes on one Redis', () => {
  it('racing wrong answers on one flow give one consistent result', async () => {
    const other = await startTestRuntime(redis.url, {}, { listen: false, workers: false, clock: t.clock });
    try {
      const { username, mobile } = await newUser();
      const { body } = await t.api('/api/v1/verifications', { body: { username } });
      await waitForTexts(t, mobile, 1);
      const engines = [t.runtime.engine, other.runtime.engine];
      const at = t.clock.now();
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          engines[i % 2]!.dispatch(
            body.id,
            { type: 'REPLY', at, reply: { kind: 'answer', codeDigest: `wrong-${i}`, pinOk: true } },
            { idempotencyKey: `race-${body.id}-${i}` },
          ),
        ),
      );
      expect(results.filter((r) => r.changed)).toHaveLength(3);
      const log = await t.runtime.store.readLog(body.id);
      expect(log.map((e) => e.version)).toEqual([1, 2, 3, 4]);
      expect(log.map((e) => e.state.status)).toEqual(['pending', 'pending', 'pending', 'failed']);
      const texts = await waitForTexts(t, mobile, 4);
      await effectsSettled(t);
      expect((await textsTo(t, mobile)).map((m) => m.body.slice(0, 20))).toEqual([
        texts[0]!.body.slice(0, 20),
        'That answer is not r',
        'That answer is not r',
        'Verification failed.',
      ]);
    } finally {
      await other.stop();
    }
  });

  it('racing right answers approve once and text the verdict once', async () => {
    const other = await startTestRuntime(redis.url, {}, { listen: false, workers: false, clock: t.clock });
    try {
      const { username, mobile } = await newUser('4821');
      const { body } = await t.api('/api/v1/verifications', { body: { username } });
      const code = codeIn((await waitForTexts(t, mobile, 1))[0]!);
      const runtimes = [t.runtime, other.runtime];
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          runtimes[i % 2]!.inbound.onInbound({
            messageSid: `SMrace${i}`,
            from: mobile,
            to: '+12025550100',
            body: `${code} 4821`,
          }),
        ),
      );
      await waitForStatus(t, body.id, 'approved');
      await waitForTexts(t, mobile, 2);
      await effectsSettled(t);
      expect((await textsTo(t, mobile)).filter((m) => m.body.includes('You are verified'))).toHaveLength(1);
    } finally {
      await other.stop();
    }
  });
});

describe('fenced effects: a job re-run after a crash', () => {
  /** The code-text job of a flow, as BullMQ keeps it after it ran. */
  async function codeTextJob(flowId: string) {
    return eventually(async () =>
      (await t.runtime.effectsQueue.getCompleted()).find(
        (j) => j.data.flowId === flowId && j.data.effect.type === 'sendSms',
      ),
    );
  }
  /** What BullMQ does with a job whose worker died before its done-marker: the same effect runs again. */
  const rerun = (job: { id?: string; name: string; data: EffectJobData }) =>
    t.runtime.effectsQueue.add(job.name, job.data, { jobId: `${job.id}-rerun${++seq}` });

  it('repeats a code text only while the flow waits for it, with the same code; never after the verdict', async () => {
    const { username, mobile } = await newUser();
    const { body } = await t.api('/api/v1/verifications', { body: { username } });
    const code = codeIn((await waitForTexts(t, mobile, 1))[0]!);
    const job = await codeTextJob(body.id);

    await rerun(job); // still pending: the repeat is allowed, and it is the same code
    await effectsSettled(t);
    expect((await textsTo(t, mobile)).map(codeIn)).toEqual([code, code]);

    await replyFrom(t, mobile, code);
    await waitForStatus(t, body.id, 'approved');
    await rerun(job);
    await rerun(job);
    await effectsSettled(t);
    const texts = await textsTo(t, mobile);
    expect(texts.map((m) => m.body.slice(0, 16))).toEqual([
      texts[0]!.body.slice(0, 16),
      texts[0]!.body.slice(0, 16),
      'You are verified',
    ]);
  });

  it('never texts a code that a resend replaced', async () => {
    const { username, mobile } = await newUser();
    const { body } = await t.api('/api/v1/verifications', { body: { username } });
    await waitForTexts(t, mobile, 1);
    const first = await codeTextJob(body.id);
    await t.api(`/api/v1/verifications/${body.id}/resend`, { method: 'POST' });
    const second = codeIn((await waitForTexts(t, mobile, 2))[1]!);
    await rerun(first);
    await effectsSettled(t);
    const codes = (await textsTo(t, mobile)).map(codeIn);
    expect(codes).toHaveLength(2);
    expect(codes[1]).toBe(second);
  });

  it('never places a second call for a flow whose call was answered', async () => {
    seq += 1;
    const primary = `+1202555${String(5000 + seq)}`;
    const username = `durcall${seq}`;
    await createUser(t, { username, phones: { primary }, method: 'voice' });
    const { body } = await t.api('/api/v1/verifications', { body: { username, method: 'voice' } });
    const call = await waitForCall(t, primary, ringing);
    const job = await eventually(async () =>
      (await t.runtime.effectsQueue.getCompleted()).find(
        (j) => j.data.flowId === body.id && j.data.effect.type === 'placeCall',
      ),
    );
    await handset(t, call.sid, 'answer');
    await waitForCall(t, primary, gathering, 'answered call');
    await rerun(job);
    await effectsSettled(t);
    expect(await callsTo(t, primary)).toHaveLength(1);
    expect((await t.api(`/api/v1/verifications/${body.id}`)).body.status).toBe('pending');
  });
});
