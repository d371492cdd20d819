import { describe, expect, it } from 'vitest';
import { type AnyStateNode, initialTransition, type SnapshotFrom, transition } from 'xstate';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { isPushOpen, mayAnswer, pushStatusOf, wasDelivered } from '../../flows/push-approval/accessors.js';
import {
  PUSH_TAGS,
  type PushApprovalEvent,
  type PushApprovalInput,
  type PushDecision,
  pushApprovalMachine,
} from '../../flows/push-approval/machine.js';
import { toEffects } from '../../src/engine/engine.js';

const T0 = Date.UTC(2026, 0, 1);
const input: PushApprovalInput = {
  flowId: 'p1',
  userId: 'alice',
  parent: null,
  deviceIds: ['dev-a', 'dev-b'],
  number: { nonce: 'n0', digits: 3, digest: 'right' },
  challengeNonce: 'cn',
  pinRequired: true,
  request: { service: 'Dialtone', purpose: 'api', ip: '192.0.2.1', userAgent: null },
  ttlMs: 60_000,
  fraudBlockDays: 90,
  at: T0,
  timerToken: 'tok',
};

type Snap = SnapshotFrom<typeof pushApprovalMachine>;

const answer = (
  decision: PushDecision,
  over: Partial<Extract<PushApprovalEvent, { type: 'ANSWER' }>> = {},
): PushApprovalEvent => ({
  type: 'ANSWER',
  at: T0 + 10_000,
  deviceId: 'dev-a',
  challengeNonce: 'cn',
  decision,
  numberDigest: 'right',
  pinOk: true,
  ...over,
});
const delivered = (deviceId = 'dev-a', at = T0 + 1000): PushApprovalEvent => ({
  type: 'DELIVERED',
  at,
  deviceId,
});

/** Every event a device, a timer or the API could send, including stale, late, foreign and wrong ones. */
function eventsFor(): PushApprovalEvent[] {
  const events: PushApprovalEvent[] = [
    { type: 'CANCEL', at: T0 },
    { type: 'CANCEL', at: T0, reason: 'superseded' },
    { type: 'TIMEOUT', timer: 'expiry', token: 'tok' },
    { type: 'TIMEOUT', timer: 'expiry', token: 'stale' },
  ];
  for (const deviceId of ['dev-a', 'dev-b', 'dev-foreign']) {
    events.push(delivered(deviceId), delivered(deviceId, T0 + 61_000));
    for (const decision of ['approve', 'deny', 'fraud'] as const) {
      events.push(answer(decision, { deviceId }));
      events.push(answer(decision, { deviceId, numberDigest: 'wrong' }));
      events.push(answer(decision, { deviceId, pinOk: false }));
      events.push(answer(decision, { deviceId, challengeNonce: 'old' }));
      events.push(answer(decision, { deviceId, at: T0 + 60_000 }));
    }
  }
  return events;
}
const serializeState = (s: Snap) => JSON.stringify([s.value, s.context.deliveredTo, s.context.reason]);

/** Every source -event-> target pair the machine's definition declares. */
function definedEdges(): Set<string> {
  const edges = new Set<string>();
  for (const node of Object.values(pushApprovalMachine.root.states) as AnyStateNode[]) {
    for (const [eventType, transitions] of node.transitions) {
      for (const t of transitions) {
        const targets = t.target?.length ? t.target.map((n) => n.key) : [node.key];
        for (const target of targets) edges.add(`${node.key} -${eventType}-> ${target}`);
      }
    }
  }
  return edges;
}

/** Runs events from a persisted round-trip each step, as the engine does. */
function run(events: PushApprovalEvent[], start: PushApprovalInput = input) {
  let [snapshot, actions] = initialTransition(pushApprovalMachine, start);
  const steps = [{ status: pushStatusOf(snapshot), effects: toEffects(actions) }];
  for (const event of events) {
    const restored = pushApprovalMachine.resolveState(
      JSON.parse(JSON.stringify(pushApprovalMachine.getPersistedSnapshot(snapshot))),
    );
    [snapshot, actions] = transition(pushApprovalMachine, restored, event);
    steps.push({ status: pushStatusOf(snapshot), effects: toEffects(actions) });
  }
  return { snapshot, steps, last: steps[steps.length - 1]! };
}

