/**
 * Child flows through the real engine: a parent (the portal's second-factor flow) starts a verification with a
 * `startChild` effect and hears its verdict as `CHILD_DONE`, through the outbox, with no page polling, and
 * also when the engine dies between the child's verdict and the parent's update.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentView } from '../../flows/enrollment/view.js';
import { enrollmentFlow, secondFactorFlow } from '../../flows/registry.js';
import { secondFactorView } from '../../flows/second-factor/view.js';
import { ChildFlows } from '../../src/engine/child-flows.js';
import type { FlowRecord } from '../../src/engine/flow-store.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { codeIn, createUser, replyFrom, textsTo, waitForTexts } from '../support/sms-helpers.js';
import { effectsSettled, eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

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

async function newUser() {
  seq += 1;
  const mobile = `+1202555${String(6000 + seq)}`;
  const username = `child${seq}`;
  await createUser(t, { username, phones: { mobile }, method: 'sms' });
  return { username, mobile };
}

/** A parent flow, as the portal starts one at sign-in: it asks for a text to the user's phone. */
function startParent(username: string) {
  return t.runtime.engine.start(secondFactorFlow.id, {
    userId: username,
    purpose: 'portal:sign-in',
    method: 'portal',
    expiresAt: t.clock.now() + 3600_000,
    input: { userId: username, questionsAllowed: false, at: t.clock.now() },
  });
}

const view = (flow: FlowRecord) => secondFactorView(flow.snapshot);
const load = async (id: string) => (await t.runtime.store.load(id))!;

function waitForParent(id: string, what: (flow: FlowRecord) => boolean, label: string) {
  return eventually(
    async () => {
      const flow = await load(id);
      return what(flow) ? flow : undefined;
    },
    10_000,
    label,
  );
}

/** Waits until the worker finished the flow's last effect of this type (its done-marker is written). */
async function effectDone(flowId: string, type: string) {
  const entry = (await t.runtime.store.readLog(flowId)).findLast((e) => e.effects.includes(type));
  if (!entry) throw new Error(`${flowId} never emitted ${type}`);
  const jobId = `${flowId}-${entry.version}-${entry.effects.indexOf(type)}`;
  await eventually(async () =>
    (await t.runtime.redis.exists(t.runtime.keys.effectDone(jobId))) ? true : undefined,
  );
}

/** The parent's log entries for `CHILD_DONE`: how often it heard a verdict. */
async function verdictsHeard(parentId: string) {
  return (await t.runtime.store.readLog(parentId)).filter((e) => e.event.type === 'CHILD_DONE');
}

/** A second engine process takes a text reply and fails right after committing the verdict (before relaying). */
async function replyThenCrash(messageSid: string, from: string, body: string) {
  const crashing = await startTestRuntime(
    redis.url,
    { SWEEP_GRACE_MS: '0' },
    {
      listen: false,
      workers: false,
      clock: t.clock,
      hooks: {
        afterCommit: async () => {
          throw new Error('simulated crash after the verdict');
        },
      },
    },
  );
  try {
    await expect(
      crashing.runtime.inbound.onInbound({ messageSid, from, to: '+12025550100', body }),
    ).rejects.toThrow('simulated crash');
  } finally {
    await crashing.stop();
  }
}

