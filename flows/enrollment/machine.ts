import { not, setup } from 'xstate';
import { type ChildDoneEvent, childFlowId } from '../child-flow.js';
import { effectActions } from '../effect-actions.js';
import type { SettingChange, UserPrecondition, VerificationChild } from '../effects.js';

export const ENROLLMENT_MACHINE_ID = 'enrollment';
/** Bump when a change would make an old snapshot or event log mean something else. */
export const ENROLLMENT_MACHINE_VERSION = 2;

/** The methods the wizard can prove today; a method with its own proof (push) adds itself here. */
export type EnrollMethod = 'sms' | 'voice';

export interface EnrollmentPhones {
  primary?: string | null;
  extension?: string | null;
  backup?: string | null;
  mobile?: string | null;
}

/** Phones as stored: a missing number is absent, never null. */
export type StoredPhones = { [K in keyof EnrollmentPhones]?: string };

export type EnrollmentPurpose = 'enroll' | 'change-method' | 'change-phone' | 'change-questions';

export interface EnrollmentInput {
  flowId: string;
  userId: string;
  /** Methods the user may choose; one method means it is assigned and the choice page is skipped. */
  methods: EnrollMethod[];
  currentMethod: EnrollMethod | null;
  questionsRequired: boolean;
  /** 'enroll' walks every step; the others change one thing and prove it. */
  purpose: EnrollmentPurpose;
  /** The user as the wizard found her: the save is a compare-and-set against it. */
  precondition: UserPrecondition;
  /** Her settings when the wizard began: what a change is measured against, what "the current phone" is. */
  current: { phones: StoredPhones; hasPin: boolean };
  /** The portal session running the wizard: every other session of the user ends when a factor changes. */
  sessionHandle: string;
  /** When this session last passed a second factor on the user's phone (null: not by phone). */
  phoneVerifiedAt: number | null;
  /** How recent that must be to change a factor without a PIN. */
  freshFactorMs: number;
  at: number;
}

export type EnrollmentProblem =
  | 'proof-failed'
  | 'current-pin-missing'
  | 'current-pin-wrong'
  | 'locked'
  | 'current-proof-failed';

export interface EnrollmentContext extends Omit<EnrollmentInput, 'at'> {
  method: EnrollMethod | null;
  phones: EnrollmentPhones;
  pinHash: string | null;
  childSeq: number;
  /** The verification this wizard waits for (a proof of the new settings, or of the current phone). */
  childId: string | null;
  proofFailures: number;
  problem: EnrollmentProblem | null;
  /** Why the last proof failed (the child's reason or status), for the page. */
  proofReason: string | null;
  /** Why the wizard ended without saving. */
  canceledBecause: 'user' | 'too-many-failures' | 'stale' | null;
}

/**
 * The current PIN typed in a factor-change form, as the portal's secret guard judged it (the machine never sees
 * a PIN): `none` when nothing was typed.
 */
export type CurrentPinResult = 'right' | 'wrong' | 'locked' | 'none';

/**
 * Everything the portal learns from forms arrives already validated (numbers normalised, PIN hashed, answers
 * hashed, the current PIN judged): the machine decides what comes next.
 */
export type EnrollmentEvent =
  | ChildDoneEvent
  | { type: 'CHOOSE'; method: EnrollMethod }
  | {
      type: 'SUBMIT_DETAILS';
      phones: EnrollmentPhones;
      pinHash: string | null;
      currentPin: CurrentPinResult;
      at: number;
    }
  | { type: 'SETTINGS_SAVED'; ok: boolean }
  | { type: 'USER_SEEN'; user: UserPrecondition }
  | { type: 'SUBMIT_QUESTIONS'; answers: { questionId: string; hash: string }[] }
  | { type: 'BACK' }
  | { type: 'CANCEL' };

export type EnrollmentTag =
  | 'choosing-method'
  | 'awaiting-details'
  | 'confirming-current'
  | 'proving'
  | 'waiting-for-child'
  | 'saving'
  | 'awaiting-questions'
  | 'done'
  | 'canceled'
  | 'final';