describe('push-approval machine: model-based coverage', () => {
  it('reaches every state and takes every defined transition', () => {
    const observed = new Set<string>();
    for (const pinRequired of [true, false]) {
      const adjacency = getAdjacencyMap(pushApprovalMachine, {
        input: { ...input, pinRequired },
        events: eventsFor,
        serializeState,
      });
      for (const { state, transitions } of Object.values(adjacency)) {
        for (const { event, state: next } of Object.values(transitions) as {
          event: PushApprovalEvent;
          state: Snap;
        }[]) {
          if (serializeState(next) !== serializeState(state)) {
            observed.add(`${String(state.value)} -${event.type}-> ${String(next.value)}`);
          }
        }
      }
    }
    const expected = [...definedEdges()];
    // A guarded "ignore" is declared as a self edge; only real moves must be observed. DELIVERED in
    // `delivered` is a real move (another device), so it must show up too.
    const moves = expected.filter((edge) => !isSelfEdge(edge) || edge === 'delivered -DELIVERED-> delivered');
    expect(moves.filter((edge) => !observed.has(edge))).toEqual([]);
    expect(moves.length).toBeGreaterThanOrEqual(15);
    const states = new Set([...observed].map((edge) => edge.split(' ').pop()));
    expect([...states].sort()).toEqual(
      ['approved', 'canceled', 'delivered', 'denied', 'expired', 'failed', 'fraud'].sort(),
    );
  });

  it('every path ends in a status the API reports, final states ignore everything, tags tell open from final', () => {
    const paths = getShortestPaths(pushApprovalMachine, { input, events: eventsFor, serializeState });
    expect(paths.length).toBeGreaterThanOrEqual(8);
    for (const path of paths) {
      const status = pushStatusOf(path.state);
      expect(['pending', 'approved', 'denied', 'expired', 'failed', 'fraud', 'canceled']).toContain(status);
      expect(path.state.hasTag(PUSH_TAGS.open)).toBe(status === 'pending');
      expect(path.state.hasTag(PUSH_TAGS.final)).toBe(status !== 'pending');
      expect(isPushOpen(path.state)).toBe(status === 'pending');
      if (path.state.status === 'done') {
        for (const event of eventsFor()) {
          const [next, actions] = transition(pushApprovalMachine, path.state, event);
          expect(next).toBe(path.state);
          expect(actions).toEqual([]);
        }
      }
    }
  });

  it('a snapshot in a state the accessors do not know is refused, not judged', () => {
    expect(() => pushStatusOf({ value: 'limbo' })).toThrow(/unknown state limbo/);
  });
});

