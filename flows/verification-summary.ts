import { PUSH_APPROVAL_MACHINE_ID, pushApprovalMachine } from './push-approval/machine.js';
import { SMS_OTP_MACHINE_ID } from './sms-otp/machine.js';
import { smsView } from './sms-otp/view.js';
import { TOTP_CHECK_MACHINE_ID, totpCheckMachine } from './totp-check/machine.js';
import { VOICE_CALL_MACHINE_ID } from './voice-call/machine.js';
import { voiceView } from './voice-call/view.js';

/** What the API shows of a verification beyond its status, read from the machine's own typed view. */
export interface VerificationSummary {
  reason: string | null;
  /** Wrong answers left, for the methods that count them. */
  attemptsLeft?: number;
  /** When the current code stops working (SMS: a resend moves it). */
  codeExpiresAt?: number;
  /** Calls only: ringing or answered. */
  progress?: 'calling' | 'answered';
}

/** The summary of a persisted snapshot of the named machine; a machine that is not a verification has none. */
export function verificationSummary(machineId: string, persisted: unknown): VerificationSummary {
  switch (machineId) {
    case SMS_OTP_MACHINE_ID: {
      const { context } = smsView(persisted);
      return {
        reason: context.reason,
        attemptsLeft: context.maxAttempts - context.attempts,
        codeExpiresAt: context.code.expiresAt,
      };
    }
    case VOICE_CALL_MACHINE_ID: {
      const { context, progress } = voiceView(persisted);
      return {
        reason: context.reason,
        attemptsLeft: context.maxAttempts - context.attempts,
        ...(progress ? { progress } : {}),
      };
    }
    case TOTP_CHECK_MACHINE_ID: {
      const { context } = totpCheckMachine.resolveState(persisted as never);
      return { reason: context.reason, attemptsLeft: context.maxAttempts - context.attempts };
    }
    case PUSH_APPROVAL_MACHINE_ID:
      return { reason: pushApprovalMachine.resolveState(persisted as never).context.reason };
    default:
      return { reason: null };
  }
}
