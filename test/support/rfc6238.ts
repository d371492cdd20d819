import { createHmac } from 'node:crypto';

// Written here so the tests do not trust otplib's: RFC 4648 base32 and RFC 6238 TOTP (RFC 4226 truncation).

/** RFC 4648 base32, written here so the test does not trust otplib's. */
export function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    const value = alphabet.indexOf(char);
    if (value < 0) throw new Error(`not base32: ${char}`);
    bits += value.toString(2).padStart(5, '0');
  }
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(Number.parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238 TOTP (RFC 4226 truncation), independent of otplib. */
export function rfc6238(key: Buffer, timeMs: number, digits = 6, period = 30): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(timeMs / 1000 / period)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(binary).padStart(digits, '0');
}

/** The code an authenticator app shows at `timeMs` for a base32 secret (SHA1, 6 digits, 30 s). */
export function totpCode(secret: string, timeMs: number): string {
  return rfc6238(base32Decode(secret), timeMs);
}
