import { createHmac, randomBytes, randomInt } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { safeEqual } from '../security/secrets.js';
import type { DeviceKind } from './device.js';
import type { DeviceKeys } from './device-keys.js';
import { userKeyOf } from './device-store.js';

export const ACTIVATION_CODE_DIGITS = 12;
export const ACTIVATION_TTL_MS = 10 * 60_000;
export const ACTIVATION_MAX_TRIES = 5;

export interface ActivationTicket {
  /** For a privacyIDEA push token also its serial (and the device id it will get). */
  id: string;
  kind: DeviceKind;
  /** Shown once, on the page that generated it; only its keyed digest is stored. */
  code: string;
  expiresAt: number;
}

export type ActivationState =
  | { state: 'pending'; expiresAt: number }
  | { state: 'used'; deviceId: string }
  | { state: 'gone' };

export type RedeemResult =
  | { ok: true; userId: string }
  | { ok: false; reason: 'unknown' | 'wrong' | 'exhausted' };

// KEYS: activation hash. ARGV: digest, max tries. Single use: the right code marks it used at once.
const REDEEM = `
local digest = redis.call('HGET', KEYS[1], 'digest')
if not digest or redis.call('HGET', KEYS[1], 'used') then return {'unknown'} end
if digest == ARGV[1] then
  redis.call('HSET', KEYS[1], 'used', '1')
  return {'ok', redis.call('HGET', KEYS[1], 'userId')}
end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) return {'exhausted'} end
return {'wrong'}
`;

/**
 * The product's app: "1234 5678 9012", "1234-5678-9012" and "123456789012" are the same code. A privacyIDEA
 * enrollment credential is 40 hex characters (20 random bytes), in either case.
 */
export function normalizeActivationCode(typed: string, kind: DeviceKind = 'dialtone-app'): string | null {
  if (kind === 'pipush') return /^[0-9a-fA-F]{40}$/.test(typed) ? typed.toLowerCase() : null;
  const digits = typed.replace(/[\s-]/g, '');
  return /^\d{12}$/.test(digits) ? digits : null;
}

/** privacyIDEA-style token serial: `PIPU` and 16 hex digits. */
export const PIPUSH_SERIAL = /^PIPU[0-9A-F]{16}$/;
const newPipushSerial = () => `PIPU${randomBytes(8).toString('hex').toUpperCase()}`;

function newActivation(kind: DeviceKind): { id: string; code: string } {
  if (kind === 'pipush') return { id: newPipushSerial(), code: randomBytes(20).toString('hex') };
  return {
    id: randomBytes(12).toString('base64url'),
    code: String(randomInt(0, 10 ** ACTIVATION_CODE_DIGITS)).padStart(ACTIVATION_CODE_DIGITS, '0'),
  };
}

export const formatActivationCode = (code: string) => code.replace(/(\d{4})(?=\d)/g, '$1 ');

/**
 * Single-use activations: 12 CSPRNG digits (or, for the privacyIDEA Authenticator, a 160-bit enrollment
 * credential), valid 10 minutes, 5 wrong tries, stored as a keyed digest (a plain hash of 12 digits is reversed in
 * hours; a keyed one needs SECRET_KEY). A user has one live activation of either kind: a new one replaces the old.
 */
export class Activations {
  private readonly digestKey: Buffer;

  constructor(
    private readonly redis: Redis,
    private readonly keys: DeviceKeys,
    secretKey: string,
    private readonly clock: Clock,
  ) {
    this.digestKey = createHmac('sha256', secretKey).update('device-activation').digest();
  }

  async create(userId: string, kind: DeviceKind = 'dialtone-app'): Promise<ActivationTicket> {
    const { id, code } = newActivation(kind);
    const expiresAt = this.clock.now() + ACTIVATION_TTL_MS;
    const latest = this.latestKey(userId);
    const previous = await this.redis.get(latest);
    const multi = this.redis.multi();
    if (previous) multi.del(this.keys.activation(previous));
    multi
      .hset(
        this.keys.activation(id),
        'userId',
        userId,
        'digest',
        this.digest(id, code),
        'expiresAt',
        expiresAt,
        'kind',
        kind,
      )
      .pexpire(this.keys.activation(id), ACTIVATION_TTL_MS)
      .set(latest, id, 'PX', ACTIVATION_TTL_MS);
    await multi.exec();
    return { id, kind, code, expiresAt };
  }

  /** Drops the user's live activation, if any (the user was deleted: it must not activate a later namesake). */
  async revokeFor(userId: string): Promise<void> {
    const latest = this.latestKey(userId);
    const id = await this.redis.get(latest);
    await this.redis.del(latest, ...(id ? [this.keys.activation(id)] : []));
  }

  /**
   * Whose activation this is (to throttle the check in that user's lockout); null when unknown, expired, used or
   * of another kind (a product activation is never redeemed as a privacyIDEA token, nor the other way round).
   */
  async ownerOf(id: string, kind: DeviceKind = 'dialtone-app'): Promise<string | null> {
    const [userId, expiresAt, used, storedKind] = await this.redis.hmget(
      this.keys.activation(id),
      'userId',
      'expiresAt',
      'used',
      'kind',
    );
    if (!userId || used || Number(expiresAt) <= this.clock.now()) return null;
    return (storedKind ?? 'dialtone-app') === kind ? userId : null;
  }

  async redeem(id: string, code: string, kind: DeviceKind = 'dialtone-app'): Promise<RedeemResult> {
    if ((await this.ownerOf(id, kind)) === null) return { ok: false, reason: 'unknown' };
    const [result, userId] = (await this.redis.eval(
      REDEEM,
      1,
      this.keys.activation(id),
      this.digest(id, code),
      ACTIVATION_MAX_TRIES,
    )) as [string, string?];
    if (result === 'ok' && userId) return { ok: true, userId };
    return {
      ok: false,
      reason: result === 'exhausted' ? 'exhausted' : result === 'wrong' ? 'wrong' : 'unknown',
    };
  }

  /**
   * Whether `code` is the code of activation `id` that `deviceId` already used: the same request again, after its
   * answer was lost on the way (while the activation is kept, 10 minutes from its creation).
   */
  async usedBy(id: string, code: string, deviceId: string): Promise<boolean> {
    const [digest, used, usedBy] = await this.redis.hmget(
      this.keys.activation(id),
      'digest',
      'used',
      'deviceId',
    );
    return (
      Boolean(used) &&
      usedBy === deviceId &&
      typeof digest === 'string' &&
      safeEqual(digest, this.digest(id, code))
    );
  }

  /** Records which device used the activation, so the page that generated it can move on. */
  async markUsedBy(id: string, deviceId: string): Promise<void> {
    await this.redis.hset(this.keys.activation(id), 'deviceId', deviceId);
  }

  async state(id: string): Promise<ActivationState> {
    const [used, deviceId, expiresAt] = await this.redis.hmget(
      this.keys.activation(id),
      'used',
      'deviceId',
      'expiresAt',
    );
    if (used && deviceId) return { state: 'used', deviceId };
    if (!used && expiresAt && Number(expiresAt) > this.clock.now())
      return { state: 'pending', expiresAt: Number(expiresAt) };
    return { state: 'gone' };
  }

  private latestKey(userId: string) {
    return this.keys.activation(`user:${userKeyOf(userId)}`);
  }

  private digest(id: string, code: string): string {
    return createHmac('sha256', this.digestKey).update(`${id}\0${code}`).digest('base64url');
  }
}
