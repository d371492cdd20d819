import { and, assign, not, setup } from 'xstate';
import { type ParentLink, tellParent } from '../child-flow.js';
import { effectActions, fraudReported, VERIFICATION_EFFECTS } from '../effect-actions.js';
import type { VerificationStatus } from '../effects.js';
import type { FlowReason } from '../reasons.js';

export const PUSH_APPROVAL_MACHINE_ID = 'push-approval';
/** Bump when a change would make an old snapshot or event log mean something else. */
export const PUSH_APPROVAL_MACHINE_VERSION = 1;

/** What the device shows beside the request: what is signing in, from where. Never the number. */
export interface PushRequestInfo {
  service: string;
  purpose: string;
  ip: string | null;
  userAgent: string | null;
}

export interface PushApprovalInput {
  flowId: string;
  userId: string;
  /** The flow that started this one (a portal wizard or second factor), told of the verdict. */
  parent: ParentLink | null;
  /** Devices that may answer: the user's devices when the push started. */
  deviceIds: string[];
  /**
   * Devices whose protocol carries no PIN (the privacyIDEA Authenticator: its PIN is local to the phone). Their
   * right answer approves without `pinOk`; absent in snapshots written before they existed.
   */
  devicesWithoutPin?: string[];
  /**
   * The number to type comes from outside (a CSPRNG nonce, see ARCHITECTURE.md): the machine keeps the nonce it
   * is derived from (so the starting screen can show it again) and its keyed digest, which judges answers.
   */
  number: { nonce: string; digits: number; digest: string };
  /** Echoed by the device in its signed answer: binds the answer to this challenge as it was fetched. */
  challengeNonce: string;
  pinRequired: boolean;
  request: PushRequestInfo;
  ttlMs: number;
  fraudBlockDays: number;
  /** Time and the expiry timer's token come from outside: the machine stays pure. */
  at: number;
  timerToken: string;
}

export type PushReason = Extract<
  FlowReason,
  'wrong-answer' | 'expired' | 'denied-by-user' | 'reported-by-user' | 'canceled' | 'superseded'
>;

export interface PushApprovalContext extends Omit<PushApprovalInput, 'at'> {
  createdAt: number;
  expiresAt: number;
  /** Devices that fetched the challenge, in order. */
  deliveredTo: string[];
  answeredBy: string | null;
  answeredAt: number | null;
  reason: PushReason | null;
}

export type PushDecision = 'approve' | 'deny' | 'fraud';

/**
 * A device's signed answer. The signature, the device's ownership and the PIN are checked outside; the event
 * carries the facts: the keyed digest of the typed number (null when none was typed) and whether the PIN was right.
 */
export interface PushAnswer {
  type: 'ANSWER';
  at: number;
  deviceId: string;
  challengeNonce: string;
  decision: PushDecision;
  numberDigest: string | null;
  pinOk: boolean;
}

export type PushApprovalEvent =
  | { type: 'DELIVERED'; at: number; deviceId: string }
  | PushAnswer
  | { type: 'TIMEOUT'; timer: string; token: string }
  | { type: 'CANCEL'; at: number; reason?: 'canceled' | 'superseded' };

export const PUSH_EXPIRY_TIMER = 'expiry';

/** Tags a caller may ask of a snapshot (see accessors.ts): never the state names. */
export const PUSH_TAGS = {
  open: 'open',
  awaitingDelivery: 'awaiting-delivery',
  delivered: 'delivered',
  final: 'final',
} as const;

type Ctx = { context: PushApprovalContext };

const stopExpiry = {
  type: 'cancelTimer' as const,
  params: ({ context }: Ctx) => ({ timer: PUSH_EXPIRY_TIMER, token: context.timerToken }),
};
const outcome = (result: 'success' | 'failure') => ({
  type: 'recordOutcome' as const,
  params: ({ context }: Ctx) => ({ userId: context.userId, outcome: result }),
});
const auditAs = (event: string) => ({
  type: 'audit' as const,
  params: ({ context }: Ctx) => ({
    event,
    userId: context.userId,
    data: { flowId: context.flowId, channel: 'push', deviceId: context.answeredBy ?? '' },
  }),
});
const decided =
  (decision: PushDecision) =>
  ({ event }: { event: PushApprovalEvent }) =>
    event.type === 'ANSWER' && event.decision === decision;

