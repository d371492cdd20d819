import type { Effect, EffectType } from './effects.js';

/** An effect as an XState action: its params are the effect without its `type`. */
type EffectAction<T extends EffectType> = (
  _: unknown,
  params: Omit<Extract<Effect, { type: T }>, 'type'>,
) => void;

/** Effects run outside the machine: the engine reads them back from the actions a transition returns. */
const declared = (_: unknown, _params: unknown) => {};

/**
 * The effects every verification flow (SMS, voice) uses: timers, fraud blocks, the outcome, the audit, and the
 * verdict told to a parent flow (`notifyParent` in `child-flow.ts`).
 */
export const VERIFICATION_EFFECTS = [
  'notifyParent',
  'scheduleTimer',
  'cancelTimer',
  'blockUser',
  'recordOutcome',
  'audit',
] as const;

/**
 * Typed no-op declarations of the named effects, to spread into a machine's `setup({ actions })`: the machine
 * then names each effect with checked params, and nothing runs inside it.
 */
export function effectActions<K extends EffectType>(...names: K[]): { [T in K]: EffectAction<T> } {
  return Object.fromEntries(names.map((name) => [name, declared])) as { [T in K]: EffectAction<T> };
}

/** What a fraud report needs of a flow's context. */
interface FraudContext {
  flowId: string;
  userId: string;
  fraudBlockDays: number;
}

/** A user reported a verification as fraud: block the user and audit the report (the flow and the channel). */
export const fraudReported = (channel: 'sms' | 'voice' | 'push') => [
  {
    type: 'blockUser' as const,
    params: ({ context }: { context: FraudContext }) => ({
      userId: context.userId,
      days: context.fraudBlockDays,
      reason: 'fraud-report',
    }),
  },
  {
    type: 'audit' as const,
    params: ({ context }: { context: FraudContext }) => ({
      event: 'fraud.reported',
      userId: context.userId,
      data: { flowId: context.flowId, channel },
    }),
  },
];
