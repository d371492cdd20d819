import type { Language } from '../../flows/i18n/index.js';

export const METHODS = ['sms', 'voice', 'push', 'totp'] as const;
export type Method = (typeof METHODS)[number];

export interface UserPhones {
  primary?: string;
  extension?: string;
  backup?: string;
  mobile?: string;
}

/** A user as stored. `pinHash` never leaves the server: see `publicUser`. */
export interface User {
  username: string;
  displayName: string;
  email: string;
  phones: UserPhones;
  method: Method;
  language: Language;
  pinHash: string | null;
  pinMustChange: boolean;
  /** When the user finished enrollment in the portal (proved a method); absent before. */
  enrolledAt?: number;
  /** The flow that last changed her settings by compare-and-set (so a retried write knows its own). */
  changedBy?: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * Security state that effects change; kept apart so admin edits and verdicts never overwrite each other. The
 * lockout fields are written only by the script in `src/store/lockout-script.ts`.
 */
export interface UserStanding {
  /** Consecutive failures since the last lock or success. */
  failures: number;
  /** Locks in a row (the escalation level); a success does not reset it, a quiet period does. */
  lockLevel: number;
  lockedUntil: number | null;
  /** Set when the escalation reached `LOCKOUT_MAX`: only an administrator lifts it. */
  hardLockedAt: number | null;
  blockedUntil: number | null;
  blockReason: string | null;
}

/** Whether the user may try a secret now, and if not, until when (null: until an administrator unlocks). */
export function lockState(
  standing: UserStanding,
  now: number,
): { locked: false } | { locked: true; hard: boolean; until: number | null } {
  if (standing.hardLockedAt !== null) return { locked: true, hard: true, until: null };
  if (standing.lockedUntil !== null && standing.lockedUntil > now)
    return { locked: true, hard: false, until: standing.lockedUntil };
  return { locked: false };
}

export function isBlocked(standing: UserStanding, now: number): boolean {
  return standing.blockedUntil !== null && standing.blockedUntil > now;
}

export function publicUser(user: User, standing: UserStanding, now: number) {
  const { pinHash, createdAt, updatedAt, changedBy: _by, ...rest } = user;
  const lock = lockState(standing, now);
  return {
    ...rest,
    createdAt: new Date(createdAt).toISOString(),
    updatedAt: new Date(updatedAt).toISOString(),
    hasPin: pinHash !== null,
    locked: lock.locked,
    lockedUntil: lock.locked && lock.until !== null ? new Date(lock.until).toISOString() : null,
    hardLocked: lock.locked && lock.hard,
    failedAttempts: standing.failures,
    blocked:
      isBlocked(standing, now) && standing.blockedUntil !== null
        ? { until: new Date(standing.blockedUntil).toISOString(), reason: standing.blockReason }
        : null,
  };
}

/** The user's phone numbers (for the rule that a PIN is not part of them). */
export function phoneNumbersOf(user: Pick<User, 'phones'>): string[] {
  return [user.phones.primary, user.phones.backup, user.phones.mobile].filter((p): p is string => !!p);
}

/** Usernames compare case-insensitively after Unicode normalisation. */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}