const pushSetup = setup({
  types: {} as { context: PushApprovalContext; events: PushApprovalEvent; input: PushApprovalInput },
  actions: {
    ...effectActions('notifyDevices', ...VERIFICATION_EFFECTS),
    recordAnswer: assign(({ event }) =>
      event.type === 'ANSWER' ? { answeredBy: event.deviceId, answeredAt: event.at } : {},
    ),
  },
  guards: {
    // An answer or a fetch from a device that was not asked, or for another issue of the challenge, changes nothing.
    fromAskedDevice: ({ context, event }) =>
      'deviceId' in event && context.deviceIds.includes(event.deviceId),
    sameIssue: ({ context, event }) =>
      event.type !== 'ANSWER' || event.challengeNonce === context.challengeNonce,
    late: ({ context, event }) => 'at' in event && event.at >= context.expiresAt,
    firstFetchByDevice: ({ context, event }) =>
      event.type === 'DELIVERED' && !context.deliveredTo.includes(event.deviceId),
    approves: decided('approve'),
    denies: decided('deny'),
    reportsFraud: decided('fraud'),
    rightAnswer: ({ context, event }) =>
      event.type === 'ANSWER' &&
      event.numberDigest !== null &&
      event.numberDigest === context.number.digest &&
      (event.pinOk || !context.pinRequired || (context.devicesWithoutPin ?? []).includes(event.deviceId)),
    currentTimer: ({ context, event }) =>
      event.type === 'TIMEOUT' && event.timer === PUSH_EXPIRY_TIMER && event.token === context.timerToken,
  },
});

/** Tells the parent flow (when there is one) the verdict this state stands for. */
const toParent = (status: VerificationStatus) =>
  pushSetup.enqueueActions(({ context, enqueue }) => tellParent(context, status, enqueue));

/** Both open states answer the same way: a device may answer before its fetch was recorded. */
const answering = pushSetup.createStateConfig({
  on: {
    ANSWER: [
      { guard: not(and(['fromAskedDevice', 'sameIssue'])) },
      { guard: 'late', target: 'expired' },
      { guard: 'reportsFraud', target: 'fraud', actions: 'recordAnswer' },
      { guard: 'denies', target: 'denied', actions: 'recordAnswer' },
      { guard: and(['approves', 'rightAnswer']), target: 'approved', actions: 'recordAnswer' },
      // A wrong number or PIN ends the challenge: a guess gets one try. The reason never says which was wrong.
      {
        target: 'failed',
        actions: ['recordAnswer', assign({ reason: 'wrong-answer' as const })],
      },
    ],
    TIMEOUT: { guard: 'currentTimer', target: 'expired' },
    CANCEL: {
      target: 'canceled',
      actions: assign({ reason: ({ event }) => event.reason ?? ('canceled' as const) }),
    },
  },
});

export const pushApprovalMachine = pushSetup.createMachine({
  id: PUSH_APPROVAL_MACHINE_ID,
  context: ({ input }) => {
    const { at, ...rest } = input;
    return {
      ...rest,
      createdAt: at,
      expiresAt: at + input.ttlMs,
      deliveredTo: [],
      answeredBy: null,
      answeredAt: null,
      reason: null,
    };
  },
  initial: 'created',
  states: {
    created: {
      tags: [PUSH_TAGS.open, PUSH_TAGS.awaitingDelivery],
      entry: [
        {
          type: 'notifyDevices',
          params: ({ context }: Ctx) => ({
            userId: context.userId,
            deviceIds: context.deviceIds,
            expiresAt: context.expiresAt,
          }),
        },
        {
          type: 'scheduleTimer',
          params: ({ context }: Ctx) => ({
            timer: PUSH_EXPIRY_TIMER,
            token: context.timerToken,
            fireAt: context.expiresAt,
          }),
        },
      ],
      on: {
        ...answering.on,
        DELIVERED: {
          guard: and(['fromAskedDevice', not('late')]),
          target: 'delivered',
          actions: assign({ deliveredTo: ({ event }) => [event.deviceId] }),
        },
      },
    },
    delivered: {
      tags: [PUSH_TAGS.open, PUSH_TAGS.delivered],
      on: {
        ...answering.on,
        DELIVERED: {
          guard: and(['fromAskedDevice', 'firstFetchByDevice', not('late')]),
          actions: assign({ deliveredTo: ({ context, event }) => [...context.deliveredTo, event.deviceId] }),
        },
      },
    },
    approved: {
      type: 'final',
      tags: [PUSH_TAGS.final],
      entry: [stopExpiry, outcome('success'), auditAs('push.approved'), toParent('approved')],
    },
    denied: {
      type: 'final',
      tags: [PUSH_TAGS.final],
      // A "no" is the user's verdict, not a guessed secret: it does not count towards the lockout.
      entry: [
        stopExpiry,
        assign({ reason: 'denied-by-user' as const }),
        auditAs('push.denied'),
        toParent('denied'),
      ],
    },
    failed: {
      type: 'final',
      tags: [PUSH_TAGS.final],
      entry: [stopExpiry, outcome('failure'), auditAs('push.failed'), toParent('failed')],
    },
    fraud: {
      type: 'final',
      tags: [PUSH_TAGS.final],
      entry: [
        stopExpiry,
        assign({ reason: 'reported-by-user' as const }),
        ...fraudReported('push'),
        toParent('fraud'),
      ],
    },
    // The timer fired (nothing to cancel), or a late answer arrived (the timer is still queued).
    expired: {
      type: 'final',
      tags: [PUSH_TAGS.final],
      entry: [stopExpiry, assign({ reason: 'expired' as const }), toParent('expired')],
    },
    canceled: { type: 'final', tags: [PUSH_TAGS.final], entry: [stopExpiry, toParent('canceled')] },
  },
});