type Ctx = { context: EnrollmentContext };
const MAX_PROOF_FAILURES = 5;

/** The phones the wizard's settings come to: the typed ones over the current ones (null removes a number). */
export function phonesAfter(current: StoredPhones, typed: EnrollmentPhones): StoredPhones {
  const merged: Record<string, string | null | undefined> = { ...current, ...typed };
  return Object.fromEntries(
    Object.entries(merged).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  ) as StoredPhones;
}

const samePhones = (a: StoredPhones, b: StoredPhones) =>
  (['primary', 'extension', 'backup', 'mobile'] as const).every((k) => (a[k] ?? null) === (b[k] ?? null));

/** Every setting the wizard changes, for the notice mail (never the values). */
export function changesOf(context: EnrollmentContext): SettingChange[] {
  if (context.purpose === 'enroll') return ['enrollment'];
  if (context.purpose === 'change-questions') return ['questions'];
  const changes: SettingChange[] = [];
  if (!samePhones(phonesAfter(context.current.phones, context.phones), context.current.phones))
    changes.push('phone');
  if (context.pinHash) changes.push('pin');
  if (context.method && context.method !== context.currentMethod) changes.push('method');
  return changes;
}

export const changesAFactor = (context: EnrollmentContext) =>
  context.purpose === 'change-phone' || context.purpose === 'change-method';

const enrollmentSetup = setup({
  types: {} as {
    context: EnrollmentContext;
    events: EnrollmentEvent;
    input: EnrollmentInput;
    tags: EnrollmentTag;
  },
  actions: {
    ...effectActions(
      'startChild',
      'cancelChild',
      'updateUser',
      'storeQuestions',
      'notifyUser',
      'endSessions',
      'audit',
    ),
  },
  guards: {
    methodKnown: ({ context }) => context.method !== null && context.purpose !== 'change-method',
    allowed: ({ context, event }) => event.type === 'CHOOSE' && context.methods.includes(event.method),
    choiceOffered: ({ context }) => context.methods.length > 1,
    onlyQuestions: ({ context }) => context.purpose === 'change-questions',
    currentChild: ({ context, event }) => event.type === 'CHILD_DONE' && event.childId === context.childId,
    approved: ({ event }) => event.type === 'CHILD_DONE' && event.status === 'approved',
    saved: ({ event }) => event.type === 'SETTINGS_SAVED' && event.ok,
    askQuestions: ({ context }) => context.questionsRequired && context.purpose === 'enroll',
    tooManyFailures: ({ context }) => context.proofFailures + 1 >= MAX_PROOF_FAILURES,
    /** The user changed since the wizard began (enrolled elsewhere, or changed her settings). */
    userChanged: ({ context, event }) =>
      event.type === 'USER_SEEN' &&
      (event.user.enrolledAt !== context.precondition.enrolledAt ||
        event.user.updatedAt !== context.precondition.updatedAt),
    // Changing a factor needs the current one: the current PIN, or without a PIN a fresh proof on her phone.
    noCurrentFactorNeeded: ({ context }) => !changesAFactor(context),
    currentPinRight: ({ context, event }) =>
      context.current.hasPin && event.type === 'SUBMIT_DETAILS' && event.currentPin === 'right',
    currentPinLocked: ({ context, event }) =>
      context.current.hasPin && event.type === 'SUBMIT_DETAILS' && event.currentPin === 'locked',
    currentPinMissing: ({ context, event }) =>
      context.current.hasPin && event.type === 'SUBMIT_DETAILS' && event.currentPin === 'none',
    currentPinWrong: ({ context }) => context.current.hasPin,
    freshPhoneFactor: ({ context, event }) =>
      event.type === 'SUBMIT_DETAILS' &&
      context.phoneVerifiedAt !== null &&
      event.at - context.phoneVerifiedAt <= context.freshFactorMs,
  },
});

const nextChild = enrollmentSetup.assign(({ context }) => ({
  childSeq: context.childSeq + 1,
  childId: childFlowId(context.flowId, context.childSeq + 1),
}));

