import { type PinPolicy, type PinProblem, pinProblem } from '../../flows/pin-policy.js';

/**
 * The new-PIN rules of `flows/pin-policy.ts`, then "not the current PIN", which needs the slow hash: asked last
 * so a PIN the pure rules refuse costs no hashing.
 */
export async function newPinProblem(
  pin: string,
  policy: PinPolicy,
  phoneNumbers: readonly string[],
  current: { pinHash: string | null; verify: (pin: string, hash: string) => Promise<boolean> },
): Promise<PinProblem | null> {
  const problem = pinProblem(pin, policy, phoneNumbers);
  if (problem) return problem;
  if (current.pinHash && (await current.verify(pin, current.pinHash))) return 'same-as-old';
  return null;
}
