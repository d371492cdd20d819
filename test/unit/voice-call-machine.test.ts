import { describe, expect, it } from 'vitest';
import { type AnyStateNode, initialTransition, type SnapshotFrom, transition } from 'xstate';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { voiceCallFlow } from '../../flows/registry.js';
import {
  type DigitFacts,
  type VoiceCallEvent,
  type VoiceCallInput,
  voiceCallFence,
  voiceCallMachine,
} from '../../flows/voice-call/machine.js';
import { promptFor } from '../../flows/voice-call/prompts.js';
import { toEffects } from '../../src/engine/engine.js';

const T0 = Date.UTC(2026, 0, 1);
const input: VoiceCallInput = {
  flowId: 'v1',
  userId: 'alice',
  language: 'en',
  service: 'Dialtone',
  mode: 'pin',
  to: '+12025550147',
  extension: '1234',
  backup: '+12025550148',
  backupOn: ['busy', 'no-answer'],
  pinMustChange: true,
  codeDigest: null,
  pinLength: { min: 4, max: 8 },
  maxAttempts: 3,
  maxNoInput: 2,
  maxPinChanges: 3,
  ringTimeoutSec: 30,
  maxCallSec: 180,
  machineDetection: true,
  fraudBlockDays: 90,
  at: T0,
  timerToken: 'tok',
};

type Snap = SnapshotFrom<typeof voiceCallMachine>;
const FACTS: DigitFacts[] = [
  { result: 'none' },
  { result: 'fraud' },
  { result: 'correct' },
  { result: 'wrong' },
  { result: 'accepted', pinHash: 'scrypt$new' },
  { result: 'weak', problem: 'trivial' },
  { result: 'match' },
  { result: 'mismatch' },
];
const ENDINGS = ['busy', 'no-answer', 'failed', 'canceled', 'completed'] as const;

/** Every event a carrier, a timer or the API could send in this state, including stale and foreign ones. */
function eventsFor(state: Snap): VoiceCallEvent[] {
  const c = state.context;
  const sids = c.callSid ? [c.callSid, 'CAforeign'] : ['CA1', 'CA2'];
  const events: VoiceCallEvent[] = [{ type: 'CANCEL', at: T0 }];
  for (const callSid of sids) {
    events.push({ type: 'ANSWERED', at: T0, callSid, answeredBy: 'human', callToken: 'ct' });
    events.push({ type: 'ANSWERED', at: T0, callSid, answeredBy: 'machine', callToken: 'ct' });
    for (const status of ENDINGS) events.push({ type: 'CALL_ENDED', at: T0, callSid, status });
    for (const facts of FACTS) events.push({ type: 'DIGITS', at: T0, callSid, facts });
  }
  events.push(
    { type: 'TIMEOUT', timer: 'ring', token: c.ringToken },
    { type: 'TIMEOUT', timer: 'ring', token: 'stale' },
  );
  events.push({ type: 'TIMEOUT', timer: 'call', token: c.callToken ?? 'none' });
  return events;
}

const serializeState = (s: Snap) =>
  JSON.stringify([
    s.value,
    s.context.attempts,
    s.context.noInputs,
    s.context.pinChanges,
    s.context.leg,
    s.context.callSid,
  ]);
const valueKey = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : Object.entries(value as object).map(([k, v]) => `${k}.${valueKey(v)}`)[0]!;

