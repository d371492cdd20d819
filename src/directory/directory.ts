/**
 * The company directory as the rest of the engine sees it: authenticate a user with their directory password,
 * look a user up, and a startup check. `ldap-directory.ts` implements it over LDAP (OpenLDAP, Active Directory).
 */
import { AppError } from '../errors.js';

export interface DirectoryUser {
  username: string;
  dn: string;
  displayName: string;
  email: string | null;
  phone: string | null;
  mobile: string | null;
  language: string | null;
  groups: string[];
}

export type AuthResult =
  | { ok: true; user: DirectoryUser }
  | { ok: false; reason: 'invalid-credentials' | 'not-allowed' | 'unavailable' };

export interface Directory {
  /**
   * Checks `password` for `username`. Never throws: unknown user, wrong password and refused input are all
   * `invalid-credentials`; a user outside the allowed group is `not-allowed` (only after the password was
   * right); an unreachable or failing directory is `unavailable` (fails closed).
   */
  authenticate(username: string, password: string): Promise<AuthResult>;
  /**
   * The user with this username, or `null` when there is none (or several, or the username is not acceptable).
   * Throws a `DirectoryUnavailableError` when the directory cannot answer.
   */
  findUser(username: string): Promise<DirectoryUser | null>;
  /** Startup / health check: can the service account bind and read the base DN? Never throws. */
  check(): Promise<{ ok: boolean; detail: string }>;
  /** Ends any connection still open; later calls fail as unavailable. */
  close(): Promise<void>;
}

/** The directory cannot be reached or did not answer in time. */
export class DirectoryUnavailableError extends AppError {
  constructor(details?: Record<string, unknown>) {
    super('directory_unavailable', undefined, details);
    this.name = 'DirectoryUnavailableError';
  }
}

export const MAX_USERNAME_LENGTH = 256;
export const MAX_PASSWORD_LENGTH = 1024;

export type CredentialsProblem =
  | 'username-missing'
  | 'username-blank'
  | 'username-too-long'
  | 'username-control-characters'
  | 'password-missing'
  | 'password-blank'
  | 'password-too-long';

export type CredentialsCheck = { ok: true } | { ok: false; problem: CredentialsProblem };

/** Whitespace plus the zero-width characters that render as nothing. */
const BLANK = /^[\s\u200B-\u200D\u2060\uFEFF]*$/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F]/u;

/**
 * Refuses credentials that must never reach a bind. Above all a blank password: a simple bind with a DN and an
 * empty password is an "unauthenticated bind" (RFC 4513 5.1.2) that some servers, Active Directory among them,
 * answer with success. Lengths are counted in UTF-16 code units. Pure: no I/O.
 */
export function validateCredentialsInput(username: unknown, password: unknown): CredentialsCheck {
  const user = validateUsernameInput(username);
  if (!user.ok) return user;
  if (typeof password !== 'string' || password.length === 0)
    return { ok: false, problem: 'password-missing' };
  if (password.length > MAX_PASSWORD_LENGTH) return { ok: false, problem: 'password-too-long' };
  if (BLANK.test(password)) return { ok: false, problem: 'password-blank' };
  return { ok: true };
}

/** The username half of `validateCredentialsInput` (for look-ups that take no password). */
export function validateUsernameInput(username: unknown): CredentialsCheck {
  if (typeof username !== 'string' || username.length === 0)
    return { ok: false, problem: 'username-missing' };
  if (username.length > MAX_USERNAME_LENGTH) return { ok: false, problem: 'username-too-long' };
  if (BLANK.test(username)) return { ok: false, problem: 'username-blank' };
  if (CONTROL.test(username)) return { ok: false, problem: 'username-control-characters' };
  return { ok: true };
}
