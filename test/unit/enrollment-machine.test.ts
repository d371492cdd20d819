import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { Effect } from '../../flows/effects.js';
import {
  type EnrollmentEvent,
  type EnrollmentInput,
  enrollmentMachine,
} from '../../flows/enrollment/machine.js';
import { enrollmentView } from '../../flows/enrollment/view.js';
import { enrollmentFlow } from '../../flows/registry.js';
import { toEffects } from '../../src/engine/engine.js';

const MINUTE = 60_000;
const input: EnrollmentInput = {
  flowId: 'e1',
  userId: 'alice',
  methods: ['voice', 'sms'],
  currentMethod: null,
  questionsRequired: true,
  purpose: 'enroll',
  precondition: { enrolledAt: null, updatedAt: 100 },
  current: { phones: {}, hasPin: false },
  sessionHandle: 'h1',
  phoneVerifiedAt: null,
  freshFactorMs: 5 * MINUTE,
  at: 0,
};
/** An enrolled user with a PIN and a voice phone, changing her settings in the portal. */
const enrolled: EnrollmentInput = {
  ...input,
  purpose: 'change-phone',
  currentMethod: 'voice',
  precondition: { enrolledAt: 50, updatedAt: 100 },
  current: { phones: { primary: '+12025550140', extension: '7' }, hasPin: true },
};

function run(events: EnrollmentEvent[], start: EnrollmentInput = input) {
  let [snapshot, actions] = initialTransition(enrollmentMachine, start);
  const step = () => {
    const persisted = JSON.parse(JSON.stringify(enrollmentMachine.getPersistedSnapshot(snapshot)));
    return {
      step: enrollmentView(persisted).step,
      status: enrollmentFlow.statusOf(snapshot),
      effects: toEffects(actions),
    };
  };
  const steps = [step()];
  for (const event of events) {
    const restored = enrollmentMachine.resolveState(
      JSON.parse(JSON.stringify(enrollmentMachine.getPersistedSnapshot(snapshot))),
    );
    [snapshot, actions] = transition(enrollmentMachine, restored, event);
    steps.push(step());
  }
  return { snapshot, steps, last: steps[steps.length - 1]!, effects: steps.flatMap((s) => s.effects) };
}

const details = (
  more: Partial<Extract<EnrollmentEvent, { type: 'SUBMIT_DETAILS' }>> = {},
): EnrollmentEvent => ({
  type: 'SUBMIT_DETAILS',
  phones: { primary: '+12025550147', extension: '12' },
  pinHash: 'v2$p',
  currentPin: 'none',
  at: 10 * MINUTE,
  ...more,
});
const done = (
  childId: string,
  status: 'approved' | 'failed' = 'approved',
  reason?: string,
): EnrollmentEvent => ({
  type: 'CHILD_DONE',
  childId,
  status,
  ...(reason ? { reason } : {}),
  at: 11 * MINUTE,
});
const saved = (ok = true): EnrollmentEvent => ({ type: 'SETTINGS_SAVED', ok });
const questions: EnrollmentEvent = {
  type: 'SUBMIT_QUESTIONS',
  answers: [{ questionId: 'q.first-pet', hash: 'h1' }],
};
const ofType = (effects: Effect[], type: Effect['type']) => effects.filter((e) => e.type === type);