function definedEdges(): Set<string> {
  const edges = new Set<string>();
  const leaves = (node: AnyStateNode): AnyStateNode[] =>
    Object.keys(node.states).length ? Object.values(node.states).flatMap(leaves) : [node];
  // Entering a compound state lands in its initial child.
  const entered = (node: AnyStateNode): AnyStateNode => {
    const initial = node.initial?.target?.[0];
    return initial ? entered(initial) : node;
  };
  const key = (node: AnyStateNode) => node.path.join('.');
  const visit = (node: AnyStateNode) => {
    for (const [eventType, transitions] of node.transitions) {
      for (const t of transitions) {
        for (const source of leaves(node)) {
          const targets = t.target?.length ? t.target.map(entered) : [source];
          for (const target of targets) edges.add(`${key(source)} -${eventType}-> ${key(target)}`);
        }
      }
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(voiceCallMachine.root);
  return edges;
}

describe('voice-call machine: model-based coverage', () => {
  for (const mode of ['pin', 'standard', 'code'] as const) {
    it(`reaches every state and takes every defined transition (${mode} mode)`, () => {
      const edges = new Set<string>();
      for (const pinMustChange of mode === 'pin' ? [true, false] : [false]) {
        const adjacency = getAdjacencyMap(voiceCallMachine, {
          input: { ...input, mode, pinMustChange },
          events: eventsFor,
          serializeState,
        });
        for (const { state, transitions } of Object.values(adjacency)) {
          for (const { event, state: next } of Object.values(transitions) as {
            event: VoiceCallEvent;
            state: Snap;
          }[]) {
            if (serializeState(next) !== serializeState(state)) {
              edges.add(`${valueKey(state.value)} -${event.type}-> ${valueKey(next.value)}`);
            }
          }
        }
      }
      const expected = [...definedEdges()].filter((edge) => !edge.includes('-xstate.'));
      const reachable = mode === 'pin' ? expected : expected.filter((e) => !/newPin|confirmPin/.test(e));
      // A guarded "ignore" (foreign call) is a self edge with no change: only real moves must be observed.
      const missing = reachable.filter((edge) => !edges.has(edge) && !isSelfEdge(edge));
      expect(missing).toEqual([]);
      expect(reachable.length).toBeGreaterThan(15); // the walk of the definition found the transitions
    });
  }

  it('every shortest path ends in a status the API can report, and final states ignore everything', () => {
    const paths = getShortestPaths(voiceCallMachine, { input, events: eventsFor, serializeState });
    expect(paths.length).toBeGreaterThan(50);
    for (const path of paths) {
      const status = voiceCallFlow.statusOf(path.state);
      expect(['pending', 'approved', 'failed', 'fraud', 'canceled']).toContain(status);
      if (path.state.status === 'done') {
        for (const event of eventsFor(path.state)) {
          const [next, actions] = transition(voiceCallMachine, path.state, event);
          expect(next).toBe(path.state);
          expect(actions).toEqual([]);
        }
      }
    }
  });

  it('every reachable state has a prompt, and only answered states gather keys', () => {
    const paths = getShortestPaths(voiceCallMachine, { input, events: eventsFor, serializeState });
    for (const { state } of paths) {
      const prompt = promptFor(state.value, state.context, 10);
      const answered = typeof state.value === 'object';
      expect(prompt.next.kind === 'gather').toBe(answered);
      expect(prompt.lines.length).toBeGreaterThan(0);
    }
  });
});

function isSelfEdge(edge: string): boolean {
  const [from, rest] = edge.split(' -');
  return rest!.endsWith(`> ${from}`);
}

/** Runs events from a persisted round-trip each step, as the engine does. */
function run(events: VoiceCallEvent[], start: VoiceCallInput = input) {
  let [snapshot, actions] = initialTransition(voiceCallMachine, start);
  const steps = [{ status: voiceCallFlow.statusOf(snapshot), effects: toEffects(actions) }];
  for (const event of events) {
    const restored = voiceCallMachine.resolveState(
      JSON.parse(JSON.stringify(voiceCallMachine.getPersistedSnapshot(snapshot))),
    );
    [snapshot, actions] = transition(voiceCallMachine, restored, event);
    steps.push({ status: voiceCallFlow.statusOf(snapshot), effects: toEffects(actions) });
  }
  return { snapshot, steps, last: steps[steps.length - 1]! };
}
const answered = (callSid = 'CA1', answeredBy: 'human' | 'machine' = 'human'): VoiceCallEvent => ({
  type: 'ANSWERED',
  at: T0 + 5000,
  callSid,
  answeredBy,
  callToken: 'ct1',
});
const keys = (facts: DigitFacts, callSid = 'CA1'): VoiceCallEvent => ({
  type: 'DIGITS',
  at: T0 + 9000,
  callSid,
  facts,
});
const ended = (status: (typeof ENDINGS)[number], callSid = 'CA1'): VoiceCallEvent => ({
  type: 'CALL_ENDED',
  at: T0 + 1000,
  callSid,
  status,
});

describe('voice-call machine: behaviour', () => {
  it('places the call with the extension digits and a ring timer', () => {
    const { steps } = run([]);
    expect(steps[0]!.effects).toEqual([
      {
        type: 'placeCall',
        to: '+12025550147',
        sendDigits: 'ww1234',
        ringTimeoutSec: 30,
        machineDetection: true,
        fence: 'call:tok-r1',
      },
      { type: 'scheduleTimer', timer: 'ring', token: 'tok-r1', fireAt: T0 + 45_000 },
    ]);
  });

  it('waits for the call of the leg it dials (fence), and for no call once answered or ended', () => {
    const dialing = run([]).snapshot;
    expect(voiceCallFence(dialing)).toBe('call:tok-r1');
    expect(voiceCallFence(run([ended('busy', 'CA1')]).snapshot)).toBe('call:tok-r1b');
    expect(voiceCallFence(run([answered()]).snapshot)).toBeNull();
    expect(voiceCallFence(run([ended('busy', 'CA1'), ended('no-answer', 'CA2')]).snapshot)).toBeNull();
  });

  it('approves a correct PIN (no change needed) and schedules then stops the call timer', () => {
    const { steps, snapshot } = run([answered(), keys({ result: 'correct' })], {
      ...input,
      pinMustChange: false,
    });
    expect(steps[1]!.effects).toEqual([
      { type: 'cancelTimer', timer: 'ring', token: 'tok-r1' },
      { type: 'scheduleTimer', timer: 'call', token: 'ct1', fireAt: T0 + 5000 + 180_000 },
    ]);
    expect(steps[2]!.status).toBe('approved');
    expect(steps[2]!.effects).toEqual([
      { type: 'cancelTimer', timer: 'call', token: 'ct1' },
      { type: 'recordOutcome', userId: 'alice', outcome: 'success' },
    ]);
    expect(promptFor(snapshot.value, snapshot.context, 10)).toEqual({
      lines: [{ key: 'voice.verified' }],
      next: { kind: 'hangup' },
    });
  });

  it('changes the PIN at first use: new PIN, confirmation, stored hash', () => {
    const { steps, snapshot } = run([
      answered(),
      keys({ result: 'correct' }),
      keys({ result: 'weak', problem: 'trivial' }),
      keys({ result: 'accepted', pinHash: 'scrypt$a' }),
      keys({ result: 'mismatch' }),
      keys({ result: 'accepted', pinHash: 'scrypt$b' }),
      keys({ result: 'match' }),
    ]);
    expect(steps.map((s) => s.status)).toEqual([
      'pending',
      'pending',
      'pending',
      'pending',
      'pending',
      'pending',
      'pending',
      'approved',
    ]);
    expect(steps[7]!.effects).toContainEqual({ type: 'setPin', userId: 'alice', pinHash: 'scrypt$b' });
    expect(snapshot.context.pinChanges).toBe(2);
  });

  it('re-prompts a weak PIN with the reason', () => {
    const { snapshot } = run([
      answered(),
      keys({ result: 'correct' }),
      keys({ result: 'weak', problem: 'phone-digits' }),
    ]);
    expect(promptFor(snapshot.value, snapshot.context, 10).lines).toEqual([
      { key: 'pin.problem.phone-digits', params: { min: 4, max: 8 } },
      { key: 'voice.new-pin', params: { min: 4, max: 8 } },
    ]);
  });

  it('fails after three wrong PINs and after two silences', () => {
    const wrong = run([
      answered(),
      keys({ result: 'wrong' }),
      keys({ result: 'wrong' }),
      keys({ result: 'wrong' }),
    ]);
    expect([wrong.last.status, wrong.snapshot.context.reason]).toEqual(['failed', 'too-many-attempts']);
    expect(promptFor(wrong.snapshot.value, wrong.snapshot.context, 10).lines).toEqual([
      { key: 'voice.failed' },
    ]);
    const silent = run([answered(), keys({ result: 'none' }), keys({ result: 'none' })]);
    expect([silent.last.status, silent.snapshot.context.reason]).toEqual(['failed', 'no-input']);
  });

  it('reports fraud on 0#: blocks the user and audits', () => {
    const { last, snapshot } = run([answered(), keys({ result: 'fraud' })]);
    expect(last.status).toBe('fraud');
    expect(last.effects.map((e) => e.type)).toEqual(['cancelTimer', 'blockUser', 'audit']);
    expect(promptFor(snapshot.value, snapshot.context, 10).lines).toEqual([{ key: 'voice.fraud' }]);
  });

  it('hangs up on an answering machine with reason voicemail', () => {
    const { last, snapshot } = run([answered('CA1', 'machine')]);
    expect([last.status, snapshot.context.reason]).toEqual(['failed', 'voicemail']);
    expect(last.effects).toContainEqual({ type: 'hangupCall', callSid: 'CA1' });
  });

  it('calls the backup phone once when the primary is busy, and ignores the primary afterwards', () => {
    const { steps, snapshot } = run([
      ended('busy', 'CA1'),
      ended('completed', 'CA1'),
      ended('no-answer', 'CA2'),
    ]);
    expect(steps[1]!.effects).toContainEqual({
      type: 'placeCall',
      to: '+12025550148',
      ringTimeoutSec: 30,
      machineDetection: true,
      fence: 'call:tok-r1b',
    });
    expect(steps[2]!.status).toBe('pending'); // the primary's late "completed" changes nothing
    expect(steps[3]!.status).toBe('failed');
    expect(snapshot.context.reason).toBe('no-answer');
  });

  it('maps every ending before answer to a failure reason', () => {
    for (const status of ENDINGS) {
      const { snapshot } = run([ended(status)], { ...input, backup: null });
      expect(snapshot.context.reason).toBe(status === 'completed' ? 'hung-up' : status);
    }
  });

  it('fails when the caller hangs up before the verdict, and on the ring and call timers', () => {
    expect(run([answered(), ended('completed')]).snapshot.context.reason).toBe('hung-up');
    const ring = run([{ type: 'TIMEOUT', timer: 'ring', token: 'tok-r1' }]);
    expect([ring.last.status, ring.snapshot.context.reason]).toEqual(['failed', 'no-answer']);
    expect(run([{ type: 'TIMEOUT', timer: 'ring', token: 'old' }]).last.status).toBe('pending');
    const call = run([answered(), { type: 'TIMEOUT', timer: 'call', token: 'ct1' }]);
    expect([call.last.status, call.snapshot.context.reason]).toEqual(['failed', 'timeout']);
  });

  it('greets once, then re-prompts without the greeting', () => {
    const first = run([answered()]);
    expect(promptFor(first.snapshot.value, first.snapshot.context, 10)).toEqual({
      lines: [
        { key: 'voice.greeting', params: { service: 'Dialtone' } },
        { key: 'voice.ask.pin' },
        { key: 'voice.fraud-hint' },
      ],
      next: { kind: 'gather', finishOnKey: '#', maxDigits: 20, timeoutSec: 10 },
    });
    const again = run([answered(), keys({ result: 'wrong' })]);
    expect(promptFor(again.snapshot.value, again.snapshot.context, 10).lines).toEqual([
      { key: 'voice.problem.wrong', params: { min: 4, max: 8 } },
      { key: 'voice.ask.pin' },
    ]);
    const standard = run([answered()], { ...input, mode: 'standard', pinMustChange: false });
    expect(promptFor(standard.snapshot.value, standard.snapshot.context, 10).next).toEqual({
      kind: 'gather',
      finishOnKey: '',
      maxDigits: 1,
      timeoutSec: 10,
    });
  });
});
