/**
 * Redis behind Sentinel: a master, a replica and three sentinels; the master is killed (SIGKILL) while
 * verifications are being started. The engine finds the promoted replica by itself, every verification whose
 * start was answered 201 is still there (REDIS_REQUIRE_REPLICA=true: each commit waited for the replica), each
 * of their texts went out exactly once, and new verifications work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessagingCarrier, OutboundSms } from '../../src/carriers/messaging-port.js';
import { loadConfig } from '../../src/config/load-config.js';
import { SENTINEL_MASTER_NAME, type SentinelSetup, startSentinelSetup } from '../support/redis-sentinel.js';
import { eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let setup: SentinelSetup;
let t: TestRuntime;
const sent: OutboundSms[] = [];

/** Records every text the engine hands to the carrier: the count per number is what the user would see. */
const countingCarrier: MessagingCarrier = {
  name: 'signalwire-cxml',
  async start() {},
  async sendSms(sms) {
    sent.push(sms);
    return { sid: `SM${String(sent.length).padStart(32, '0')}` };
  },
  readiness: () => ({ ok: true, detail: 'ready' }),
  async stop() {},
};

beforeAll(async () => {
  setup = await startSentinelSetup();
  t = await startTestRuntime(
    '',
    {
      REDIS_SENTINELS: setup.sentinels,
      REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME,
      REDIS_REQUIRE_REPLICA: 'true',
      // An outbox whose enqueue died with the master is relayed within a second.
      SWEEP_INTERVAL_MS: '200',
      SWEEP_GRACE_MS: '500',
    },
    { carrier: countingCarrier },
  );
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await setup?.stop();
});

const USERS = 40;
const mobileOf = (i: number) => `+1202555${String(3000 + i).padStart(4, '0')}`;
const textsTo = (mobile: string) => sent.filter((s) => s.to === mobile).length;

describe('Redis Sentinel failover under load', () => {
  it('reconnects by itself, loses no committed verification and sends no text twice', async () => {
    for (let i = 0; i < USERS; i += 1) {
      const created = await t.api('/api/v1/users', {
        body: { username: `ha${i}`, phones: { mobile: mobileOf(i) } },
      });
      expect(created.status).toBe(201);
    }
    const committed: { id: string; mobile: string }[] = [];
    const refused: string[] = [];
    let next = 0;
    let killed: Promise<void> | undefined;
    // Each start uses a fresh user: a start answered 503 may still have committed, and is never retried.
    const client = async () => {
      while (next < USERS) {
        const i = next++;
        const response = await t
          .api('/api/v1/verifications', { body: { username: `ha${i}` } })
          .catch(() => ({ status: 0, body: null }));
        if (response.status === 201) committed.push({ id: response.body.id, mobile: mobileOf(i) });
        else {
          expect([0, 503]).toContain(response.status);
          refused.push(mobileOf(i));
          await new Promise((r) => setTimeout(r, 100));
        }
        if (committed.length >= 8) killed ??= setup.killMaster();
      }
    };
    await Promise.all(Array.from({ length: 4 }, client));
    await killed;
    const newMaster = await setup.waitForFailover(setup.masterPort);
    expect(newMaster).toBe(setup.replicaPort);
    expect(committed.length).toBeGreaterThanOrEqual(8);

    // No replica left: commits cannot be made durable, so a start is refused (503), not silently weakened.
    const alone = await eventually(async () => {
      const response = await t.api('/api/v1/verifications', { body: { username: `ha${USERS - 1}` } });
      return response.status === 503 ? response : undefined;
    }, 20_000);
    expect(alone.body.error.code).toBe('unavailable');
    refused.push(mobileOf(USERS - 1));
    await setup.restartOldMaster();

    // Reconnected by itself: ready again, and a new verification works end to end.
    await eventually(
      async () => {
        const ready = await fetch(`${t.baseUrl}/readyz`);
        if (ready.status === 200) return true;
        throw new Error(await ready.text());
      },
      20_000,
      'ready again',
    );
    const after = await eventually(async () => {
      const created = await t.api('/api/v1/users', {
        body: { username: 'late', phones: { mobile: mobileOf(99) } },
      });
      if (created.status !== 201 && created.status !== 409) return undefined;
      const started = await t.api('/api/v1/verifications', { body: { username: 'late' } });
      return started.status === 201 ? started.body : undefined;
    }, 20_000);
    committed.push({ id: after.id, mobile: mobileOf(99) });

    // No committed verification is lost; each got its text.
    for (const { id, mobile } of committed) {
      const read = await eventually(async () => {
        const response = await t.api(`/api/v1/verifications/${id}`);
        return response.status === 503 ? undefined : response;
      });
      expect(read.status, id).toBe(200);
      expect(read.body.status).toBe('pending');
      await eventually(
        async () => {
          if (textsTo(mobile) >= 1) return true;
          t.clock.advance(100); // the sweeper's grace, on the test's clock, for an enqueue lost with the master
          return undefined;
        },
        30_000,
        `a text to ${mobile}`,
      );
    }
    // Everything queued has run: only then are the counts final. The test clock stands still, so it is moved
    // on past the sweeper's grace for an outbox whose enqueue died with the master (or whose WAIT failed).
    await eventually(
      async () => {
        const jobs = await t.runtime.effectsQueue.getJobCounts('waiting', 'active', 'delayed');
        const pending = await t.runtime.store.pendingOutboxCount();
        if (pending > 0) t.clock.advance(100);
        return (jobs.waiting ?? 0) + (jobs.active ?? 0) + (jobs.delayed ?? 0) + pending === 0
          ? true
          : undefined;
      },
      40_000,
      'the effects to drain',
    );
    for (const { mobile } of committed) expect(textsTo(mobile), mobile).toBe(1);
    for (const mobile of refused) expect(textsTo(mobile), mobile).toBeLessThanOrEqual(1);
  }, 120_000);
});

describe('Sentinel settings', () => {
  const base = { NODE_ENV: 'test', DATA_DIR: '/tmp/mfa-sentinel-config' };
  it('takes host:port pairs and the master name, both or neither, never beside REDIS_URL', () => {
    const config = loadConfig({
      ...base,
      REDIS_SENTINELS: '10.0.0.1:26379, sentinel-b:26380,[::1]:26381',
      REDIS_SENTINEL_NAME: 'mfa',
      REDIS_REQUIRE_REPLICA: 'true',
    });
    expect(config.redisSentinel).toEqual({
      name: 'mfa',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-b', port: 26380 },
        { host: '::1', port: 26381 },
      ],
    });
    expect(config.redisRequireReplica).toBe(true);
    expect(() => loadConfig({ ...base, REDIS_SENTINELS: '10.0.0.1:26379' })).toThrow(/set both or neither/);
    expect(() => loadConfig({ ...base, REDIS_SENTINELS: 'nope', REDIS_SENTINEL_NAME: 'mfa' })).toThrow(
      /nope is not host:port/,
    );
    expect(() =>
      loadConfig({
        ...base,
        REDIS_SENTINELS: '10.0.0.1:26379',
        REDIS_SENTINEL_NAME: 'mfa',
        REDIS_URL: 'redis://127.0.0.1:6379',
      }),
    ).toThrow(/REDIS_URL: not with REDIS_SENTINELS/);
  });
});