describe('enrollment machine', () => {
  it('walks choose -> details -> proof (a child) -> save (compare-and-set) -> questions -> done', () => {
    const { steps, last } = run([
      { type: 'CHOOSE', method: 'voice' },
      details(),
      done('e1-c1'),
      saved(),
      questions,
    ]);
    expect(steps.map((s) => s.step)).toEqual([
      'choose-method',
      'details',
      'proving-new',
      'saving',
      'questions',
      'done',
    ]);
    expect(steps[2]!.effects).toEqual([
      {
        type: 'startChild',
        parentId: 'e1',
        childId: 'e1-c1',
        child: {
          kind: 'verification',
          userId: 'alice',
          purpose: 'portal-proof',
          method: 'voice',
          // What the child needs of the wizard travels in its input: the unsaved numbers and PIN.
          prove: { phones: { primary: '+12025550147', extension: '12' }, pinHash: 'v2$p' },
        },
      },
    ]);
    expect(steps[3]!.effects).toEqual([
      {
        type: 'updateUser',
        userId: 'alice',
        expect: { enrolledAt: null, updatedAt: 100 },
        changes: {
          method: 'voice',
          phones: { primary: '+12025550147', extension: '12' },
          pinHash: 'v2$p',
          enrolled: true,
        },
      },
    ]);
    expect(steps[4]!.effects).toEqual([]);
    expect(last.status).toBe('approved');
    expect(last.effects.map((e) => e.type)).toEqual(['storeQuestions', 'notifyUser', 'endSessions', 'audit']);
    expect(ofType(last.effects, 'endSessions')).toEqual([
      { type: 'endSessions', userId: 'alice', except: 'h1' },
    ]);
  });

  it('skips the choice when one method is assigned, and questions when not required', () => {
    const { steps } = run([details(), done('e1-c1'), saved()], {
      ...input,
      methods: ['sms'],
      questionsRequired: false,
    });
    expect(steps.map((s) => s.step)).toEqual(['details', 'proving-new', 'saving', 'done']);
    expect(steps[2]!.effects[0]).toMatchObject({ type: 'updateUser', changes: { method: 'sms' } });
  });

  it('refuses a method that is not allowed', () => {
    expect(
      run([{ type: 'CHOOSE', method: 'sms' }], { ...input, methods: ['voice', 'voice'] }).last.step,
    ).toBe('choose-method');
  });

  it('goes back to the details after a failed proof, saving nothing; ignores another child', () => {
    const { steps, snapshot, effects } = run([
      { type: 'CHOOSE', method: 'sms' },
      details(),
      done('e1-c0'),
      done('e1-c1', 'failed', 'rate_limited'),
    ]);
    expect(steps[3]!.step).toBe('proving-new');
    expect(steps[4]!.step).toBe('details');
    expect(snapshot.context).toMatchObject({ problem: 'proof-failed', proofReason: 'rate_limited' });
    expect(effects.map((e) => e.type)).toEqual(['startChild']);
  });

  it('a second "Text Me Now" starts a new child; going back cancels the one in flight', () => {
    const { steps } = run([details(), { type: 'BACK' }, details()], { ...input, methods: ['sms'] });
    expect(steps[2]!.effects).toEqual([{ type: 'cancelChild', childId: 'e1-c1' }]);
    expect(steps[3]!.effects[0]).toMatchObject({ type: 'startChild', childId: 'e1-c2' });
  });

  it('changes only the questions', () => {
    const { steps } = run([questions], { ...enrolled, purpose: 'change-questions' });
    expect(steps.map((s) => s.step)).toEqual(['questions', 'done']);
    expect(steps[1]!.effects).toContainEqual({ type: 'notifyUser', userId: 'alice', changes: ['questions'] });
  });

  it('can be canceled and gives up after five failed proofs', () => {
    expect(run([{ type: 'CANCEL' }]).last.status).toBe('canceled');
    const events: EnrollmentEvent[] = [{ type: 'CHOOSE', method: 'sms' }];
    for (let i = 1; i <= 5; i += 1) events.push(details(), done(`e1-c${i}`, 'failed'));
    const { last, snapshot } = run(events);
    expect(last.status).toBe('canceled');
    expect(snapshot.context.canceledBecause).toBe('too-many-failures');
  });
});

