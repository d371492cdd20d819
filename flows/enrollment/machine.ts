import { assign, not, setup } from 'xstate';
import { effectActions } from '../effect-actions.js';
import type { SettingChange } from '../effects.js';

export const ENROLLMENT_MACHINE_ID = 'enrollment';
/** Bump when a change would make an old snapshot or event log mean something else. */
export const ENROLLMENT_MACHINE_VERSION = 1;

export type EnrollMethod = 'sms' | 'voice';

export interface EnrollmentPhones {
  primary?: string | null;
  extension?: string | null;
  backup?: string | null;
  mobile?: string | null;
}

export interface EnrollmentInput {
  flowId: string;
  userId: string;
  /** Methods the user may choose; one method means it is assigned and the choice page is skipped. */
  methods: EnrollMethod[];
  currentMethod: EnrollMethod | null;
  questionsRequired: boolean;
  /** 'enroll' walks every step; the others change one thing and prove it. */
  purpose: 'enroll' | 'change-method' | 'change-phone' | 'change-questions';
  at: number;
}

export interface EnrollmentContext extends Omit<EnrollmentInput, 'at'> {
  method: EnrollMethod | null;
  phones: EnrollmentPhones;
  pinHash: string | null;
  verificationId: string | null;
  proofFailures: number;
  problem: 'proof-failed' | null;
}

/**
 * Everything the portal learns from forms arrives already validated (numbers normalised, PIN hashed, answers
 * hashed): the machine only decides what comes next.
 */
export type EnrollmentEvent =
  | { type: 'CHOOSE'; method: EnrollMethod }
  | { type: 'SUBMIT_DETAILS'; phones: EnrollmentPhones; pinHash: string | null }
  | { type: 'PROOF_STARTED'; verificationId: string }
  | { type: 'PROOF_RESULT'; verificationId: string; status: string }
  | { type: 'SUBMIT_QUESTIONS'; answers: { questionId: string; hash: string }[] }
  | { type: 'BACK' }
  | { type: 'CANCEL' };

type Ctx = { context: EnrollmentContext };
const MAX_PROOF_FAILURES = 5;

const saveProven = {
  type: 'updateUser' as const,
  params: ({ context }: Ctx) => ({
    userId: context.userId,
    changes: {
      ...(context.method ? { method: context.method } : {}),
      phones: context.phones,
      ...(context.pinHash ? { pinHash: context.pinHash } : {}),
      ...(context.purpose === 'enroll' ? { enrolled: true } : {}),
    },
  }),
};
const notify = {
  type: 'notifyUser' as const,
  params: ({ context }: Ctx) => ({ userId: context.userId, changes: [changeOf(context)] }),
};
const audit = {
  type: 'audit' as const,
  params: ({ context }: Ctx) => ({
    event: `portal.${context.purpose}`,
    userId: context.userId,
    data: { flowId: context.flowId, method: context.method ?? '' },
  }),
};

function changeOf(context: EnrollmentContext): SettingChange {
  switch (context.purpose) {
    case 'enroll':
      return 'enrollment';
    case 'change-method':
      return 'method';
    case 'change-phone':
      return 'phone';
    case 'change-questions':
      return 'questions';
  }
}

export const enrollmentMachine = setup({
  types: {} as { context: EnrollmentContext; events: EnrollmentEvent; input: EnrollmentInput },
  actions: {
    ...effectActions('updateUser', 'storeQuestions', 'notifyUser', 'audit'),
  },
  guards: {
    methodKnown: ({ context }) => context.method !== null && context.purpose !== 'change-method',
    allowed: ({ context, event }) => event.type === 'CHOOSE' && context.methods.includes(event.method),
    choiceOffered: ({ context }) => context.methods.length > 1,
    onlyQuestions: ({ context }) => context.purpose === 'change-questions',
    currentProof: ({ context, event }) =>
      event.type === 'PROOF_RESULT' && event.verificationId === context.verificationId,
    proven: ({ event }) => event.type === 'PROOF_RESULT' && event.status === 'approved',
    stillRunning: ({ event }) => event.type === 'PROOF_RESULT' && event.status === 'pending',
    askQuestions: ({ context }) => context.questionsRequired && context.purpose === 'enroll',
    tooManyFailures: ({ context }) => context.proofFailures + 1 >= MAX_PROOF_FAILURES,
  },
}).createMachine({
  id: ENROLLMENT_MACHINE_ID,
  context: ({ input }) => {
    const { at: _at, ...rest } = input;
    const assigned = input.methods.length === 1 ? (input.methods[0] ?? null) : null;
    return {
      ...rest,
      method: assigned ?? (input.purpose === 'change-phone' ? input.currentMethod : null),
      phones: {},
      pinHash: null,
      verificationId: null,
      proofFailures: 0,
      problem: null,
    };
  },
  initial: 'start',
  states: {
    start: {
      always: [
        { guard: 'onlyQuestions', target: 'questions' },
        { guard: 'methodKnown', target: 'details' },
        { target: 'chooseMethod' },
      ],
    },
    chooseMethod: {
      on: {
        CHOOSE: {
          guard: 'allowed',
          target: 'details',
          actions: assign({ method: ({ event }) => event.method }),
        },
        CANCEL: 'canceled',
      },
    },
    details: {
      on: {
        SUBMIT_DETAILS: {
          target: 'proving',
          actions: assign({
            phones: ({ event }) => event.phones,
            pinHash: ({ event }) => event.pinHash,
            verificationId: null,
          }),
        },
        BACK: { guard: 'choiceOffered', target: 'chooseMethod' },
        CANCEL: 'canceled',
      },
    },
    // "Call Me Now" / "Text Me Now": the portal starts a verification to the new settings and reports its verdict.
    proving: {
      on: {
        PROOF_STARTED: {
          actions: assign({ verificationId: ({ event }) => event.verificationId, problem: null }),
        },
        PROOF_RESULT: [
          { guard: 'stillRunning' },
          { guard: not('currentProof') },
          { guard: 'proven', target: 'proven' },
          { guard: 'tooManyFailures', target: 'canceled' },
          {
            target: 'details',
            actions: assign({
              proofFailures: ({ context }) => context.proofFailures + 1,
              problem: 'proof-failed' as const,
              verificationId: null,
            }),
          },
        ],
        BACK: { target: 'details', actions: assign({ verificationId: null }) },
        CANCEL: 'canceled',
      },
    },
    proven: {
      always: [
        { guard: 'askQuestions', target: 'questions', actions: saveProven },
        { target: 'done', actions: saveProven },
      ],
    },
    questions: {
      on: {
        SUBMIT_QUESTIONS: {
          target: 'done',
          actions: {
            type: 'storeQuestions',
            params: ({ context, event }) => ({ userId: context.userId, answers: event.answers }),
          },
        },
        CANCEL: 'canceled',
      },
    },
    done: { type: 'final', entry: [notify, audit] },
    canceled: { type: 'final' },
  },
});
