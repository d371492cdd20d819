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
  /** The code text is sent only while the flow's fence is this (it still waits for this code). */
  fence?: string;
}

/**
 * A new SMS verification to a number ends the older ones still pending for it (`SUPERSEDED`): the user's newest
 * request wins, and a reply is never judged against an older code.
 */
export interface SupersedeOlderEffect {
  type: 'supersedeOlder';
  to: string;
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

/** Wakes the user's devices for a push challenge (long-poll always; Web Push where a device subscribed). */
export interface NotifyDevicesEffect {
  type: 'notifyDevices';
  userId: string;
  deviceIds: string[];
  expiresAt: number;
}

export interface PlaceCallEffect {
  type: 'placeCall';
  to: string;
  sendDigits?: string;
  ringTimeoutSec: number;
  machineDetection: boolean;
  /** The call is placed only while the flow's fence is this (it still waits for this leg to be answered). */
  fence?: string;
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

/** What a user looked like when a flow that will change her settings began. */
export interface UserPrecondition {
  enrolledAt: number | null;
  updatedAt: number;
}

/**
 * Enrollment or self-management: the proven settings replace the user's old ones. With `expect`, the write is a
 * compare-and-set: it happens only while the user is still as the flow found her, and the flow is told the result
 * (`SETTINGS_SAVED {ok}`), so a stale wizard never overrides settings made elsewhere.
 */
export interface UpdateUserEffect {
  type: 'updateUser';
  userId: string;
  expect?: UserPrecondition;
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

export type SettingChange = 'enrollment' | 'phone' | 'pin' | 'method' | 'questions' | 'device-removed';

/** Tells the user by mail which settings changed (never what they changed to). */
export interface NotifyUserEffect {
  type: 'notifyUser';
  userId: string;
  changes: SettingChange[];
}

/** Ends the user's portal sessions, all but the one whose handle is `except` (the one that made the change). */
export interface EndSessionsEffect {
  type: 'endSessions';
  userId: string;
  except?: string;
}

/**
 * A verification a parent flow starts as its child: of the user's stored settings, or of settings not saved yet
 * (`prove`: the numbers and PIN typed in a wizard), checked against those instead.
 */
export interface VerificationChild {
  kind: 'verification';
  userId: string;
  purpose: string;
  /** Absent: the user's own method. */
  method?: 'sms' | 'voice' | 'push';
  prove?: {
    phones: { primary?: string; extension?: string; backup?: string; mobile?: string };
    pinHash: string | null;
  };
}

/**
 * Starts a child flow with a deterministic id (`childFlowId`), so a retried job finds it started. The child
 * reports its verdict through `notifyParent`.
 */
export interface StartChildEffect {
  type: 'startChild';
  parentId: string;
  childId: string;
  child: VerificationChild;
}

/** A child's verdict, dispatched to its parent as `CHILD_DONE {childId, status, reason}`. */
export interface NotifyParentEffect {
  type: 'notifyParent';
  parentId: string;
  childId: string;
  status: VerificationStatus;
  reason?: string;
}

/** The parent no longer waits for this child: cancel it (a call stops ringing). */
export interface CancelChildEffect {
  type: 'cancelChild';
  childId: string;
}

export type Effect =
  | StartChildEffect
  | NotifyParentEffect
  | CancelChildEffect
  | EndSessionsEffect
  | UpdateUserEffect
  | StoreQuestionsEffect
  | NotifyUserEffect
  | SendSmsEffect
  | SupersedeOlderEffect
  | NotifyDevicesEffect
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
  'startChild',
  'notifyParent',
  'cancelChild',
  'endSessions',
  'updateUser',
  'storeQuestions',
  'notifyUser',
  'sendSms',
  'supersedeOlder',
  'notifyDevices',
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