describe('factor changes need the current factor', () => {
  it('replacing the phone (and the PIN) needs the current PIN: without it nothing is proven or saved', () => {
    for (const currentPin of ['none', 'wrong', 'locked'] as const) {
      const { last, snapshot } = run([details({ currentPin })], enrolled);
      expect(last.step).toBe('details');
      expect(last.effects).toEqual([]);
      expect(snapshot.context.problem).toBe(
        { none: 'current-pin-missing', wrong: 'current-pin-wrong', locked: 'locked' }[currentPin],
      );
    }
    const right = run([details({ currentPin: 'right' }), done('e1-c1'), saved()], enrolled);
    expect(right.steps.map((s) => s.step)).toEqual(['details', 'proving-new', 'saving', 'done']);
  });

  it('the notice names every change: phone and PIN; a kept PIN is not named', () => {
    const both = run([details({ currentPin: 'right' }), done('e1-c1'), saved()], enrolled);
    expect(ofType(both.effects, 'notifyUser')).toEqual([
      { type: 'notifyUser', userId: 'alice', changes: ['phone', 'pin'] },
    ]);
    const phoneOnly = run(
      [details({ currentPin: 'right', pinHash: null }), done('e1-c1'), saved()],
      enrolled,
    );
    expect(ofType(phoneOnly.effects, 'notifyUser')[0]).toMatchObject({ changes: ['phone'] });
    // The proof of a kept PIN checks the stored one (no proof PIN in the child's input).
    expect(ofType(phoneOnly.effects, 'startChild')[0]).toMatchObject({
      child: { prove: { phones: { primary: '+12025550147', extension: '12' }, pinHash: null } },
    });
  });

  it('changing the method proves the new method, names method (and phone) and needs the current PIN', () => {
    const { effects, steps } = run(
      [
        { type: 'CHOOSE', method: 'sms' },
        details({ phones: { mobile: '+12025550150' }, pinHash: null, currentPin: 'right' }),
        done('e1-c1'),
        saved(),
      ],
      { ...enrolled, purpose: 'change-method' },
    );
    expect(steps.map((s) => s.step)).toEqual(['choose-method', 'details', 'proving-new', 'saving', 'done']);
    expect(ofType(effects, 'startChild')[0]).toMatchObject({ child: { method: 'sms' } });
    expect(ofType(effects, 'notifyUser')[0]).toMatchObject({ changes: ['phone', 'method'] });
    expect(ofType(effects, 'endSessions')).toHaveLength(1);
  });

  it('without a PIN: a phone proof within freshFactorMs is enough, an older one asks the current phone first', () => {
    const noPin = { ...enrolled, current: { ...enrolled.current, hasPin: false } };
    const fresh = run([details({ at: 4 * MINUTE })], { ...noPin, phoneVerifiedAt: 0 });
    expect(fresh.last.step).toBe('proving-new');

    const stale = run([details({ at: 6 * MINUTE }), done('e1-c1'), done('e1-c2'), saved()], {
      ...noPin,
      phoneVerifiedAt: 0,
    });
    expect(stale.steps.map((s) => s.step)).toEqual([
      'details',
      'confirming-current',
      'proving-new',
      'saving',
      'done',
    ]);
    // First a verification of her stored settings (no `prove`), then the proof of the new ones.
    expect(stale.steps[1]!.effects).toEqual([
      {
        type: 'startChild',
        parentId: 'e1',
        childId: 'e1-c1',
        child: { kind: 'verification', userId: 'alice', purpose: 'portal-confirm-current', method: 'voice' },
      },
    ]);
    expect(stale.steps[2]!.effects[0]).toMatchObject({ childId: 'e1-c2', child: { prove: {} } });

    const never = run([details(), done('e1-c1', 'failed', 'no-answer')], noPin);
    expect(never.steps.map((s) => s.step)).toEqual(['details', 'confirming-current', 'details']);
    expect(never.snapshot.context.problem).toBe('current-proof-failed');
    expect(ofType(never.effects, 'updateUser')).toEqual([]);
  });
});

describe('a stale wizard cannot override', () => {
  it('a refused compare-and-set ends the wizard as canceled: no notice, no questions, not done', () => {
    const { last, snapshot } = run([
      { type: 'CHOOSE', method: 'sms' },
      details(),
      done('e1-c1'),
      saved(false),
    ]);
    expect(last.step).toBe('canceled');
    expect(last.status).toBe('canceled');
    expect(last.effects).toEqual([]);
    expect(snapshot.context.canceledBecause).toBe('stale');
  });

  it('a page that finds the user changed since the wizard began ends it, canceling a proof in flight', () => {
    const changed: EnrollmentEvent = { type: 'USER_SEEN', user: { enrolledAt: 70, updatedAt: 120 } };
    const same: EnrollmentEvent = { type: 'USER_SEEN', user: { enrolledAt: null, updatedAt: 100 } };
    expect(run([same]).last.step).toBe('choose-method');
    expect(run([changed]).last.step).toBe('canceled');
    const proving = run([{ type: 'CHOOSE', method: 'sms' }, details(), changed]);
    expect(proving.last).toMatchObject({
      step: 'canceled',
      effects: [{ type: 'cancelChild', childId: 'e1-c1' }],
    });
    // Its own save changes the user: from then on the page's news changes nothing.
    const own = run([{ type: 'CHOOSE', method: 'sms' }, details(), done('e1-c1'), saved(), changed]);
    expect(own.last.step).toBe('questions');
  });
});
