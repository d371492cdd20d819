import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * One-time codes are never stored. A code is derived from a random nonce with a server key, so the worker that
 * sends the text can recompute it from job data that holds only the nonce, and a resent text carries the same code.
 * What flows keep is a keyed digest of the code, which is useless without the server key.
 */
export class CodeSecrets {
  private readonly deliveryKey: Buffer;
  private readonly digestKey: Buffer;

  constructor(secretKey: string) {
    this.deliveryKey = createHmac('sha256', secretKey).update('otp-delivery').digest();
    this.digestKey = createHmac('sha256', secretKey).update('otp-digest').digest();
  }

  newNonce(): string {
    return randomBytes(16).toString('base64url');
  }

  /** Uniform decimal code of `length` digits: rejection-free because 2^256 dwarfs 10^10. */
  codeFor(flowId: string, nonce: string, length: number): string {
    const mac = createHmac('sha256', this.deliveryKey).update(`${flowId}\0${nonce}`).digest();
    const value = BigInt(`0x${mac.toString('hex')}`) % 10n ** BigInt(length);
    return value.toString().padStart(length, '0');
  }

  digest(flowId: string, code: string): string {
    return createHmac('sha256', this.digestKey).update(`${flowId}\0${code}`).digest('base64url');
  }
}

/** A key for one purpose derived from SECRET_KEY, so no two uses share a key. */
export function derivedKey(secretKey: string, purpose: string): string {
  return createHmac('sha256', secretKey).update(`derived-key\0${purpose}`).digest('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
