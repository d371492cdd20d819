import { and, assign, not, type SnapshotFrom, setup } from 'xstate';
import { type ParentLink, tellParent } from '../child-flow.js';
import { effectActions, fraudReported, VERIFICATION_EFFECTS } from '../effect-actions.js';
import type { VerificationStatus } from '../effects.js';
import type { Language } from '../i18n/index.js';
import type { PinProblem } from '../pin-policy.js';
import type { FlowReason } from '../reasons.js';

export const VOICE_CALL_MACHINE_ID = 'voice-call';
/** Bump when a change would make an old snapshot or event log mean something else. */
export const VOICE_CALL_MACHINE_VERSION = 1;

export type VoiceMode = 'standard' | 'pin' | 'code';

export interface VoiceCallInput {
  flowId: string;
  userId: string;
  language: Language;
  service: string;
  mode: VoiceMode;
  to: string;
  extension: string | null;
  backup: string | null;
  /** Which endings of the primary call move on to the backup phone. */
  backupOn: ('busy' | 'no-answer')[];
  pinMustChange: boolean;
  /** Keyed digest of the code shown on the screen (code mode); judged outside the machine. */
  codeDigest: string | null;
  pinLength: { min: number; max: number };
  maxAttempts: number;
  maxNoInput: number;
  maxPinChanges: number;
  ringTimeoutSec: number;
  maxCallSec: number;
  machineDetection: boolean;
  fraudBlockDays: number;
  /** Time and timer tokens come from outside: the machine stays pure. */
  at: number;
  timerToken: string;
  /** Set when a parent flow started this one: the verdict is told to it. */
  parent?: ParentLink | null;
  /** A parent proving unsaved settings: the PIN to check instead of the stored one (judged outside; not in context). */
  proofPinHash?: string | null;
}

export type Problem = 'wrong' | 'no-input' | 'mismatch' | `weak:${PinProblem}` | null;

export interface VoiceCallContext
  extends Omit<VoiceCallInput, 'at' | 'timerToken' | 'parent' | 'proofPinHash'> {
  parent: ParentLink | null;
  leg: 'primary' | 'backup';
  callSid: string | null;
  /** Calls whose late events must be ignored (the primary leg after moving to the backup). */
  ignoredCalls: string[];
  ringToken: string;
  ringFireAt: number;
  callToken: string | null;
  callFireAt: number;
  attempts: number;
  noInputs: number;
  pinChanges: number;
  pendingPinHash: string | null;
  problem: Problem;
  prompts: number;
  reason: FlowReason | null;
}

/**
 * What the caller keyed, judged outside the machine (scrypt PIN check, code digest, new-PIN rules) against the
 * state the call is in. `none` is silence (or `#` alone in PIN mode).
 */
export type DigitFacts =
  | { result: 'none' }
  | { result: 'fraud' }
  | { result: 'correct' }
  | { result: 'wrong' }
  | { result: 'accepted'; pinHash: string }
  | { result: 'weak'; problem: PinProblem }
  | { result: 'match' }
  | { result: 'mismatch' };

export type CallEnd = 'busy' | 'no-answer' | 'failed' | 'canceled' | 'completed';

export type VoiceCallEvent =
  | {
      type: 'ANSWERED';
      at: number;
      callSid: string;
      answeredBy: 'human' | 'machine' | 'unknown';
      callToken: string;
    }
  | { type: 'DIGITS'; at: number; callSid: string; facts: DigitFacts }
  | { type: 'CALL_ENDED'; at: number; callSid: string; status: CallEnd }
  | { type: 'TIMEOUT'; timer: string; token: string }
  | { type: 'CANCEL'; at: number };

export const RING_TIMER = 'ring';
export const CALL_TIMER = 'call';
/** Grace beyond the carrier's own ring timeout before the engine gives up on an unanswered call. */
export const RING_GRACE_MS = 15_000;

type Ctx = { context: VoiceCallContext };

/** The fence of a call: valid while the flow waits for this leg (its ring token) to be answered. */
const callFence = (context: VoiceCallContext) => `call:${context.ringToken}`;