const startChild = (child: (context: EnrollmentContext) => VerificationChild) => [
  nextChild,
  {
    type: 'startChild' as const,
    params: ({ context }: Ctx) => ({
      parentId: context.flowId,
      childId: context.childId ?? '',
      child: child(context),
    }),
  },
];

/** "Call Me Now" / "Text Me Now": a verification of the unsaved settings, which travel in the child's input. */
const proveNew = startChild((context) => ({
  kind: 'verification',
  userId: context.userId,
  purpose: 'portal-proof',
  method: context.method ?? 'sms',
  prove: { phones: phonesAfter(context.current.phones, context.phones), pinHash: context.pinHash },
}));

/** A user without a PIN proves she still holds the current phone before a factor changes. */
const proveCurrent = startChild((context) => ({
  kind: 'verification',
  userId: context.userId,
  purpose: 'portal-confirm-current',
  ...(context.currentMethod ? { method: context.currentMethod } : {}),
}));

const stopChild = {
  type: 'cancelChild' as const,
  params: ({ context }: Ctx) => ({ childId: context.childId ?? '' }),
};
const forgetChild = enrollmentSetup.assign({ childId: null });

const keepDetails = enrollmentSetup.assign(({ event }) =>
  event.type === 'SUBMIT_DETAILS'
    ? { phones: event.phones, pinHash: event.pinHash, problem: null, proofReason: null }
    : {},
);
const refuse = (problem: EnrollmentProblem) => enrollmentSetup.assign({ problem });

const failedProof = (problem: 'proof-failed' | 'current-proof-failed') =>
  enrollmentSetup.assign(({ context, event }) => ({
    proofFailures: context.proofFailures + 1,
    problem,
    proofReason: event.type === 'CHILD_DONE' ? (event.reason ?? event.status) : null,
    childId: null,
  }));

const cancelBecause = (why: 'user' | 'too-many-failures' | 'stale') =>
  enrollmentSetup.assign({ canceledBecause: why });

/** A proof's verdict: only the current child's counts; too many failures end the wizard. */
const proofVerdict = (
  onApproved: 'provingNew' | 'savingSettings',
  problem: 'proof-failed' | 'current-proof-failed',
) => [
  { guard: not('currentChild') },
  { guard: 'approved' as const, target: onApproved },
  {
    guard: 'tooManyFailures' as const,
    target: 'canceled',
    actions: [forgetChild, cancelBecause('too-many-failures')],
  },
  { target: 'editingDetails', actions: failedProof(problem) },
];

/** Before anything is saved: a user changed elsewhere makes this wizard stale, and it ends. */
const staleWhenChanged = (waiting: boolean) => ({
  guard: 'userChanged' as const,
  target: 'canceled',
  actions: waiting ? [stopChild, cancelBecause('stale')] : [cancelBecause('stale')],
});

const save = {
  type: 'updateUser' as const,
  params: ({ context }: Ctx) => ({
    userId: context.userId,
    expect: context.precondition,
    changes: {
      ...(context.method ? { method: context.method } : {}),
      phones: context.phones,
      ...(context.pinHash ? { pinHash: context.pinHash } : {}),
      ...(context.purpose === 'enroll' ? { enrolled: true } : {}),
    },
  }),
};

/** The notice names every change; a factor change (or enrolment) ends the user's other portal sessions. */
const announce = enrollmentSetup.enqueueActions(({ context, enqueue }) => {
  const changes = changesOf(context);
  if (changes.length === 0) return;
  enqueue({ type: 'notifyUser', params: { userId: context.userId, changes } });
  enqueue({ type: 'endSessions', params: { userId: context.userId, except: context.sessionHandle } });
});
const audit = {
  type: 'audit' as const,
  params: ({ context }: Ctx) => ({
    event: `portal.${context.purpose}`,
    userId: context.userId,
    data: { flowId: context.flowId, method: context.method ?? '', changes: changesOf(context).join(',') },
  }),
};

