import type { FlowRecord } from '../engine/flow-store.js';
import type { UserStore } from '../store/user-store.js';
import type { User } from '../users/user.js';

/**
 * The user a verification checks answers against: the stored one, except that a verification a parent started
 * to prove unsaved settings carries, in its own input, the PIN typed in the wizard (saved only once proven).
 */
export async function answeringUser(flow: FlowRecord, users: UserStore): Promise<User | null> {
  const user = await users.get(flow.userId);
  const proofPin = (flow.input as { proofPinHash?: string | null } | null)?.proofPinHash;
  return user && proofPin ? { ...user, pinHash: proofPin, pinMustChange: false } : user;
}
