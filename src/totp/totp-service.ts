import { generateSecret, generateURI, verify } from 'otplib';
import type { Clock } from '../clock.js';
import type { SecretGuard } from '../security/secret-guard.js';
import { TotpSecretBox } from './totp-secret-box.js';
import type { TotpStore } from './totp-store.js';

/** RFC 6238 as every authenticator app reads it: SHA1, 6 digits, 30 s; 160-bit secrets. */
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
const SECRET_BYTES = 20;
/** One step of drift either way. */
const TOLERANCE_SECONDS = TOTP_PERIOD_SECONDS;

export interface TotpEnrollment {
  /** Base32, for typing into an app by hand. */
  secret: string;
  /** otpauth://totp/... for the QR code. */
  uri: string;
}

export type TotpJudgement = { ok: true; step: number } | { ok: false };

/**
 * TOTP for any authenticator app: enrolment (a pending secret, activated by its first right code), and code
 * checks with one step of drift and replay refusal (a step is accepted once). otplib computes; the replay guard
 * and the lockout are this product's.
 */
export class TotpService {
  private readonly box: TotpSecretBox;

  constructor(
    private readonly deps: {
      store: TotpStore;
      guard: Pick<SecretGuard, 'check'>;
      clock: Clock;
      secretKey: string;
      issuer: string;
    },
  ) {
    this.box = new TotpSecretBox(deps.secretKey);
  }

  /** A new secret waiting for its first right code; the active one (if any) keeps working until then. */
  async beginEnrollment(username: string): Promise<TotpEnrollment> {
    const secret = generateSecret({ length: SECRET_BYTES });
    await this.deps.store.setPending(username, this.box.seal(secret, username));
    return { secret, uri: this.uri(username, secret) };
  }

  /** The pending enrolment again (a page reload), or null. */
  async pendingEnrollment(username: string): Promise<TotpEnrollment | null> {
    const record = await this.deps.store.get(username);
    const secret = record.pending ? this.box.open(record.pending, username) : null;
    return secret ? { secret, uri: this.uri(username, secret) } : null;
  }

  /** The first right code activates the pending secret. Counted in the user's lockout. */
  async confirmEnrollment(username: string, code: string) {
    return this.deps.guard.check(username, 'totp', async () => {
      const record = await this.deps.store.get(username);
      const secret = record.pending ? this.box.open(record.pending, username) : null;
      if (!record.pending || !secret) return false;
      const judged = await this.judgeWith(secret, code, null);
      return (
        judged.ok && this.deps.store.activate(username, record.pending, judged.step, this.deps.clock.now())
      );
    });
  }

  async isActive(username: string): Promise<boolean> {
    return (await this.deps.store.get(username)).active !== null;
  }

  /** A code against the active secret, outside a verification flow: counted in the user's lockout. */
  async check(username: string, code: string) {
    return this.deps.guard.check(username, 'totp', async () => (await this.judge(username, code)).ok);
  }

  /**
   * Judges a code against the active secret and spends its time step. Inside a verification flow the flow counts
   * the failure (`recordOutcome`), so this does not.
   */
  async judge(username: string, code: string): Promise<TotpJudgement> {
    const record = await this.deps.store.get(username);
    const secret = record.active ? this.box.open(record.active, username) : null;
    if (!secret) return { ok: false };
    const judged = await this.judgeWith(secret, code, record.lastStep);
    if (!judged.ok) return judged;
    // Atomic: two requests racing with the same code cannot both spend its step.
    return (await this.deps.store.acceptStep(username, judged.step)) ? judged : { ok: false };
  }

  private async judgeWith(secret: string, code: string, lastStep: number | null): Promise<TotpJudgement> {
    const token = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(token)) return { ok: false };
    // otplib 13 answers an object: `valid` is the verdict (the object itself is always truthy).
    const epoch = Math.floor(this.deps.clock.now() / 1000);
    const result = await verify({
      secret,
      token,
      epoch,
      epochTolerance: TOLERANCE_SECONDS,
      ...(lastStep !== null ? { afterTimeStep: lastStep } : {}),
    });
    return result.valid
      ? { ok: true, step: Math.floor(epoch / TOTP_PERIOD_SECONDS) + result.delta }
      : { ok: false };
  }

  /** otplib leaves the defaults out; they are spelled out so no app has to guess. */
  private uri(username: string, secret: string): string {
    const base = generateURI({
      issuer: this.deps.issuer,
      label: username,
      secret,
      algorithm: 'sha1',
      digits: TOTP_DIGITS,
      period: TOTP_PERIOD_SECONDS,
    });
    const explicit = new URLSearchParams({
      algorithm: 'SHA1',
      digits: String(TOTP_DIGITS),
      period: String(TOTP_PERIOD_SECONDS),
    });
    return `${base}&${explicit.toString()}`;
  }
}