const placeCall = (which: 'primary' | 'backup') => ({
  type: 'placeCall' as const,
  params: ({ context }: Ctx) => ({
    to: which === 'primary' ? context.to : (context.backup ?? ''),
    ...(which === 'primary' && context.extension ? { sendDigits: extensionDigits(context.extension) } : {}),
    ringTimeoutSec: context.ringTimeoutSec,
    machineDetection: context.machineDetection,
    fence: callFence(context),
  }),
});
const scheduleRing = {
  type: 'scheduleTimer' as const,
  params: ({ context }: Ctx) => ({ timer: RING_TIMER, token: context.ringToken, fireAt: context.ringFireAt }),
};
const scheduleCallTimer = {
  type: 'scheduleTimer' as const,
  params: ({ context }: Ctx) => ({
    timer: CALL_TIMER,
    token: context.callToken ?? '',
    fireAt: context.callFireAt,
  }),
};
const storePin = {
  type: 'setPin' as const,
  params: ({ context }: Ctx) => ({ userId: context.userId, pinHash: context.pendingPinHash ?? '' }),
};
const stopRing = {
  type: 'cancelTimer' as const,
  params: ({ context }: Ctx) => ({ timer: RING_TIMER, token: context.ringToken }),
};
const stopCallTimer = {
  type: 'cancelTimer' as const,
  params: ({ context }: Ctx) => ({ timer: CALL_TIMER, token: context.callToken ?? '' }),
};
const hangup = {
  type: 'hangupCall' as const,
  params: ({ context }: Ctx) => ({ callSid: context.callSid ?? '' }),
};
const outcome = (result: 'success' | 'failure') => ({
  type: 'recordOutcome' as const,
  params: ({ context }: Ctx) => ({ userId: context.userId, outcome: result }),
});

/** Extension digits after connect: a second of waiting ('w' is half a second) before each try. */
export function extensionDigits(extension: string): string {
  return `ww${extension.replace(/[,W]/g, 'w')}`;
}

const keyed =
  (result: DigitFacts['result']) =>
  ({ event }: { event: VoiceCallEvent }) =>
    event.type === 'DIGITS' && event.facts.result === result;

/** What code outside `flows/` asks of a call (see `view.ts`). */
export type VoiceCallTag =
  | 'dialing'
  | 'answered'
  | 'awaiting-pin'
  | 'awaiting-new-pin'
  | 'awaiting-pin-confirmation'
  | 'final';

const voiceCallSetup = setup({
  types: {} as {
    context: VoiceCallContext;
    events: VoiceCallEvent;
    input: VoiceCallInput;
    tags: VoiceCallTag;
  },
  actions: {
    ...effectActions('placeCall', 'hangupCall', 'setPin', ...VERIFICATION_EFFECTS),
    countPrompt: assign({ prompts: ({ context }) => context.prompts + 1 }),
    answer: assign(({ context, event }) =>
      event.type === 'ANSWERED'
        ? {
            callSid: event.callSid,
            callToken: event.callToken,
            callFireAt: event.at + context.maxCallSec * 1000,
          }
        : {},
    ),
    silence: assign({ noInputs: ({ context }) => context.noInputs + 1, problem: 'no-input' as const }),
  },
  guards: {
    currentCall: ({ context, event }) =>
      'callSid' in event &&
      !context.ignoredCalls.includes(event.callSid) &&
      (context.callSid === null || context.callSid === event.callSid),
    machineAnswered: ({ event }) => event.type === 'ANSWERED' && event.answeredBy === 'machine',
    backupAllowed: ({ context, event }) =>
      event.type === 'CALL_ENDED' &&
      context.leg === 'primary' &&
      context.backup !== null &&
      (context.backupOn as string[]).includes(event.status),
    ringTimer: ({ context, event }) =>
      event.type === 'TIMEOUT' && event.timer === RING_TIMER && event.token === context.ringToken,
    callTimer: ({ context, event }) =>
      event.type === 'TIMEOUT' && event.timer === CALL_TIMER && event.token === context.callToken,
    isFraud: keyed('fraud'),
    isCorrect: keyed('correct'),
    isNone: keyed('none'),
    isAccepted: keyed('accepted'),
    isMatch: keyed('match'),
    lastTry: ({ context }) => context.attempts + 1 >= context.maxAttempts,
    lastSilence: ({ context }) => context.noInputs + 1 >= context.maxNoInput,
    lastPinChange: ({ context }) => context.pinChanges + 1 >= context.maxPinChanges,
    mustChangePin: ({ context }) => context.mode === 'pin' && context.pinMustChange,
  },
});

