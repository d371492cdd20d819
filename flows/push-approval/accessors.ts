import type { VerificationStatus } from '../effects.js';
import { type PushApprovalContext, pushApprovalMachine } from './machine.js';

/** A push flow's snapshot as the engine stores it (persisted JSON) or as `transition()` returns it. */
export interface PushSnapshotView {
  value: unknown;
  context: PushApprovalContext;
}

const FINAL_STATUS: Record<string, VerificationStatus> = {
  approved: 'approved',
  denied: 'denied',
  failed: 'failed',
  fraud: 'fraud',
  expired: 'expired',
  canceled: 'canceled',
};
const OPEN_STATES = new Set(['created', 'delivered']);

/** The verdict a push snapshot stands for. A state this module does not know is a bug: it throws. */
export function pushStatusOf(snapshot: { value: unknown }): VerificationStatus {
  const value = String(snapshot.value);
  if (OPEN_STATES.has(value)) return 'pending';
  const status = FINAL_STATUS[value];
  if (!status) throw new Error(`push-approval: unknown state ${value}`);
  return status;
}

/** Still waiting for a device's answer (created or fetched). */
export const isPushOpen = (snapshot: { value: unknown }): boolean => pushStatusOf(snapshot) === 'pending';

/** Some device fetched the challenge. */
export const wasDelivered = (snapshot: PushSnapshotView): boolean => snapshot.context.deliveredTo.length > 0;

/** Whether a device may see (and answer) this challenge: asked at the start, and the challenge still open. */
export function mayAnswer(snapshot: PushSnapshotView, deviceId: string): boolean {
  return isPushOpen(snapshot) && snapshot.context.deviceIds.includes(deviceId);
}

/** The typed view of a persisted push snapshot (as the flow store holds it). */
export function pushView(persisted: unknown): PushSnapshotView {
  const snapshot = pushApprovalMachine.resolveState(
    persisted as Parameters<typeof pushApprovalMachine.resolveState>[0],
  );
  return { value: snapshot.value, context: snapshot.context };
}
