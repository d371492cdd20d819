import type { Language } from '../../flows/i18n/index.js';

export const METHODS = ['sms', 'voice', 'push'] as const;
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
  createdAt: number;
  updatedAt: number;
}

/** Security state that effects change; kept apart so admin edits and verdicts never overwrite each other. */
export interface UserStanding {
  failures: number;
  lockedUntil: number | null;
  blockedUntil: number | null;
  blockReason: string | null;
}

export function publicUser(user: User, standing: UserStanding, now: number) {
  const { pinHash, createdAt, updatedAt, ...rest } = user;
  return {
    ...rest,
    createdAt: new Date(createdAt).toISOString(),
    updatedAt: new Date(updatedAt).toISOString(),
    hasPin: pinHash !== null,
    locked: standing.lockedUntil !== null && standing.lockedUntil > now,
    blocked:
      standing.blockedUntil !== null && standing.blockedUntil > now
        ? { until: new Date(standing.blockedUntil).toISOString(), reason: standing.blockReason }
        : null,
  };
}

/** Usernames compare case-insensitively after Unicode normalisation. */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}
