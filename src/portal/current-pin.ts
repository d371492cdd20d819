import type { CurrentPinResult } from '../../flows/enrollment/machine.js';
import type { SecretHasher } from '../security/pin-hash.js';
import type { SecretGuard } from '../security/secret-guard.js';
import type { UserStore } from '../store/user-store.js';
import type { User } from '../users/user.js';

/**
 * The current PIN typed in a portal form, judged through the secret guard (a wrong one counts in the user's
 * lockout; while locked it is not even compared). A right PIN under an old hash format is rehashed.
 */
export async function judgeCurrentPin(
  deps: { guard: SecretGuard; hasher: SecretHasher; users: UserStore },
  user: User,
  typed: string,
): Promise<CurrentPinResult> {
  const pinHash = user.pinHash;
  if (!pinHash || typed === '') return 'none';
  const checked = await deps.guard.check(user.username, 'pin', () =>
    deps.hasher.verify(typed, pinHash, (fresh) => deps.users.replacePinHash(user.username, pinHash, fresh)),
  );
  if (checked.ok) return 'right';
  return checked.locked ? 'locked' : 'wrong';
}