describe('child flows', () => {
  it('start through the outbox, and their verdict reaches a parent no page ever polls', async () => {
    const { username, mobile } = await newUser();
    const parent = await startParent(username);
    const childId = view(parent).childId!;
    expect(childId).toBe(`${parent.id}-c1`);
    const [text] = await waitForTexts(t, mobile, 1);
    const child = await load(childId);
    expect(child).toMatchObject({ parentId: parent.id, purpose: 'portal-login', method: 'sms' });
    expect(child.input).toMatchObject({ parent: { flowId: parent.id } });

    await replyFrom(t, mobile, codeIn(text!));
    const verified = await waitForParent(parent.id, (f) => view(f).verified, 'the parent to be verified');
    expect(verified.status).toBe('approved');
    expect(view(verified).context).toMatchObject({ via: 'phone' });
    expect((await t.runtime.store.readLog(childId)).at(-1)!.effects).toContain('notifyParent');
    expect(await verdictsHeard(parent.id)).toHaveLength(1);
  });

  it('hear a refused start as the child failing, with the refusal as the reason', async () => {
    const { username } = await newUser();
    await t.runtime.users.block(username, t.clock.now() + 3600_000, 'test');
    const parent = await startParent(username);
    const refused = await waitForParent(parent.id, (f) => view(f).refused, 'the parent to hear the refusal');
    expect(view(refused).context.reason).toBe('user_blocked');
    expect(await t.runtime.store.load(`${parent.id}-c1`)).toBeNull();
  });

  it('cancel the child the parent gave up on, and never start one it no longer waits for', async () => {
    const { username, mobile } = await newUser();
    const parent = await startParent(username);
    await waitForTexts(t, mobile, 1);
    const restarted = await t.runtime.engine.dispatch(parent.id, { type: 'RESTART', at: t.clock.now() });
    expect(restarted.effects.map((e) => e.type)).toEqual(['cancelChild', 'startChild']);
    await eventually(async () => ((await load(`${parent.id}-c1`)).status === 'canceled' ? true : undefined));
    await waitForTexts(t, mobile, 2);
    // The first child's "canceled" reached the parent and changed nothing: it waits for the second.
    await effectDone(`${parent.id}-c1`, 'notifyParent');
    expect(await verdictsHeard(parent.id)).toHaveLength(0);
    expect(view(await load(parent.id))).toMatchObject({ childId: `${parent.id}-c2`, refused: false });

    // A start job for the first child, run late (or again), starts nothing.
    const children = new ChildFlows({
      engine: () => t.runtime.engine,
      start: (child, link) => t.runtime.verifications.startChild(child, link),
      clock: t.clock,
      logger: t.runtime.logger,
    });
    await children.start({
      type: 'startChild',
      parentId: parent.id,
      childId: `${parent.id}-c9`,
      child: { kind: 'verification', userId: username, purpose: 'portal-login' },
    });
    expect(await t.runtime.store.load(`${parent.id}-c9`)).toBeNull();
    expect(await textsTo(t, mobile)).toHaveLength(2);
  });
});

describe('child flows under a crash between the verdict and the parent', () => {
  it('the afterCommit hook fails after the child is approved: the sweeper tells the parent, once', async () => {
    const { username, mobile } = await newUser();
    const parent = await startParent(username);
    const code = codeIn((await waitForTexts(t, mobile, 1))[0]!);
    await replyThenCrash(`SMhook${seq}`, mobile, code);
    const childId = `${parent.id}-c1`;
    expect((await load(childId)).status).toBe('approved');
    expect((await load(parent.id)).status).toBe('pending');
    expect(await verdictsHeard(parent.id)).toHaveLength(0);

    expect(await t.runtime.sweeper.sweepOnce()).toBeGreaterThanOrEqual(1);
    await waitForParent(parent.id, (f) => view(f).verified, 'the parent to be verified after the sweep');
    // Relaying the same outbox again is harmless: the parent heard the verdict once.
    const [entry] = (await t.runtime.store.readLog(childId)).filter((e) =>
      e.effects.includes('notifyParent'),
    );
    await t.runtime.relay.relay(childId, entry!.version, [
      { type: 'notifyParent', parentId: parent.id, childId, status: 'approved' },
    ]);
    await t.runtime.sweeper.sweepOnce();
    await effectsSettled(t);
    expect(await verdictsHeard(parent.id)).toHaveLength(1);
  });

  it('a real engine process is SIGKILLed right after committing the verdict: the parent still hears it', async () => {
    const { username, mobile } = await newUser();
    const parent = await startParent(username);
    const code = codeIn((await waitForTexts(t, mobile, 1))[0]!);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/crash-after-commit.ts', redis.url, '--reply', mobile, code],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [exitCode, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect({ exitCode, signal, stderr: stderr.slice(0, 500) }).toMatchObject({
      exitCode: null,
      signal: 'SIGKILL',
    });
    const childId = `${parent.id}-c1`;
    expect((await load(childId)).status).toBe('approved');
    expect(view(await load(parent.id)).verified).toBe(false);

    // The dead process stamped its outbox with the real time: a survivor whose clock starts now sweeps it
    // (the shared test clock is never moved back and forth).
    const survivor = await startTestRuntime(
      redis.url,
      { SWEEP_GRACE_MS: '0' },
      { listen: false, workers: false },
    );
    try {
      expect(await survivor.runtime.sweeper.sweepOnce()).toBeGreaterThanOrEqual(1);
    } finally {
      await survivor.stop();
    }
    await waitForParent(parent.id, (f) => view(f).verified, 'the parent to be verified after the restart');
    // The verdict text went out once too: the sweeper relayed the dead process's outbox, nothing more.
    await waitForTexts(t, mobile, 2);
    await effectsSettled(t);
    expect(await verdictsHeard(parent.id)).toHaveLength(1);
    expect((await textsTo(t, mobile)).filter((m) => m.body.includes('You are verified'))).toHaveLength(1);
  });
});

