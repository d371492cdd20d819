import { constants, createPublicKey, generateKeyPair, type KeyObject, sign, verify } from 'node:crypto';
import { promisify } from 'node:util';
import { base32 } from '@scure/base';

/**
 * The privacyIDEA push token's cryptography (README "privacyIDEA Authenticator"): RSA keys, RSASSA-PKCS1-v1_5
 * with SHA-256, signatures as padded RFC 4648 base32.
 */
const generateRsa = promisify(generateKeyPair);
const SERVER_KEY_BITS = 4096;
const MIN_APP_KEY_BITS = 2048;
const MAX_APP_KEY_BITS = 8192;

/**
 * Base64 as apps and form encoders really send it: the URL-safe alphabet, a `+` that became a space (an
 * unencoded form value), line breaks, missing padding. null when it is not base64 at all.
 */
export function decodeLenientBase64(text: string): Buffer | null {
  const cleaned = text
    .replace(/[\r\n\t]/g, '')
    .replace(/[ -]/g, '+')
    .replace(/_/g, '/')
    .replace(/=+$/, '');
  if (cleaned === '' || !/^[A-Za-z0-9+/]+$/.test(cleaned) || cleaned.length % 4 === 1) return null;
  return Buffer.from(cleaned, 'base64');
}

/** The app's public key: base64 DER SubjectPublicKeyInfo of an RSA key (the app makes 4096 bits). */
export function parseAppPublicKey(text: string): { der: string } | null {
  const der = decodeLenientBase64(text);
  if (!der) return null;
  try {
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (key.asymmetricKeyType !== 'rsa' || bits < MIN_APP_KEY_BITS || bits > MAX_APP_KEY_BITS) return null;
    return { der: der.toString('base64') };
  } catch {
    return null;
  }
}

/**
 * The server's key pair for one token: about a second of CPU for 4096 bits, on libuv's pool (async), so the
 * event loop keeps serving meanwhile. The public half in the form the app reads: base64 DER PKCS#1.
 */
export async function newServerKeyPair(): Promise<{ publicPkcs1: string; privatePem: string }> {
  const { publicKey, privateKey } = await generateRsa('rsa', {
    modulusLength: SERVER_KEY_BITS,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'pkcs1', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicPkcs1: publicKey.toString('base64'), privatePem: privateKey };
}

export function signBase32(privatePem: string, message: string): string {
  return base32.encode(
    sign('sha256', Buffer.from(message, 'utf8'), { key: privatePem, padding: constants.RSA_PKCS1_PADDING }),
  );
}

const keyCache = new Map<string, KeyObject>();

function appKey(der: string): KeyObject {
  let key = keyCache.get(der);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(der, 'base64'), format: 'der', type: 'spki' });
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(der, key);
  }
  return key;
}

/** Checks the app's base32 signature over `message`; false for anything malformed. */
export function verifyBase32(appPublicDer: string, message: string, signature: string): boolean {
  const normalized = signature.replace(/\s/g, '').toUpperCase().replace(/=+$/, '');
  if (normalized === '' || normalized.length > 2048 || !/^[A-Z2-7]+$/.test(normalized)) return false;
  const padded = normalized.padEnd(Math.ceil(normalized.length / 8) * 8, '=');
  try {
    return verify(
      'sha256',
      Buffer.from(message, 'utf8'),
      { key: appKey(appPublicDer), padding: constants.RSA_PKCS1_PADDING },
      base32.decode(padded),
    );
  } catch {
    return false;
  }
}
