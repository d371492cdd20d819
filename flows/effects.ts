import type { Language, MessageKey } from './i18n/index.js';

/**
 * What a machine asks the world to do. Machines name these as XState actions with params; the engine persists
 * them in the flow's outbox and runs them as BullMQ jobs. Nothing here holds a secret: a one-time code travels
 * as a nonce the sending worker turns back into the code.
 */
export interface SendSmsEffect {
  type: 'sendSms';
  to: string;
  language: Language;
  message: MessageKey;
  params?: Record<string, string | number>;
  /** Present when the text carries a one-time code. */
  code?: { nonce: string; length: number };
}

export interface ScheduleTimerEffect {
  type: 'scheduleTimer';
  timer: string;
  token: string;
  fireAt: number;
}

export interface CancelTimerEffect {
  type: 'cancelTimer';
  timer: string;
  token: string;
}

export interface BlockUserEffect {
  type: 'blockUser';
  userId: string;
  days: number;
  reason: string;
}

export interface RecordOutcomeEffect {
  type: 'recordOutcome';
  userId: string;
  outcome: 'success' | 'failure';
}

export interface AuditEffect {
  type: 'audit';
  event: string;
  userId: string;
  data?: Record<string, string | number | boolean>;
}

export interface PlaceCallEffect {
  type: 'placeCall';
  to: string;
  sendDigits?: string;
  ringTimeoutSec: number;
  machineDetection: boolean;
}

export interface HangupCallEffect {
  type: 'hangupCall';
  callSid: string;
}

/** Stores a new PIN: the hash was made outside the machine from the digits the user keyed. */
export interface SetPinEffect {
  type: 'setPin';
  userId: string;
  pinHash: string;
}

/** Enrollment or self-management: the proven settings replace the user's old ones. */
export interface UpdateUserEffect {
  type: 'updateUser';
  userId: string;
  changes: {
    method?: 'sms' | 'voice' | 'push';
    phones?: {
      primary?: string | null;
      extension?: string | null;
      backup?: string | null;
      mobile?: string | null;
    };
    pinHash?: string | null;
    /** Marks enrollment finished. */
    enrolled?: boolean;
  };
}

export interface StoreQuestionsEffect {
  type: 'storeQuestions';
  userId: string;
  answers: { questionId: string; hash: string }[];
}

/** Tells the user by mail that a setting changed (never what it changed to). */
export interface NotifyUserEffect {
  type: 'notifyUser';
  userId: string;
  change: 'enrollment' | 'phone' | 'pin' | 'method' | 'questions';
}

export type Effect =
  | UpdateUserEffect
  | StoreQuestionsEffect
  | NotifyUserEffect
  | SendSmsEffect
  | PlaceCallEffect
  | HangupCallEffect
  | SetPinEffect
  | ScheduleTimerEffect
  | CancelTimerEffect
  | BlockUserEffect
  | RecordOutcomeEffect
  | AuditEffect;

export type EffectType = Effect['type'];
export const EFFECT_TYPES: readonly EffectType[] = [
  'updateUser',
  'storeQuestions',
  'notifyUser',
  'sendSms',
  'placeCall',
  'hangupCall',
  'setPin',
  'scheduleTimer',
  'cancelTimer',
  'blockUser',
  'recordOutcome',
  'audit',
];

/** The verdicts the API reports. */
export const STATUSES = ['pending', 'approved', 'denied', 'expired', 'failed', 'fraud', 'canceled'] as const;
export type VerificationStatus = (typeof STATUSES)[number];
