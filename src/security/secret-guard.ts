import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load-config.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuditLog } from '../store/audit-log.js';
import type { LockoutPolicy, LockoutResult, UserStore } from '../store/user-store.js';
import { isBlocked, lockState } from '../users/user.js';

/** What is being checked: for logs and audit entries only; every kind counts in the same lockout. */
export type SecretKind = 'pin' | 'security-answer' | 'code' | 'totp' | 'activation-code';

export type GuardResult = { ok: true } | { ok: false; locked: boolean; retryAt?: number };

export function lockoutPolicyOf(config: Pick<Config, 'lockout'>): LockoutPolicy {
  return {
    threshold: config.lockout.threshold,
    firstLockMs: config.lockout.minutes * 60_000,
    hardLockAt: config.lockout.max,
    quietMs: config.lockout.decayHours * 3_600_000,
  };
}

/**
 * The one door for checking a user's secret outside a verification flow (a PIN on the portal, a security answer,
 * later TOTP and activation codes). Each check counts in the user's escalating lockout, the same one that failed
 * verifications feed through the `recordOutcome` effect: `LOCKOUT_THRESHOLD` failures in a row lock the user,
 * each lock lasts twice the one before, and lock number `LOCKOUT_MAX` is a hard lock only an administrator lifts.
 *
 * A check is counted as a failure *before* the secret is compared and taken back when it proves right, so
 * parallel guesses cannot slip past the threshold while earlier ones are still being hashed.
 */
export class SecretGuard {
  private readonly policy: LockoutPolicy;

  constructor(
    private readonly deps: {
      users: UserStore;
      clock: Clock;
      config: Pick<Config, 'lockout'>;
      audit: AuditLog;
      logger: Logger;
    },
  ) {
    this.policy = lockoutPolicyOf(deps.config);
  }

  /** Runs `verify` unless the user is locked or blocked, and counts its verdict. */
  async check(username: string, kind: SecretKind, verify: () => Promise<boolean>): Promise<GuardResult> {
    const token = randomBytes(12).toString('base64url');
    const reserved = await this.deps.users.lockout(username, 'reserve', this.policy, {
      now: this.deps.clock.now(),
      token,
    });
    if (reserved.verdict === 'blocked' || reserved.verdict === 'hard' || reserved.verdict === 'locked') {
      this.deps.logger.info({ user: username, kind, refused: reserved.verdict }, 'secret check refused');
      return refusal(reserved);
    }
    let right = false;
    try {
      right = await verify();
    } catch (error) {
      // The attempt stays counted as a failure: fail closed.
      await this.noteLock(username, kind, reserved);
      throw error;
    }
    if (right) {
      await this.deps.users.lockout(username, 'settle', this.policy, {
        now: this.deps.clock.now(),
        token,
        right: true,
      });
      return { ok: true };
    }
    await this.noteLock(username, kind, reserved);
    this.deps.logger.info({ user: username, kind, failures: reserved.failures }, 'secret check failed');
    return reserved.verdict === 'counted' ? { ok: false, locked: false } : refusal(reserved);
  }

  /** Throws 403 `user_blocked` or 423 `user_locked` when the user may not try a secret now. */
  async assertMayTry(username: string): Promise<void> {
    const standing = await this.deps.users.standing(username);
    const now = this.deps.clock.now();
    if (isBlocked(standing, now)) throw new AppError('user_blocked');
    const lock = lockState(standing, now);
    if (lock.locked) {
      throw new AppError('user_locked', 'Too many failed attempts; try again later', {
        hard: lock.hard,
        ...(lock.until !== null ? { retryAt: lock.until } : {}),
      });
    }
  }

  /** The verdict of a whole verification (the `recordOutcome` effect): one failure per failed verification. */
  async recordOutcome(username: string, outcome: 'success' | 'failure'): Promise<void> {
    const result = await this.deps.users.lockout(username, outcome, this.policy, {
      now: this.deps.clock.now(),
    });
    await this.noteLock(username, 'verification', result);
  }

  /** An administrator's unlock: lifts a timed or hard lock and forgets the escalation. */
  async unlock(username: string, actor: string): Promise<void> {
    await this.deps.users.clearLock(username);
    await this.deps.audit.append({ event: 'user.unlocked', userId: username, data: { actor } });
    this.deps.logger.warn({ user: username, actor }, 'user unlocked');
  }

  private async noteLock(
    username: string,
    kind: SecretKind | 'verification',
    result: LockoutResult,
  ): Promise<void> {
    if (result.verdict !== 'locked-now' && result.verdict !== 'hard-now') return;
    const hard = result.verdict === 'hard-now';
    await this.deps.audit.append({
      event: hard ? 'user.hard-locked' : 'user.locked',
      userId: username,
      data: { level: result.level, kind, ...(result.lockedUntil ? { until: result.lockedUntil } : {}) },
    });
    this.deps.logger.warn({ user: username, level: result.level, hard, kind }, 'user locked out');
  }
}

function refusal(result: LockoutResult): GuardResult {
  return {
    ok: false,
    locked: true,
    ...(result.verdict !== 'hard' && result.verdict !== 'hard-now' && result.lockedUntil
      ? { retryAt: result.lockedUntil }
      : {}),
  };
}