export const enrollmentMachine = enrollmentSetup.createMachine({
  id: ENROLLMENT_MACHINE_ID,
  context: ({ input }) => {
    const { at: _at, ...rest } = input;
    const assigned = input.methods.length === 1 ? (input.methods[0] ?? null) : null;
    return {
      ...rest,
      method: assigned ?? (input.purpose === 'change-phone' ? input.currentMethod : null),
      phones: {},
      pinHash: null,
      childSeq: 0,
      childId: null,
      proofFailures: 0,
      problem: null,
      proofReason: null,
      canceledBecause: null,
    };
  },
  initial: 'routing',
  states: {
    routing: {
      always: [
        { guard: 'onlyQuestions', target: 'askingQuestions' },
        { guard: 'methodKnown', target: 'editingDetails' },
        { target: 'choosingMethod' },
      ],
    },
    choosingMethod: {
      tags: ['choosing-method'],
      on: {
        CHOOSE: {
          guard: 'allowed',
          target: 'editingDetails',
          actions: enrollmentSetup.assign({
            method: ({ event }) => (event.type === 'CHOOSE' ? event.method : null),
          }),
        },
        USER_SEEN: staleWhenChanged(false),
        CANCEL: { target: 'canceled', actions: cancelBecause('user') },
      },
    },
    editingDetails: {
      tags: ['awaiting-details'],
      on: {
        SUBMIT_DETAILS: [
          { guard: 'noCurrentFactorNeeded', target: 'provingNew', actions: keepDetails },
          { guard: 'currentPinRight', target: 'provingNew', actions: keepDetails },
          { guard: 'currentPinLocked', actions: refuse('locked') },
          { guard: 'currentPinMissing', actions: refuse('current-pin-missing') },
          { guard: 'currentPinWrong', actions: refuse('current-pin-wrong') },
          { guard: 'freshPhoneFactor', target: 'provingNew', actions: keepDetails },
          { target: 'confirmingCurrentPhone', actions: keepDetails },
        ],
        BACK: { guard: 'choiceOffered', target: 'choosingMethod' },
        USER_SEEN: staleWhenChanged(false),
        CANCEL: { target: 'canceled', actions: cancelBecause('user') },
      },
    },
    // A user without a PIN whose last phone proof is not fresh: a call or text to the current phone first.
    confirmingCurrentPhone: {
      tags: ['confirming-current', 'waiting-for-child'],
      entry: proveCurrent,
      on: {
        CHILD_DONE: proofVerdict('provingNew', 'current-proof-failed'),
        BACK: { target: 'editingDetails', actions: [stopChild, forgetChild] },
        USER_SEEN: staleWhenChanged(true),
        CANCEL: { target: 'canceled', actions: [stopChild, cancelBecause('user')] },
      },
    },
    // "Call Me Now" / "Text Me Now": a child verification of the new settings; its verdict arrives as CHILD_DONE.
    provingNew: {
      tags: ['proving', 'waiting-for-child'],
      entry: proveNew,
      on: {
        CHILD_DONE: proofVerdict('savingSettings', 'proof-failed'),
        BACK: { target: 'editingDetails', actions: [stopChild, forgetChild] },
        USER_SEEN: staleWhenChanged(true),
        CANCEL: { target: 'canceled', actions: [stopChild, cancelBecause('user')] },
      },
    },
    // Compare-and-set against the user as the wizard found her: a wizard gone stale saves nothing and ends.
    savingSettings: {
      tags: ['saving'],
      entry: [forgetChild, save],
      on: {
        SETTINGS_SAVED: [
          { guard: 'saved', target: 'settingsSaved' },
          { target: 'canceled', actions: cancelBecause('stale') },
        ],
      },
    },
    settingsSaved: {
      always: [{ guard: 'askQuestions', target: 'askingQuestions' }, { target: 'finished' }],
    },
    askingQuestions: {
      tags: ['awaiting-questions'],
      on: {
        SUBMIT_QUESTIONS: {
          target: 'finished',
          actions: {
            type: 'storeQuestions',
            params: ({ context, event }) => ({ userId: context.userId, answers: event.answers }),
          },
        },
        CANCEL: { target: 'canceled', actions: cancelBecause('user') },
      },
    },
    finished: { type: 'final', tags: ['done', 'final'], entry: [announce, audit] },
    canceled: { type: 'final', tags: ['canceled', 'final'] },
  },
});
