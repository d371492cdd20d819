import { createHmac } from 'node:crypto';
import { safeEqual } from './secrets.js';

export type FormParams = Record<string, string | string[] | undefined>;

/**
 * SignalWire cXML / Twilio request signature: base64 HMAC-SHA1 over the full public URL followed by every POST
 * parameter name and value, sorted by name. A repeated name contributes each distinct value once, values
 * sorted, as twilio's `validateRequest` does (the order a carrier sends them in does not count). Keyed with the
 * signing key.
 */
export function computeSignature(signingKey: string, url: string, params: FormParams): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    const values = Array.isArray(value) ? [...new Set(value)].sort() : [value ?? ''];
    for (const v of values) data += name + v;
  }
  return createHmac('sha1', signingKey).update(data, 'utf8').digest('base64');
}

export function isValidSignature(
  signingKey: string,
  url: string,
  params: FormParams,
  signature: string | undefined,
): boolean {
  if (!signature) return false;
  return safeEqual(computeSignature(signingKey, url, params), signature);
}
