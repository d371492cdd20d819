import { createHash, createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';
import type { DevicePublicKey } from './device.js';

/**
 * Signed device requests (README "Device API"). The device signs, with its ECDSA P-256 key, the lines
 *
 *   dialtone-device-v1 / METHOD / path?query / device id ('' when activating) / timestamp (ms) / nonce /
 *   base64url(SHA-256(body))
 *
 * joined by "\n". WebCrypto signs as raw r||s (IEEE P1363), so that is the wire form, base64url-encoded.
 */
export const SIGNATURE_SCHEME = 'dialtone-device-v1';
export const SIGNATURE_HEADERS = {
  device: 'dialtone-device',
  timestamp: 'dialtone-timestamp',
  nonce: 'dialtone-nonce',
  signature: 'dialtone-signature',
} as const;

export interface SignedParts {
  method: string;
  path: string;
  deviceId: string;
  timestamp: string;
  nonce: string;
  bodyHash: string;
}

export function canonicalRequest(parts: SignedParts): string {
  return [
    SIGNATURE_SCHEME,
    parts.method.toUpperCase(),
    parts.path,
    parts.deviceId,
    parts.timestamp,
    parts.nonce,
    parts.bodyHash,
  ].join('\n');
}

export function bodyHash(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('base64url');
}

const B64URL_32_BYTES = /^[A-Za-z0-9_-]{43}$/;

type EcPublicKey = Extract<DevicePublicKey, { type: 'ec-p256' }>;

/** Accepts only an EC P-256 public key in JWK form (a private key sent by mistake is refused, not stored). */
export function parseDevicePublicKey(value: unknown): EcPublicKey | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const jwk = value as Record<string, unknown>;
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || 'd' in jwk) return null;
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') return null;
  if (!B64URL_32_BYTES.test(jwk.x) || !B64URL_32_BYTES.test(jwk.y)) return null;
  const clean: JsonWebKey = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  try {
    createPublicKey({ key: clean, format: 'jwk' }); // checks that the point is on the curve
  } catch {
    return null;
  }
  return { type: 'ec-p256', jwk: clean };
}

const keyCache = new Map<string, KeyObject>();

function keyObject(publicKey: EcPublicKey): KeyObject {
  const id = `${publicKey.jwk.x}.${publicKey.jwk.y}`;
  let key = keyCache.get(id);
  if (!key) {
    key = createPublicKey({ key: publicKey.jwk, format: 'jwk' });
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

export function verifyDeviceSignature(
  publicKey: DevicePublicKey,
  canonical: string,
  signature: string,
): boolean {
  // Only the product's own app signs device API requests; another protocol's key never verifies here.
  if (publicKey.type !== 'ec-p256') return false;
  if (!/^[A-Za-z0-9_-]{86}$/.test(signature)) return false; // 64 bytes r||s
  try {
    return verify(
      'sha256',
      Buffer.from(canonical),
      { key: keyObject(publicKey), dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'),
    );
  } catch {
    return false;
  }
}
