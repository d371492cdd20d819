import type { EnrollmentContext } from '../../flows/enrollment/machine.js';
import type { FlowEngine } from '../engine/engine.js';
import type { FlowRecord } from '../engine/flow-store.js';
import type { UserStore } from '../store/user-store.js';
import type { User } from '../users/user.js';
import { answeringUser } from './answering-user.js';

/** Verifications started to prove new settings carry this purpose prefix, then the enrollment flow's id. */
export const PROOF_PURPOSE = 'enroll:';

export const proofPurpose = (enrollmentFlowId: string) => `${PROOF_PURPOSE}${enrollmentFlowId}`;

/**
 * The user a verification checks answers against: the stored one, except that a verification proving new
 * settings checks the PIN chosen in the wizard, which is saved only once the proof succeeds.
 */
export async function effectiveUser(
  flow: FlowRecord,
  users: UserStore,
  engine: FlowEngine,
): Promise<User | null> {
  const user = await answeringUser(flow, users);
  if (!user || !flow.purpose.startsWith(PROOF_PURPOSE)) return user;
  const enrollment = await engine.store.load(flow.purpose.slice(PROOF_PURPOSE.length));
  const pending = (enrollment?.snapshot as { context?: EnrollmentContext } | undefined)?.context?.pinHash;
  return pending ? { ...user, pinHash: pending, pinMustChange: false } : user;
}
