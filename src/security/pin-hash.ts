import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * PINs and security answers at rest. A 4-8 digit PIN has at most 10^8 values, so no hash cost saves it from
 * someone who can run the hash: the protection is a *pepper*, a key derived from `SECRET_KEY` that never sits in
 * Redis. Each secret is HMAC-SHA256'd with the pepper, then scrypt'd with a per-secret salt; a Redis dump alone
 * holds nothing to guess against. The scrypt cost is kept low enough that PIN checks do not bound throughput
 * (measured: ARCHITECTURE.md, "PINs and answers at rest").
 *
 * Formats, by their first field:
 *   v2$scrypt$N$r$p$salt$hash   peppered (current)
 *   scrypt$N$r$p$salt$hash      unpeppered, written before v2: still verified, and replaced at the next right check
 */
export const HASH_PARAMS = { N: 2048, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
// Bounds for parameters read from storage, so a corrupt or planted hash cannot make one check cost seconds.
const MAX_N = 2 ** 17;
const MAX_R = 16;
const MAX_P = 4;

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

function derive(input: string | Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const maxmem = 256 * params.N * params.r + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(input, salt, KEY_LENGTH, { ...params, maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function parseParams(
  n: string | undefined,
  r: string | undefined,
  p: string | undefined,
): ScryptParams | null {
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  const { N } = params;
  const powerOfTwo = Number.isInteger(N) && N >= 2 && N <= MAX_N && (N & (N - 1)) === 0;
  const inRange = (v: number, max: number) => Number.isInteger(v) && v >= 1 && v <= max;
  return powerOfTwo && inRange(params.r, MAX_R) && inRange(params.p, MAX_P) ? params : null;
}

export class SecretHasher {
  private readonly pepper: Buffer;

  constructor(secretKey: string) {
    this.pepper = createHmac('sha256', secretKey).update('secret-pepper').digest();
  }

  private peppered(secret: string): Buffer {
    return createHmac('sha256', this.pepper).update(secret.normalize('NFKC')).digest();
  }

  async hash(secret: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await derive(this.peppered(secret), salt, HASH_PARAMS);
    const { N, r, p } = HASH_PARAMS;
    return ['v2', 'scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  /**
   * True when `secret` matches `stored`; false for a wrong secret and for anything that is not a hash of ours.
   * When it matches a hash of an older format or cost, `refresh` receives a current hash of the same secret to
   * store in its place (the only moment the secret is at hand), so old hashes get peppered as users use them.
   */
  async verify(
    secret: string,
    stored: string,
    refresh?: (fresh: string) => Promise<unknown>,
  ): Promise<boolean> {
    const ok = await this.matches(secret, stored);
    if (ok && refresh && this.isOutdated(stored)) await refresh(await this.hash(secret));
    return ok;
  }

  private async matches(secret: string, stored: string): Promise<boolean> {
    const fields = stored.split('$');
    const peppered = fields[0] === 'v2';
    const [scheme, n, r, p, salt, hash] = peppered ? fields.slice(1) : fields;
    const params = parseParams(n, r, p);
    if (scheme !== 'scrypt' || !params || !salt || !hash || fields.length !== (peppered ? 7 : 6))
      return false;
    const expected = Buffer.from(hash, 'base64url');
    const input = peppered ? this.peppered(secret) : secret.normalize('NFKC');
    const key = await derive(input, Buffer.from(salt, 'base64url'), params);
    return key.length === expected.length && timingSafeEqual(key, expected);
  }

  /** Whether a stored hash is of an older format or cost: replace it after the next right check. */
  isOutdated(stored: string): boolean {
    const { N, r, p } = HASH_PARAMS;
    return !stored.startsWith(`v2$scrypt$${N}$${r}$${p}$`);
  }
}

/** Whether a value has the shape of a stored secret hash (either format). */
export function isSecretHash(value: string): boolean {
  return /^(v2\$)?scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/.test(value);
}
