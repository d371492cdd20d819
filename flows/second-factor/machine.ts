import { not, setup } from 'xstate';
import { type ChildDoneEvent, childFlowId } from '../child-flow.js';
import { effectActions } from '../effect-actions.js';

export const SECOND_FACTOR_MACHINE_ID = 'second-factor';
/** Bump when a change would make an old snapshot or event log mean something else. */
export const SECOND_FACTOR_MACHINE_VERSION = 1;

/** How the user passed: a call or a text to her phone (her method), or her security questions. */
export type SecondFactorVia = 'phone' | 'questions';

export interface SecondFactorInput {
  flowId: string;
  userId: string;
  /** The questions may stand in for the call or text (configuration, and the user has answers). */
  questionsAllowed: boolean;
  at: number;
}

export interface SecondFactorContext extends Omit<SecondFactorInput, 'at'> {
  childSeq: number;
  /** The verification this sign-in waits for (a call or a text with the user's method). */
  childId: string | null;
  via: SecondFactorVia | null;
  verifiedAt: number | null;
  reason: string | null;
}

/** The security answers as the portal's secret guard judged them: the machine never sees an answer. */
export type AnswersResult = 'right' | 'wrong' | 'locked';

export type SecondFactorEvent =
  | ChildDoneEvent
  | { type: 'QUESTIONS_ANSWERED'; at: number; result: AnswersResult }
  | { type: 'RESTART'; at: number };

export type SecondFactorTag = 'proving' | 'waiting-for-child' | 'refused' | 'verified' | 'final';

type Ctx = { context: SecondFactorContext };

const secondFactorSetup = setup({
  types: {} as {
    context: SecondFactorContext;
    events: SecondFactorEvent;
    input: SecondFactorInput;
    tags: SecondFactorTag;
  },
  actions: { ...effectActions('startChild', 'cancelChild', 'audit') },
  guards: {
    currentChild: ({ context, event }) => event.type === 'CHILD_DONE' && event.childId === context.childId,
    approved: ({ event }) => event.type === 'CHILD_DONE' && event.status === 'approved',
    rightAnswers: ({ context, event }) =>
      context.questionsAllowed && event.type === 'QUESTIONS_ANSWERED' && event.result === 'right',
  },
});

const verify = [
  secondFactorSetup.assign(({ context }) => ({
    childSeq: context.childSeq + 1,
    childId: childFlowId(context.flowId, context.childSeq + 1),
    reason: null,
  })),
  {
    type: 'startChild' as const,
    params: ({ context }: Ctx) => ({
      parentId: context.flowId,
      childId: context.childId ?? '',
      child: { kind: 'verification' as const, userId: context.userId, purpose: 'portal-login' },
    }),
  },
];
const stopChild = {
  type: 'cancelChild' as const,
  params: ({ context }: Ctx) => ({ childId: context.childId ?? '' }),
};
const passed = (via: SecondFactorVia) =>
  secondFactorSetup.assign(({ event }) => ({ via, verifiedAt: 'at' in event ? event.at : null }));
const refusedAnswers = {
  type: 'audit' as const,
  params: ({ context }: Ctx) => ({
    event: 'portal.second-factor-refused',
    userId: context.userId,
    data: { flowId: context.flowId, via: 'questions' },
  }),
};
const answers = (whileWaiting: boolean) => [
  {
    guard: 'rightAnswers' as const,
    target: 'verified',
    actions: whileWaiting ? [stopChild, passed('questions')] : [passed('questions')],
  },
  { actions: refusedAnswers },
];

/**
 * The portal's second factor after the password: a call or text with the user's method, started as a child
 * verification whose verdict arrives as `CHILD_DONE` (no page has to poll for it), or the security questions
 * when allowed. Failures are counted by the child (`recordOutcome`) and by the portal's secret guard.
 */
export const secondFactorMachine = secondFactorSetup.createMachine({
  id: SECOND_FACTOR_MACHINE_ID,
  context: ({ input }) => {
    const { at: _at, ...rest } = input;
    return { ...rest, childSeq: 0, childId: null, via: null, verifiedAt: null, reason: null };
  },
  initial: 'proving',
  states: {
    proving: {
      tags: ['proving', 'waiting-for-child'],
      entry: verify,
      on: {
        CHILD_DONE: [
          { guard: not('currentChild') },
          { guard: 'approved', target: 'verified', actions: passed('phone') },
          {
            target: 'refused',
            actions: secondFactorSetup.assign({
              reason: ({ event }) => (event.type === 'CHILD_DONE' ? (event.reason ?? event.status) : null),
            }),
          },
        ],
        QUESTIONS_ANSWERED: answers(true),
        RESTART: { target: 'proving', reenter: true, actions: stopChild },
      },
    },
    refused: {
      tags: ['refused'],
      on: { QUESTIONS_ANSWERED: answers(false), RESTART: 'proving' },
    },
    verified: {
      type: 'final',
      tags: ['verified', 'final'],
      entry: {
        type: 'audit',
        params: ({ context }) => ({
          event: 'portal.second-factor',
          userId: context.userId,
          data: { flowId: context.flowId, via: context.via ?? '' },
        }),
      },
    },
  },
});
