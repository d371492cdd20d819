import { type CountryCode, parsePhoneNumberWithError } from 'libphonenumber-js/max';
import { AppError } from '../errors.js';

export interface PhonePolicy {
  allowedCountries: readonly string[];
  defaultCountry: string;
}

const REFUSED_TYPES = new Set(['PREMIUM_RATE', 'SHARED_COST']);

/**
 * Parses a number typed in national or international form into E.164 and applies the toll-fraud guards:
 * valid numbers only, no premium-rate or shared-cost lines, allowed countries only.
 */
export function normalizePhone(input: string, policy: PhonePolicy, field = 'phone'): string {
  const text = input.trim();
  if (!text || text.length > 32)
    throw new AppError('invalid_phone', `${field}: not a phone number`, { field });
  let parsed: ReturnType<typeof parsePhoneNumberWithError>;
  try {
    parsed = parsePhoneNumberWithError(text, policy.defaultCountry as CountryCode);
  } catch {
    throw new AppError('invalid_phone', `${field}: not a phone number`, { field });
  }
  if (!parsed.isValid()) throw new AppError('invalid_phone', `${field}: not a valid phone number`, { field });
  const type = parsed.getType();
  if (type && REFUSED_TYPES.has(type)) {
    throw new AppError(
      'phone_not_allowed',
      `${field}: premium-rate and shared-cost numbers are not allowed`,
      {
        field,
      },
    );
  }
  if (!parsed.country || !policy.allowedCountries.includes(parsed.country)) {
    throw new AppError('phone_not_allowed', `${field}: numbers in this country are not allowed`, { field });
  }
  return parsed.number;
}

/** For inbound webhooks: normalises without policy checks; null when unparseable. */
export function toE164OrNull(input: string | undefined): string | null {
  if (!input) return null;
  try {
    const parsed = parsePhoneNumberWithError(input.trim());
    return parsed.isPossible() ? parsed.number : null;
  } catch {
    return null;
  }
}
