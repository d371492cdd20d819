import { assign, setup } from 'xstate';
import { type ParentLink, tellParent } from '../child-flow.js';
import { effectActions, VERIFICATION_EFFECTS } from '../effect-actions.js';
import type { VerificationStatus } from '../effects.js';
import type { FlowReason } from '../reasons.js';

export const TOTP_CHECK_MACHINE_ID = 'totp-check';
/** Bump when a change would make an old snapshot or event log mean something else. */
export const TOTP_CHECK_MACHINE_VERSION = 1;

export interface TotpCheckInput {
  flowId: string;
  userId: string;
  /** Set when a parent flow started this one: the verdict is told to it. */
  parent: ParentLink | null;
  ttlMs: number;
  maxAttempts: number;
  at: number;
  timerToken: string;
}

export interface TotpCheckContext extends Omit<TotpCheckInput, 'at'> {
  expiresAt: number;
  attempts: number;
  reason: Extract<FlowReason, 'too-many-attempts' | 'expired' | 'canceled'> | null;
}

/** A code typed on a screen, judged outside (otplib, drift, replay): the event carries only the verdict. */
export type TotpCheckEvent =
  | { type: 'CHECK'; at: number; ok: boolean }
  | { type: 'TIMEOUT'; timer: string; token: string }
  | { type: 'CANCEL'; at: number };

export const TOTP_EXPIRY_TIMER = 'expiry';
export const TOTP_TAGS = { open: 'open', final: 'final' } as const;

type Ctx = { context: TotpCheckContext };
const stopExpiry = {
  type: 'cancelTimer' as const,
  params: ({ context }: Ctx) => ({ timer: TOTP_EXPIRY_TIMER, token: context.timerToken }),
};
const outcome = (result: 'success' | 'failure') => ({
  type: 'recordOutcome' as const,
  params: ({ context }: Ctx) => ({ userId: context.userId, outcome: result }),
});

const totpSetup = setup({
  types: {} as { context: TotpCheckContext; events: TotpCheckEvent; input: TotpCheckInput },
  actions: {
    ...effectActions(...VERIFICATION_EFFECTS),
    countAttempt: assign({ attempts: ({ context }) => context.attempts + 1 }),
  },
  guards: {
    late: ({ context, event }) => 'at' in event && event.at >= context.expiresAt,
    right: ({ event }) => event.type === 'CHECK' && event.ok,
    lastTry: ({ context }) => context.attempts + 1 >= context.maxAttempts,
    currentTimer: ({ context, event }) =>
      event.type === 'TIMEOUT' && event.timer === TOTP_EXPIRY_TIMER && event.token === context.timerToken,
  },
});

/** Tells the parent flow (when there is one) the verdict this state stands for. */
const toParent = (status: VerificationStatus) =>
  totpSetup.enqueueActions(({ context, enqueue }) => tellParent(context, status, enqueue));

/** A TOTP verification: codes until one is right, `maxAttempts` wrong ones fail it, the expiry ends it. */
export const totpCheckMachine = totpSetup.createMachine({
  id: TOTP_CHECK_MACHINE_ID,
  context: ({ input }) => {
    const { at, ...rest } = input;
    return { ...rest, expiresAt: at + input.ttlMs, attempts: 0, reason: null };
  },
  initial: 'pending',
  states: {
    pending: {
      tags: [TOTP_TAGS.open],
      entry: {
        type: 'scheduleTimer',
        params: ({ context }: Ctx) => ({
          timer: TOTP_EXPIRY_TIMER,
          token: context.timerToken,
          fireAt: context.expiresAt,
        }),
      },
      on: {
        CHECK: [
          { guard: 'late', target: 'expired' },
          { guard: 'right', target: 'approved' },
          { guard: 'lastTry', target: 'failed', actions: 'countAttempt' },
          { actions: 'countAttempt' },
        ],
        TIMEOUT: { guard: 'currentTimer', target: 'expired' },
        CANCEL: { target: 'canceled' },
      },
    },
    approved: {
      type: 'final',
      tags: [TOTP_TAGS.final],
      entry: [stopExpiry, outcome('success'), toParent('approved')],
    },
    failed: {
      type: 'final',
      tags: [TOTP_TAGS.final],
      entry: [
        stopExpiry,
        assign({ reason: 'too-many-attempts' as const }),
        outcome('failure'),
        toParent('failed'),
      ],
    },
    expired: {
      type: 'final',
      tags: [TOTP_TAGS.final],
      entry: [stopExpiry, assign({ reason: 'expired' as const })],
    },
    canceled: {
      type: 'final',
      tags: [TOTP_TAGS.final],
      entry: [stopExpiry, assign({ reason: 'canceled' as const })],
    },
  },
});

const STATUS: Record<string, VerificationStatus> = {
  pending: 'pending',
  approved: 'approved',
  failed: 'failed',
  expired: 'expired',
  canceled: 'canceled',
};

/** The verdict a TOTP snapshot stands for; an unknown state throws. */
export function totpStatusOf(snapshot: { value: unknown }): VerificationStatus {
  const status = STATUS[String(snapshot.value)];
  if (!status) throw new Error(`totp-check: unknown state ${String(snapshot.value)}`);
  return status;
}
