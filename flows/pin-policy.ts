import { type Language, type MessageKey, translate } from './i18n/index.js';

/**
 * The one place that says whether a new PIN is acceptable. Every caller (the portal's wizard and PIN change, the
 * voice call's first-use PIN change, the admin API) asks this function; every message about a refused PIN comes
 * from `pinProblemMessage`, built from the configured lengths.
 */
export type PinProblem = 'not-digits' | 'length' | 'trivial' | 'phone-digits' | 'same-as-old';

export interface PinPolicy {
  minLength: number;
  maxLength: number;
}

/**
 * PINs people choose far more often than chance, that the pattern rules below do not already catch: keypad
 * lines and shapes, doubled runs, mirrored runs and a few well-known favourites.
 */
const COMMON_PINS = new Set([
  '1004',
  '1122',
  '2580',
  '0852',
  '1470',
  '3690',
  '7410',
  '9630',
  '1397',
  '112233',
  '332211',
  '123321',
  '321123',
  '102030',
  '147258',
  '258369',
  '369258',
  '147852',
  '159753',
  '951357',
  '789456',
  '456789',
  '654987',
  '520131',
  '11223344',
  '12344321',
  '14725836',
]);

/**
 * Why a new PIN is refused, or null when it is acceptable. "Same as the old PIN" needs the old hash, so the
 * caller asks that last, with the hash (see `src/security/new-pin.ts`).
 */
export function pinProblem(
  pin: string,
  policy: PinPolicy,
  phoneNumbers: readonly string[] = [],
): Exclude<PinProblem, 'same-as-old'> | null {
  if (!/^\d*$/.test(pin)) return 'not-digits';
  if (pin.length < policy.minLength || pin.length > policy.maxLength) return 'length';
  if (isTrivial(pin)) return 'trivial';
  const digits = phoneNumbers.map((n) => n.replace(/\D/g, ''));
  if (digits.some((d) => d.length >= pin.length && d.includes(pin))) return 'phone-digits';
  return null;
}

/**
 * A block repeated (1111, 1212, 123123), a run up or down with wrap-around (123456, 987654, 7890, 8901), a year
 * from 1900 to 2099, or a common PIN.
 */
function isTrivial(pin: string): boolean {
  if (/^(\d+)\1+$/.test(pin)) return true;
  if (isRun(pin, 1) || isRun(pin, 9)) return true;
  if (pin.length === 4 && /^(19|20)\d\d$/.test(pin)) return true;
  return COMMON_PINS.has(pin);
}

function isRun(pin: string, step: 1 | 9): boolean {
  for (let i = 1; i < pin.length; i += 1) {
    if ((Number(pin[i]) - Number(pin[i - 1]) + 10) % 10 !== step) return false;
  }
  return true;
}

/** The catalogue key of a problem; its text takes `{min}` and `{max}` from `pinLengthParams`. */
export function pinProblemKey(problem: PinProblem): MessageKey {
  return `pin.problem.${problem}`;
}

export function pinLengthParams(policy: PinPolicy): { min: number; max: number } {
  return { min: policy.minLength, max: policy.maxLength };
}

export function pinProblemMessage(language: Language, problem: PinProblem, policy: PinPolicy): string {
  return translate(language, pinProblemKey(problem), pinLengthParams(policy));
}
