/**
 * The shape of the product's throttled secret checks (`src/security/secret-guard.ts`, BRIEF contract): a failed
 * check counts in the user's escalating lockout; a locked or blocked user is refused before the check runs.
 */
export interface SecretGuardPort {
  check(
    username: string,
    kind: string,
    verify: () => Promise<boolean>,
  ): Promise<{ ok: true } | { ok: false; locked: boolean; retryAt?: number }>;
  assertMayTry(username: string): Promise<void>;
}