describe('the enrolment wizard on child flows, under a crash between the verdict and the wizard', () => {
  it('"Text Me Now": the proof is a child; its verdict, lost with the process, reaches the wizard by the sweep', async () => {
    const { username } = await newUser();
    const stored = (await t.runtime.users.get(username))!;
    const newMobile = `+1202555${String(7000 + seq)}`;
    const wizard = await t.runtime.engine.start(enrollmentFlow.id, {
      userId: username,
      purpose: 'portal:enroll',
      method: 'portal',
      expiresAt: t.clock.now() + 3600_000,
      input: {
        userId: username,
        methods: ['sms'],
        currentMethod: null,
        questionsRequired: false,
        purpose: 'enroll',
        precondition: { enrolledAt: null, updatedAt: stored.updatedAt },
        current: { phones: stored.phones, hasPin: false },
        sessionHandle: 'test-session',
        phoneVerifiedAt: null,
        freshFactorMs: 300_000,
        at: t.clock.now(),
      },
    });
    const pinHash = await t.runtime.hasher.hash('582914');
    await t.runtime.engine.dispatch(wizard.id, {
      type: 'SUBMIT_DETAILS',
      phones: { mobile: newMobile },
      pinHash,
      currentPin: 'none',
      at: t.clock.now(),
    });
    const code = codeIn((await waitForTexts(t, newMobile, 1))[0]!);
    const childId = `${wizard.id}-c1`;
    // The child checks the PIN typed in the wizard, which it carries in its own input.
    expect((await load(childId)).input).toMatchObject({
      parent: { flowId: wizard.id },
      proofPinHash: pinHash,
    });

    await replyThenCrash(`SMwizard${seq}`, newMobile, `${code} 582914`);
    expect((await load(childId)).status).toBe('approved');
    expect(enrollmentView((await load(wizard.id)).snapshot).step).toBe('proving-new');
    expect((await t.runtime.users.get(username))?.enrolledAt).toBeUndefined();

    expect(await t.runtime.sweeper.sweepOnce()).toBeGreaterThanOrEqual(1);
    const done = await waitForParent(
      wizard.id,
      (f) => enrollmentView(f.snapshot).step === 'done',
      'the wizard to finish',
    );
    expect(done.status).toBe('approved');
    const enrolled = (await t.runtime.users.get(username))!;
    expect(enrolled).toMatchObject({ phones: { mobile: newMobile }, method: 'sms', changedBy: wizard.id });
    expect(enrolled.enrolledAt).toBeGreaterThan(0);

    // The outbox relayed again: the wizard heard the verdict once, saved once.
    const [entry] = (await t.runtime.store.readLog(childId)).filter((e) =>
      e.effects.includes('notifyParent'),
    );
    await t.runtime.relay.relay(childId, entry!.version, [
      { type: 'notifyParent', parentId: wizard.id, childId, status: 'approved' },
    ]);
    await t.runtime.sweeper.sweepOnce();
    await eventually(async () =>
      (await t.runtime.store.strandedOutboxes(Date.now() + 60_000)).length === 0 ? true : undefined,
    );
    await effectDone(wizard.id, 'notifyUser');
    expect(await verdictsHeard(wizard.id)).toHaveLength(1);
    const log = await t.runtime.store.readLog(wizard.id);
    expect(log.filter((e) => e.effects.includes('updateUser'))).toHaveLength(1);
    expect(log.filter((e) => e.event.type === 'SETTINGS_SAVED')).toHaveLength(1);
  });
});