/** Tells the parent flow (when there is one) the verdict this state stands for. */
const toParent = (status: VerificationStatus) =>
  voiceCallSetup.enqueueActions(({ context, enqueue }) => tellParent(context, status, enqueue));

/**
 * A ringing leg, primary or backup: answered by a person or by voicemail, ended before an answer (a foreign
 * call's end is ignored), not answered in time, or canceled.
 */
const ringing = voiceCallSetup.createStateConfig({
  on: {
    ANSWERED: [
      { guard: not('currentCall') },
      {
        guard: 'machineAnswered',
        target: 'failed',
        actions: [assign({ callSid: ({ event }) => event.callSid, reason: 'voicemail' }), stopRing, hangup],
      },
      { target: 'answered', actions: [stopRing, 'answer', scheduleCallTimer] },
    ],
    CALL_ENDED: [
      { guard: not('currentCall') },
      {
        target: 'failed',
        actions: [stopRing, assign({ reason: ({ event }) => endReason(event.status) })],
      },
    ],
    TIMEOUT: { guard: 'ringTimer', target: 'failed', actions: [assign({ reason: 'no-answer' }), hangup] },
    CANCEL: { target: 'canceled', actions: [stopRing, hangup] },
  },
});

export const voiceCallMachine = voiceCallSetup.createMachine({
  id: VOICE_CALL_MACHINE_ID,
  context: ({ input }) => {
    const { at: _at, timerToken, parent, proofPinHash: _pin, ...rest } = input;
    return {
      ...rest,
      parent: parent ?? null,
      leg: 'primary',
      callSid: null,
      ignoredCalls: [],
      ringToken: `${timerToken}-r1`,
      ringFireAt: input.at + input.ringTimeoutSec * 1000 + RING_GRACE_MS,
      callToken: null,
      callFireAt: 0,
      attempts: 0,
      noInputs: 0,
      pinChanges: 0,
      pendingPinHash: null,
      problem: null,
      prompts: 0,
      reason: null,
    };
  },
  initial: 'calling',
  states: {
    calling: {
      tags: ['dialing'],
      entry: [placeCall('primary'), scheduleRing],
      on: {
        ...ringing.on,
        // The primary leg may move on to the backup phone when it ends; the backup leg never does.
        CALL_ENDED: [
          {
            guard: and(['currentCall', 'backupAllowed']),
            target: 'callingBackup',
            actions: [
              stopRing,
              assign(({ context, event }) => ({
                ignoredCalls: [...context.ignoredCalls, event.callSid],
                leg: 'backup' as const,
                callSid: null,
                ringToken: `${context.ringToken}b`,
                ringFireAt: event.at + context.ringTimeoutSec * 1000 + RING_GRACE_MS,
              })),
            ],
          },
          ...ringing.on.CALL_ENDED,
        ],
      },
    },
    callingBackup: { tags: ['dialing'], entry: [placeCall('backup'), scheduleRing], on: ringing.on },
    answered: {
      tags: ['answered'],
      initial: 'ask',
      on: {
        CALL_ENDED: {
          guard: 'currentCall',
          target: 'failed',
          actions: [stopCallTimer, assign({ reason: 'hung-up' })],
        },
        TIMEOUT: { guard: 'callTimer', target: 'failed', actions: [assign({ reason: 'timeout' }), hangup] },
        CANCEL: { target: 'canceled', actions: [stopCallTimer, hangup] },
      },
      states: {
        // PIN, code, or a bare '#', by mode. Re-entered (not re-placed) on each re-prompt.
        ask: {
          tags: ['awaiting-pin'],
          entry: 'countPrompt',
          on: {
            DIGITS: [
              { guard: not('currentCall') },
              { guard: 'isFraud', target: '#voice-call.fraud' },
              {
                guard: and(['isCorrect', 'mustChangePin']),
                target: 'newPin',
                actions: assign({ problem: null, noInputs: 0 }),
              },
              { guard: 'isCorrect', target: '#voice-call.verified' },
              {
                guard: and(['isNone', 'lastSilence']),
                target: '#voice-call.rejected',
                actions: assign({ reason: 'no-input' }),
              },
              { guard: 'isNone', target: 'ask', reenter: true, actions: 'silence' },
              {
                guard: 'lastTry',
                target: '#voice-call.rejected',
                actions: assign({
                  reason: 'too-many-attempts',
                  attempts: ({ context }) => context.attempts + 1,
                }),
              },
              {
                target: 'ask',
                reenter: true,
                actions: assign({ attempts: ({ context }) => context.attempts + 1, problem: 'wrong' }),
              },
            ],
          },
        },
        newPin: {
          tags: ['awaiting-new-pin'],
          entry: 'countPrompt',
          on: {
            DIGITS: [
              { guard: not('currentCall') },
              { guard: 'isFraud', target: '#voice-call.fraud' },
              {
                guard: 'isAccepted',
                target: 'confirmPin',
                actions: assign(({ event }) => ({
                  pendingPinHash:
                    event.type === 'DIGITS' && event.facts.result === 'accepted' ? event.facts.pinHash : null,
                  problem: null,
                  noInputs: 0,
                })),
              },
              {
                guard: and(['isNone', 'lastSilence']),
                target: '#voice-call.rejected',
                actions: assign({ reason: 'no-input' }),
              },
              { guard: 'isNone', target: 'newPin', reenter: true, actions: 'silence' },
              {
                guard: 'lastPinChange',
                target: '#voice-call.rejected',
                actions: assign({ reason: 'pin-change-failed' }),
              },
              {
                target: 'newPin',
                reenter: true,
                actions: assign(({ context, event }) => ({
                  pinChanges: context.pinChanges + 1,
                  problem:
                    event.type === 'DIGITS' && event.facts.result === 'weak'
                      ? (`weak:${event.facts.problem}` as const)
                      : ('wrong' as const),
                })),
              },
            ],
          },
        },
        confirmPin: {
          tags: ['awaiting-pin-confirmation'],
          entry: 'countPrompt',
          on: {
            DIGITS: [
              { guard: not('currentCall') },
              { guard: 'isMatch', target: '#voice-call.verified', actions: storePin },
              {
                guard: and(['isNone', 'lastSilence']),
                target: '#voice-call.rejected',
                actions: assign({ reason: 'no-input' }),
              },
              { guard: 'isNone', target: 'confirmPin', reenter: true, actions: 'silence' },
              {
                guard: 'lastPinChange',
                target: '#voice-call.rejected',
                actions: assign({ reason: 'pin-change-failed' }),
              },
              {
                target: 'newPin',
                actions: assign(({ context }) => ({
                  pinChanges: context.pinChanges + 1,
                  pendingPinHash: null,
                  problem: 'mismatch' as const,
                })),
              },
            ],
          },
        },
      },
    },
    // Spoken verdicts: the prompt of these states says it and hangs up; the carrier then reports the end.
    verified: {
      type: 'final',
      tags: ['final'],
      entry: [stopCallTimer, assign({ problem: null }), outcome('success'), toParent('approved')],
    },
    rejected: {
      type: 'final',
      tags: ['final'],
      entry: [
        stopCallTimer,
        assign({ problem: null, reason: ({ context }) => context.reason ?? 'too-many-attempts' }),
        outcome('failure'),
        toParent('failed'),
      ],
    },
    fraud: {
      type: 'final',
      tags: ['final'],
      entry: [
        stopCallTimer,
        assign({ problem: null, reason: 'reported-by-user' }),
        ...fraudReported('voice'),
        toParent('fraud'),
      ],
    },
    failed: { type: 'final', tags: ['final'], entry: [outcome('failure'), toParent('failed')] },
    canceled: {
      type: 'final',
      tags: ['final'],
      entry: [assign({ reason: 'canceled' }), toParent('canceled')],
    },
  },
});

function endReason(status: CallEnd): FlowReason {
  return status === 'completed' ? 'hung-up' : status;
}

/** What a snapshot waits for from a fenced effect: the call of the leg it dials, until that one is answered or ends. */
export function voiceCallFence(snapshot: SnapshotFrom<typeof voiceCallMachine>): string | null {
  return snapshot.hasTag('dialing') ? callFence(snapshot.context) : null;
}
