import { and, assign, type SnapshotFrom, setup } from 'xstate';
import { type ParentLink, tellParent } from '../child-flow.js';
import { effectActions, fraudReported, VERIFICATION_EFFECTS } from '../effect-actions.js';
import type { SendSmsEffect, VerificationStatus } from '../effects.js';
import type { Language, MessageKey } from '../i18n/index.js';
import type { FlowReason } from '../reasons.js';

export const SMS_OTP_MACHINE_ID = 'sms-otp';
/** Bump when a change would make an old snapshot or event log mean something else. */
export const SMS_OTP_MACHINE_VERSION = 1;

export interface SmsOtpInput {
  flowId: string;
  userId: string;
  to: string;
  language: Language;
  service: string;
  pinRequired: boolean;
  twoWay: boolean;
  codeLength: number;
  ttlMs: number;
  maxAttempts: number;
  maxSends: number;
  fraudBlockDays: number;
  /** Time, the first code and the expiry timer's token come from outside: the machine stays pure. */
  at: number;
  nonce: string;
  codeDigest: string;
  timerToken: string;
  /** Set when a parent flow started this one: the verdict is told to it. */
  parent?: ParentLink | null;
  /** A parent proving unsaved settings: the PIN to check instead of the stored one (judged outside; not in context). */
  proofPinHash?: string | null;
}

export interface SmsOtpContext
  extends Omit<SmsOtpInput, 'at' | 'nonce' | 'codeDigest' | 'timerToken' | 'parent' | 'proofPinHash'> {
  parent: ParentLink | null;
  code: { nonce: string; digest: string; expiresAt: number };
  timerToken: string;
  attempts: number;
  sends: number;
  reason: FlowReason | null;
}

/** An answer is judged outside (keyed digest, scrypt PIN check); the event carries only the facts. */
export interface AnswerFacts {
  codeDigest: string;
  pinOk: boolean;
}

export type SmsReplyFacts = ({ kind: 'answer' } & AnswerFacts) | { kind: 'fraud' } | { kind: 'unreadable' };

export type SmsOtpEvent =
  | { type: 'REPLY'; at: number; reply: SmsReplyFacts }
  | ({ type: 'CHECK'; at: number } & AnswerFacts)
  | { type: 'RESEND'; at: number; nonce: string; codeDigest: string; timerToken: string }
  | { type: 'TIMEOUT'; timer: string; token: string }
  | { type: 'DELIVERY'; at: number; status: string }
  | { type: 'OPTED_OUT'; at: number }
  /** The carrier refused the code text for good (an invalid number, say): waiting longer cannot help. */
  | { type: 'SEND_REFUSED'; at: number }
  | { type: 'CANCEL'; at: number }
  /** A newer verification texted the same number: this one ends, never judged or counted again. */
  | { type: 'SUPERSEDED'; at: number; by: string };

export const EXPIRY_TIMER = 'expiry';

type Ctx = { context: SmsOtpContext };

function answerOf(event: SmsOtpEvent): AnswerFacts | null {
  if (event.type === 'CHECK') return event;
  if (event.type === 'REPLY' && event.reply.kind === 'answer') return event.reply;
  return null;
}

// Parameterised action objects, so each named action stays one effect the engine can persist.
const textTo = (
  message: MessageKey,
  extra: (c: SmsOtpContext) => Partial<Omit<SendSmsEffect, 'type'>> = () => ({}),
) => ({
  type: 'sendSms' as const,
  params: ({ context }: Ctx) => ({ to: context.to, language: context.language, message, ...extra(context) }),
});
/** The fence of the code text: valid while the flow waits for an answer to this very code. */
const codeFence = (context: SmsOtpContext) => `code:${context.code.nonce}`;

const textCode = {
  type: 'sendSms' as const,
  params: ({ context }: Ctx) => ({
    to: context.to,
    language: context.language,
    message: codeMessage(context),
    params: { service: context.service },
    code: { nonce: context.code.nonce, length: context.codeLength },
    fence: codeFence(context),
  }),
};
const supersedeOlder = {
  type: 'supersedeOlder' as const,
  params: ({ context }: Ctx) => ({ to: context.to }),
};
const scheduleExpiry = {
  type: 'scheduleTimer' as const,
  params: ({ context }: Ctx) => ({
    timer: EXPIRY_TIMER,
    token: context.timerToken,
    fireAt: context.code.expiresAt,
  }),
};
const stopExpiry = {
  type: 'cancelTimer' as const,
  params: ({ context }: Ctx) => ({ timer: EXPIRY_TIMER, token: context.timerToken }),
};
const remaining = (c: SmsOtpContext) => ({ params: { remaining: c.maxAttempts - c.attempts } });
const outcome = (result: 'success' | 'failure') => ({
  type: 'recordOutcome' as const,
  params: ({ context }: Ctx) => ({ userId: context.userId, outcome: result }),
});

function codeMessage(context: SmsOtpContext): MessageKey {
  if (!context.twoWay) return 'sms.code.screen';
  return context.pinRequired ? 'sms.code.reply-pin' : 'sms.code.reply';
}

/** What code outside `flows/` asks of an SMS flow (see `view.ts`). */
export type SmsOtpTag = 'awaiting-answer' | 'open' | 'expired' | 'final';

