import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import {
  type EnrollmentEvent,
  type EnrollmentInput,
  enrollmentMachine,
} from '../../flows/enrollment/machine.js';
import { enrollmentFlow } from '../../flows/registry.js';
import { toEffects } from '../../src/engine/engine.js';

const input: EnrollmentInput = {
  flowId: 'e1',
  userId: 'alice',
  methods: ['voice', 'sms'],
  currentMethod: null,
  questionsRequired: true,
  purpose: 'enroll',
  at: 0,
};

function run(events: EnrollmentEvent[], start: EnrollmentInput = input) {
  let [snapshot, actions] = initialTransition(enrollmentMachine, start);
  const steps = [
    { value: snapshot.value, status: enrollmentFlow.statusOf(snapshot), effects: toEffects(actions) },
  ];
  for (const event of events) {
    const restored = enrollmentMachine.resolveState(
      JSON.parse(JSON.stringify(enrollmentMachine.getPersistedSnapshot(snapshot))),
    );
    [snapshot, actions] = transition(enrollmentMachine, restored, event);
    steps.push({
      value: snapshot.value,
      status: enrollmentFlow.statusOf(snapshot),
      effects: toEffects(actions),
    });
  }
  return { snapshot, steps, last: steps[steps.length - 1]! };
}

const details: EnrollmentEvent = {
  type: 'SUBMIT_DETAILS',
  phones: { primary: '+12025550147', extension: '12' },
  pinHash: 'scrypt$p',
};
const started: EnrollmentEvent = { type: 'PROOF_STARTED', verificationId: 'v1' };
const result = (status: string, verificationId = 'v1'): EnrollmentEvent => ({
  type: 'PROOF_RESULT',
  verificationId,
  status,
});
const questions: EnrollmentEvent = {
  type: 'SUBMIT_QUESTIONS',
  answers: [{ questionId: 'q.first-pet', hash: 'h1' }],
};

describe('enrollment machine', () => {
  it('walks choose -> details -> prove -> questions -> done, saving only proven settings', () => {
    const { steps, last } = run([
      { type: 'CHOOSE', method: 'voice' },
      details,
      started,
      result('pending'),
      result('approved'),
      questions,
    ]);
    expect(steps.map((s) => s.value)).toEqual([
      'chooseMethod',
      'details',
      'proving',
      'proving',
      'proving',
      'questions',
      'done',
    ]);
    expect(steps.slice(0, 5).every((s) => s.effects.length === 0)).toBe(true);
    expect(steps[5]!.effects).toEqual([
      {
        type: 'updateUser',
        userId: 'alice',
        changes: {
          method: 'voice',
          phones: { primary: '+12025550147', extension: '12' },
          pinHash: 'scrypt$p',
          enrolled: true,
        },
      },
    ]);
    expect(last.status).toBe('approved');
    expect(last.effects.map((e) => e.type)).toEqual(['storeQuestions', 'notifyUser', 'audit']);
  });

  it('skips the choice when one method is assigned, and questions when not required', () => {
    const { steps } = run([details, started, result('approved')], {
      ...input,
      methods: ['sms'],
      questionsRequired: false,
    });
    expect(steps.map((s) => s.value)).toEqual(['details', 'proving', 'proving', 'done']);
    expect(steps[3]!.effects[0]).toMatchObject({ type: 'updateUser', changes: { method: 'sms' } });
  });

  it('refuses a method that is not allowed', () => {
    expect(
      run([{ type: 'CHOOSE', method: 'sms' }], { ...input, methods: ['voice', 'voice'] }).last.value,
    ).toBe('chooseMethod');
  });

  it('goes back to the details after a failed proof, saving nothing; ignores a stale verification', () => {
    const { steps, snapshot } = run([
      { type: 'CHOOSE', method: 'sms' },
      details,
      started,
      result('approved', 'old'),
      result('failed'),
    ]);
    expect(steps[4]!.value).toBe('proving');
    expect(steps[5]!.value).toBe('details');
    expect(snapshot.context.problem).toBe('proof-failed');
    expect(steps.flatMap((s) => s.effects)).toEqual([]);
  });

  it('changes only the questions', () => {
    const { steps } = run([questions], { ...input, purpose: 'change-questions' });
    expect(steps.map((s) => s.value)).toEqual(['questions', 'done']);
    expect(steps[1]!.effects).toContainEqual({ type: 'notifyUser', userId: 'alice', changes: ['questions'] });
  });

  it('changes the phone of the current method without asking for questions', () => {
    const { steps } = run([details, started, result('approved')], {
      ...input,
      purpose: 'change-phone',
      currentMethod: 'voice',
    });
    expect(steps.map((s) => s.value)).toEqual(['details', 'proving', 'proving', 'done']);
    expect(steps[3]!.effects).toContainEqual({ type: 'notifyUser', userId: 'alice', changes: ['phone'] });
  });

  it('can be canceled and gives up after five failed proofs', () => {
    expect(run([{ type: 'CANCEL' }]).last.status).toBe('canceled');
    const fail = [details, started, result('failed')];
    const { last } = run([{ type: 'CHOOSE', method: 'sms' }, ...fail, ...fail, ...fail, ...fail, ...fail]);
    expect(last.status).toBe('canceled');
  });
});
