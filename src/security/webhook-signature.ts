import { createHmac } from 'node:crypto';
import { safeEqual } from './secrets.js';

export type FormParams = Record<string, string | string[] | undefined>;

/**
 * SignalWire cXML / Twilio request signature: base64 HMAC-SHA1 over the full public URL followed by every POST
 * parameter name and value, sorted by name (repeated names keep their order). Keyed with the signing key.
 */
export function computeSignature(signingKey: string, url: string, params: FormParams): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    for (const v of Array.isArray(value) ? value : [value ?? '']) data += name + v;
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
