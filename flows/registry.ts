import type { AnyStateMachine, SnapshotFrom } from 'xstate';
import type { VerificationStatus } from './effects.js';
import {
  ENROLLMENT_MACHINE_ID,
  ENROLLMENT_MACHINE_VERSION,
  enrollmentMachine,
} from './enrollment/machine.js';
import { enrollmentStatusOf, wizardAwaitsChild } from './enrollment/view.js';
import { pushStatusOf } from './push-approval/accessors.js';
import {
  PUSH_APPROVAL_MACHINE_ID,
  PUSH_APPROVAL_MACHINE_VERSION,
  pushApprovalMachine,
} from './push-approval/machine.js';
import {
  SECOND_FACTOR_MACHINE_ID,
  SECOND_FACTOR_MACHINE_VERSION,
  secondFactorMachine,
} from './second-factor/machine.js';
import { signInAwaitsChild } from './second-factor/view.js';
import {
  SMS_OTP_MACHINE_ID,
  SMS_OTP_MACHINE_VERSION,
  smsOtpFence,
  smsOtpMachine,
} from './sms-otp/machine.js';
import { smsStatusOf } from './sms-otp/view.js';
import {
  TOTP_CHECK_MACHINE_ID,
  TOTP_CHECK_MACHINE_VERSION,
  totpCheckMachine,
  totpStatusOf,
} from './totp-check/machine.js';
import {
  VOICE_CALL_MACHINE_ID,
  VOICE_CALL_MACHINE_VERSION,
  voiceCallFence,
  voiceCallMachine,
} from './voice-call/machine.js';
import { voiceStatusOf } from './voice-call/view.js';

export interface FlowDefinition<M extends AnyStateMachine = AnyStateMachine> {
  id: string;
  version: number;
  machine: M;
  /** The verdict a snapshot stands for. */
  statusOf(snapshot: SnapshotFrom<M>): VerificationStatus;
  /** A parent flow: whether this snapshot still waits for the child (`startChild` skips one it gave up on). */
  awaitsChild?(snapshot: SnapshotFrom<M>, childId: string): boolean;
  /**
   * What this snapshot waits for from a fenced effect (an effect with `fence`: the code text, the call), or null.
   * The commit stores it with the snapshot; a worker runs a fenced effect only while the two are equal, so a job
   * re-run after a crash never texts a code the flow no longer waits for, nor calls a flow that was answered.
   */
  fence?(snapshot: SnapshotFrom<M>): string | null;
}

export const smsOtpFlow: FlowDefinition<typeof smsOtpMachine> = {
  id: SMS_OTP_MACHINE_ID,
  version: SMS_OTP_MACHINE_VERSION,
  machine: smsOtpMachine,
  statusOf: smsStatusOf,
  fence: smsOtpFence,
};

export const voiceCallFlow: FlowDefinition<typeof voiceCallMachine> = {
  id: VOICE_CALL_MACHINE_ID,
  version: VOICE_CALL_MACHINE_VERSION,
  machine: voiceCallMachine,
  statusOf: voiceStatusOf,
  fence: voiceCallFence,
};

export const enrollmentFlow: FlowDefinition<typeof enrollmentMachine> = {
  id: ENROLLMENT_MACHINE_ID,
  version: ENROLLMENT_MACHINE_VERSION,
  machine: enrollmentMachine,
  statusOf: enrollmentStatusOf,
  awaitsChild: wizardAwaitsChild,
};

export const secondFactorFlow: FlowDefinition<typeof secondFactorMachine> = {
  id: SECOND_FACTOR_MACHINE_ID,
  version: SECOND_FACTOR_MACHINE_VERSION,
  machine: secondFactorMachine,
  statusOf: (snapshot) => (snapshot.hasTag('verified') ? 'approved' : 'pending'),
  awaitsChild: signInAwaitsChild,
};

export const pushApprovalFlow: FlowDefinition<typeof pushApprovalMachine> = {
  id: PUSH_APPROVAL_MACHINE_ID,
  version: PUSH_APPROVAL_MACHINE_VERSION,
  machine: pushApprovalMachine,
  statusOf: pushStatusOf,
};

export const totpCheckFlow: FlowDefinition<typeof totpCheckMachine> = {
  id: TOTP_CHECK_MACHINE_ID,
  version: TOTP_CHECK_MACHINE_VERSION,
  machine: totpCheckMachine,
  statusOf: totpStatusOf,
};

/** Every machine the engine can run, by id. */
export const flowRegistry: ReadonlyMap<string, FlowDefinition> = new Map<string, FlowDefinition>([
  [smsOtpFlow.id, smsOtpFlow as unknown as FlowDefinition],
  [voiceCallFlow.id, voiceCallFlow as unknown as FlowDefinition],
  [enrollmentFlow.id, enrollmentFlow as unknown as FlowDefinition],
  [secondFactorFlow.id, secondFactorFlow as unknown as FlowDefinition],
  [pushApprovalFlow.id, pushApprovalFlow as unknown as FlowDefinition],
  [totpCheckFlow.id, totpCheckFlow as unknown as FlowDefinition],
]);