const smsOtpSetup = setup({
  types: {} as { context: SmsOtpContext; events: SmsOtpEvent; input: SmsOtpInput; tags: SmsOtpTag },
  actions: {
    ...effectActions('sendSms', 'supersedeOlder', ...VERIFICATION_EFFECTS),
    // A wrong answer counts across resends: nothing in the machine ever lowers it.
    countAttempt: assign({ attempts: ({ context }) => context.attempts + 1 }),
  },
  guards: {
    late: ({ context, event }) => 'at' in event && event.at >= context.code.expiresAt,
    correct: ({ context, event }) => {
      const answer = answerOf(event);
      return answer !== null && answer.codeDigest === context.code.digest && answer.pinOk;
    },
    isAnswer: ({ event }) => answerOf(event) !== null,
    isTextReply: ({ event }) => event.type === 'REPLY',
    lastTry: ({ context }) => context.attempts + 1 >= context.maxAttempts,
    isFraud: ({ event }) => event.type === 'REPLY' && event.reply.kind === 'fraud',
    currentTimer: ({ context, event }) =>
      event.type === 'TIMEOUT' && event.timer === EXPIRY_TIMER && event.token === context.timerToken,
    canResend: ({ context }) => context.sends < context.maxSends,
    deliveryFailed: ({ event }) =>
      event.type === 'DELIVERY' && (event.status === 'failed' || event.status === 'undelivered'),
  },
});

/** Tells the parent flow (when there is one) the verdict this state stands for. */
const toParent = (status: VerificationStatus) =>
  smsOtpSetup.enqueueActions(({ context, enqueue }) => tellParent(context, status, enqueue));

export const smsOtpMachine = smsOtpSetup.createMachine({
  id: SMS_OTP_MACHINE_ID,
  context: ({ input }) => ({
    flowId: input.flowId,
    userId: input.userId,
    to: input.to,
    language: input.language,
    service: input.service,
    pinRequired: input.pinRequired,
    twoWay: input.twoWay,
    codeLength: input.codeLength,
    ttlMs: input.ttlMs,
    maxAttempts: input.maxAttempts,
    maxSends: input.maxSends,
    fraudBlockDays: input.fraudBlockDays,
    parent: input.parent ?? null,
    code: { nonce: input.nonce, digest: input.codeDigest, expiresAt: input.at + input.ttlMs },
    timerToken: input.timerToken,
    attempts: 0,
    sends: 1,
    reason: null,
  }),
  initial: 'pending',
  states: {
    pending: {
      tags: ['awaiting-answer', 'open'],
      entry: [textCode, scheduleExpiry, supersedeOlder],
      on: {
        REPLY: [
          { guard: 'late', target: 'expired', actions: [stopExpiry, textTo('sms.expired')] },
          { guard: 'isFraud', target: 'fraud' },
          { guard: 'correct', target: 'approved', actions: textTo('sms.approved') },
          {
            guard: and(['isAnswer', 'lastTry']),
            target: 'failed',
            actions: ['countAttempt', textTo('sms.failed')],
          },
          { guard: 'isAnswer', actions: ['countAttempt', textTo('sms.wrong', remaining)] },
          {
            actions: textTo('sms.unreadable', (c) =>
              c.pinRequired ? { message: 'sms.unreadable-pin' } : {},
            ),
          },
        ],
        // A code typed on a screen: the answer is the API's response, so no text goes back.
        CHECK: [
          { guard: 'late', target: 'expired', actions: stopExpiry },
          { guard: 'correct', target: 'approved' },
          { guard: 'lastTry', target: 'failed', actions: 'countAttempt' },
          { actions: 'countAttempt' },
        ],
        RESEND: {
          guard: 'canResend',
          actions: [
            stopExpiry,
            assign(({ context, event }) => ({
              code: { nonce: event.nonce, digest: event.codeDigest, expiresAt: event.at + context.ttlMs },
              timerToken: event.timerToken,
              sends: context.sends + 1,
            })),
            textCode,
            scheduleExpiry,
          ],
        },
        TIMEOUT: { guard: 'currentTimer', target: 'expired' },
        DELIVERY: {
          guard: 'deliveryFailed',
          target: 'failed',
          actions: assign({ reason: 'undeliverable' }),
        },
        OPTED_OUT: { target: 'failed', actions: assign({ reason: 'opted-out' }) },
        SEND_REFUSED: { target: 'failed', actions: assign({ reason: 'carrier-refused' }) },
        CANCEL: { target: 'canceled', actions: stopExpiry },
        SUPERSEDED: { target: 'superseded' },
      },
    },
    // Not final: a late reply still gets the polite "expired" answer.
    expired: {
      tags: ['expired'],
      entry: [assign({ reason: 'expired' }), toParent('expired')],
      on: { REPLY: { guard: 'isAnswer', actions: textTo('sms.expired') } },
    },
    approved: {
      type: 'final',
      tags: ['final'],
      entry: [stopExpiry, outcome('success'), toParent('approved')],
    },
    failed: {
      type: 'final',
      tags: ['final'],
      entry: [
        stopExpiry,
        assign({ reason: ({ context }) => context.reason ?? 'too-many-attempts' }),
        outcome('failure'),
        toParent('failed'),
      ],
    },
    fraud: {
      type: 'final',
      tags: ['final'],
      entry: [
        stopExpiry,
        assign({ reason: 'reported-by-user' }),
        textTo('sms.fraud'),
        ...fraudReported('sms'),
        toParent('fraud'),
      ],
    },
    canceled: {
      type: 'final',
      tags: ['final'],
      entry: [assign({ reason: 'canceled' }), toParent('canceled')],
    },
    // Failed, but not a failed attempt of the user's: no outcome is recorded, so the lockout does not count it.
    superseded: {
      type: 'final',
      tags: ['final'],
      entry: [stopExpiry, assign({ reason: 'superseded' }), toParent('failed')],
    },
  },
});

/** What a snapshot waits for from a fenced effect: the text of its current code, while it awaits an answer. */
export function smsOtpFence(snapshot: SnapshotFrom<typeof smsOtpMachine>): string | null {
  return snapshot.hasTag('awaiting-answer') ? codeFence(snapshot.context) : null;
}