describe('push-approval machine: behaviour', () => {
  it('wakes the asked devices and schedules the expiry at creation', () => {
    const { steps, snapshot } = run([]);
    expect(steps[0]!.effects).toEqual([
      { type: 'notifyDevices', userId: 'alice', deviceIds: ['dev-a', 'dev-b'], expiresAt: T0 + 60_000 },
      { type: 'scheduleTimer', timer: 'expiry', token: 'tok', fireAt: T0 + 60_000 },
    ]);
    expect(snapshot.hasTag(PUSH_TAGS.awaitingDelivery)).toBe(true);
    expect(wasDelivered(snapshot)).toBe(false);
  });

  it('records each asked device that fetched it once, and ignores other devices', () => {
    const { snapshot, steps } = run([
      delivered('dev-a'),
      delivered('dev-a'),
      delivered('dev-foreign'),
      delivered('dev-b'),
    ]);
    expect(snapshot.context.deliveredTo).toEqual(['dev-a', 'dev-b']);
    expect(snapshot.hasTag(PUSH_TAGS.delivered)).toBe(true);
    expect(steps.map((s) => s.effects)).toEqual([steps[0]!.effects, [], [], [], []]);
    expect(mayAnswer(snapshot, 'dev-b')).toBe(true);
    expect(mayAnswer(snapshot, 'dev-foreign')).toBe(false);
  });

  it('approves the right number and PIN: success counted, audited, timer stopped', () => {
    const { last, snapshot } = run([delivered(), answer('approve')]);
    expect(last.status).toBe('approved');
    expect(last.effects).toEqual([
      { type: 'cancelTimer', timer: 'expiry', token: 'tok' },
      { type: 'recordOutcome', userId: 'alice', outcome: 'success' },
      {
        type: 'audit',
        event: 'push.approved',
        userId: 'alice',
        data: { flowId: 'p1', channel: 'push', deviceId: 'dev-a' },
      },
    ]);
    expect(snapshot.context.answeredBy).toBe('dev-a');
    expect(mayAnswer(snapshot, 'dev-a')).toBe(false);
  });

  it('a device may answer before its fetch was recorded', () => {
    expect(run([answer('approve')]).last.status).toBe('approved');
  });

  it('a wrong number or a wrong PIN fails the challenge at once and counts a failure, with one reason', () => {
    for (const wrong of [{ numberDigest: 'wrong' }, { pinOk: false }, { numberDigest: null }]) {
      const { last, snapshot } = run([delivered(), answer('approve', wrong)]);
      expect([last.status, snapshot.context.reason]).toEqual(['failed', 'wrong-answer']);
      expect(last.effects).toContainEqual({ type: 'recordOutcome', userId: 'alice', outcome: 'failure' });
    }
  });

  it('without a required PIN, the number alone approves', () => {
    const { last } = run([answer('approve', { pinOk: false })], { ...input, pinRequired: false });
    expect(last.status).toBe('approved');
  });

  it('a device whose protocol carries no PIN approves with the number alone; the other devices still need the PIN', () => {
    const pinless = { ...input, devicesWithoutPin: ['dev-b'] };
    expect(run([answer('approve', { deviceId: 'dev-b', pinOk: false })], pinless).last.status).toBe(
      'approved',
    );
    expect(run([answer('approve', { deviceId: 'dev-a', pinOk: false })], pinless).last.status).toBe('failed');
    const wrongNumber = answer('approve', { deviceId: 'dev-b', pinOk: false, numberDigest: 'wrong' });
    expect(run([wrongNumber], pinless).last.status).toBe('failed');
  });

  it('deny ends it without counting towards the lockout; fraud blocks the user and audits like SMS and voice', () => {
    const denied = run([answer('deny', { numberDigest: null, pinOk: false })]);
    expect([denied.last.status, denied.snapshot.context.reason]).toEqual(['denied', 'denied-by-user']);
    expect(denied.last.effects.map((e) => e.type)).toEqual(['cancelTimer', 'audit']);

    const fraud = run([delivered(), answer('fraud', { numberDigest: null, pinOk: false })]);
    expect([fraud.last.status, fraud.snapshot.context.reason]).toEqual(['fraud', 'reported-by-user']);
    expect(fraud.last.effects).toEqual([
      { type: 'cancelTimer', timer: 'expiry', token: 'tok' },
      { type: 'blockUser', userId: 'alice', days: 90, reason: 'fraud-report' },
      { type: 'audit', event: 'fraud.reported', userId: 'alice', data: { flowId: 'p1', channel: 'push' } },
    ]);
  });

  it('expires on its timer (a stale token changes nothing) and refuses a late answer as expired', () => {
    expect(run([{ type: 'TIMEOUT', timer: 'expiry', token: 'stale' }]).last.status).toBe('pending');
    const timed = run([delivered(), { type: 'TIMEOUT', timer: 'expiry', token: 'tok' }]);
    expect([timed.last.status, timed.snapshot.context.reason]).toEqual(['expired', 'expired']);
    const late = run([answer('approve', { at: T0 + 60_000 })]);
    expect([late.last.status, late.snapshot.context.reason]).toEqual(['expired', 'expired']);
    expect(late.last.effects).toEqual([{ type: 'cancelTimer', timer: 'expiry', token: 'tok' }]);
    // A fetch after the expiry does not count as a delivery.
    expect(run([delivered('dev-a', T0 + 60_000)]).snapshot.context.deliveredTo).toEqual([]);
  });

  it('ignores answers from a device that was not asked or for another issue of the challenge', () => {
    const { steps } = run([
      answer('approve', { deviceId: 'dev-foreign' }),
      answer('fraud', { deviceId: 'dev-foreign' }),
      answer('approve', { challengeNonce: 'old' }),
    ]);
    expect(steps.slice(1).map((s) => [s.status, s.effects.length])).toEqual([
      ['pending', 0],
      ['pending', 0],
      ['pending', 0],
    ]);
  });

  it('tells its parent flow every verdict when it has one, with the reason', () => {
    for (const [events, status] of [
      [[answer('approve')], 'approved'],
      [[answer('deny')], 'denied'],
      [[answer('fraud')], 'fraud'],
      [[answer('approve', { numberDigest: 'wrong' })], 'failed'],
      [[{ type: 'TIMEOUT', timer: 'expiry', token: 'tok' }], 'expired'],
      [[{ type: 'CANCEL', at: T0 }], 'canceled'],
    ] as [PushApprovalEvent[], string][]) {
      const { last } = run(events, { ...input, parent: { flowId: 'wizard' } });
      expect(last.effects.filter((e) => e.type === 'notifyParent')).toEqual([
        expect.objectContaining({ parentId: 'wizard', childId: 'p1', status }),
      ]);
    }
    expect(run([answer('approve')]).last.effects.some((e) => e.type === 'notifyParent')).toBe(false);
  });

  it('is canceled by the API or superseded by a newer push', () => {
    const canceled = run([{ type: 'CANCEL', at: T0 }]);
    expect([canceled.last.status, canceled.snapshot.context.reason]).toEqual(['canceled', 'canceled']);
    const superseded = run([delivered(), { type: 'CANCEL', at: T0, reason: 'superseded' }]);
    expect([superseded.last.status, superseded.snapshot.context.reason]).toEqual(['canceled', 'superseded']);
  });
});

function isSelfEdge(edge: string): boolean {
  const [from, rest] = edge.split(' -');
  return rest!.endsWith(`> ${from}`);
}
