import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { UserStore } from '../store/user-store.js';
import type { SecretGuardPort } from './secret-guard-port.js';

/**
 * Stand-in for `src/security/secret-guard.ts` until it lands: refuses a blocked or locked user, and counts a
 * failed check in the user's lockout (the same counter verifications use).
 */
export function interimSecretGuard(deps: {
  users: UserStore;
  clock: Clock;
  lockout: { threshold: number; minutes: number };
}): SecretGuardPort {
  const assertMayTry = async (username: string) => {
    const standing = await deps.users.standing(username);
    const now = deps.clock.now();
    if (standing.blockedUntil !== null && standing.blockedUntil > now)
      throw new AppError(403, 'user_blocked', 'The user is blocked');
    if (standing.lockedUntil !== null && standing.lockedUntil > now)
      throw new AppError(423, 'user_locked', 'Too many failed attempts; try again later');
  };
  return {
    assertMayTry,
    async check(username, _kind, verify) {
      await assertMayTry(username);
      if (await verify()) return { ok: true };
      await deps.users.recordOutcome(username, 'failure', {
        threshold: deps.lockout.threshold,
        lockUntil: deps.clock.now() + deps.lockout.minutes * 60_000,
      });
      const standing = await deps.users.standing(username);
      const locked = standing.lockedUntil !== null && standing.lockedUntil > deps.clock.now();
      return {
        ok: false,
        locked,
        ...(locked && standing.lockedUntil ? { retryAt: standing.lockedUntil } : {}),
      };
    },
  };
}
