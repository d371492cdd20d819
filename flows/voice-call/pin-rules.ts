export type PinProblem = 'length' | 'not-digits' | 'trivial' | 'phone-digits';

export interface PinPolicy {
  minLength: number;
  maxLength: number;
}

/**
 * Why a new PIN is refused, or null when it is acceptable. "Same as the old PIN" needs the old hash, so the
 * caller checks that one itself.
 */
export function pinProblem(
  pin: string,
  policy: PinPolicy,
  phoneNumbers: readonly string[] = [],
): PinProblem | null {
  if (!/^\d*$/.test(pin)) return 'not-digits';
  if (pin.length < policy.minLength || pin.length > policy.maxLength) return 'length';
  if (isTrivial(pin)) return 'trivial';
  const digits = phoneNumbers.map((n) => n.replace(/\D/g, ''));
  if (digits.some((d) => d.length >= pin.length && d.includes(pin))) return 'phone-digits';
  return null;
}

/** One digit repeated, a run up or down (1234, 9876, 0123), or a repeated pair (1212). */
function isTrivial(pin: string): boolean {
  if (/^(\d)\1+$/.test(pin)) return true;
  const steps = new Set<number>();
  for (let i = 1; i < pin.length; i += 1) steps.add((Number(pin[i]) - Number(pin[i - 1]) + 10) % 10);
  if (steps.size === 1 && (steps.has(1) || steps.has(9))) return true;
  return /^(\d\d)\1+$/.test(pin);
}
