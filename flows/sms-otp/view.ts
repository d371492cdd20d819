import type { SnapshotFrom } from 'xstate';
import type { VerificationStatus } from '../effects.js';
import { type SmsOtpContext, smsOtpMachine } from './machine.js';

type SmsSnapshot = SnapshotFrom<typeof smsOtpMachine>;

/** Each state's verdict. A state this table does not know is a bug: `smsStatusOf` throws. */
const STATUS: Record<string, VerificationStatus> = {
  pending: 'pending',
  expired: 'expired',
  approved: 'approved',
  failed: 'failed',
  fraud: 'fraud',
  canceled: 'canceled',
  // Ended by a newer verification to the same number: failed, without counting in the lockout.
  superseded: 'failed',
};

export function smsStatusOf(snapshot: { value: unknown }): VerificationStatus {
  const status = STATUS[String(snapshot.value)];
  if (!status) throw new Error(`sms-otp: unknown state ${JSON.stringify(snapshot.value)}`);
  return status;
}

/** What code outside `flows/` may know of an SMS verification. */
export interface SmsView {
  status: VerificationStatus;
  /** Still waiting for the code (a reply or a check). */
  awaitingReply: boolean;
  context: SmsOtpContext;
}

/** The typed view of a persisted SMS snapshot (as the flow store holds it). */
export function smsView(persisted: unknown): SmsView {
  const snapshot: SmsSnapshot = smsOtpMachine.resolveState(
    persisted as Parameters<typeof smsOtpMachine.resolveState>[0],
  );
  return {
    status: smsStatusOf(snapshot),
    awaitingReply: snapshot.hasTag('awaiting-answer'),
    context: snapshot.context,
  };
}
