import type { DigitFacts, VoiceCallContext } from '../../flows/voice-call/machine.js';
import type { GatheringStep } from '../../flows/voice-call/view.js';
import { newPinProblem } from '../security/new-pin.js';
import type { SecretHasher } from '../security/pin-hash.js';
import type { CodeSecrets } from '../security/secrets.js';
import { phoneNumbersOf, type User } from '../users/user.js';

const FRAUD = '0';

/**
 * Judges keys against what the call is asking for, so the machine receives facts, never keys: a PIN is checked
 * with scrypt, a code by keyed digest, a new PIN against the rules and hashed here.
 */
export async function judgeDigits(
  step: GatheringStep,
  context: VoiceCallContext,
  digits: string | null,
  user: User | null,
  secrets: CodeSecrets,
  hasher: SecretHasher,
  refreshPin?: (fresh: string) => Promise<unknown>,
): Promise<DigitFacts> {
  if (digits === null) return { result: 'none' };
  if (digits === FRAUD) return { result: 'fraud' };
  switch (step) {
    case 'awaiting-pin':
      return {
        result: (await isRightAnswer(context, digits, user, secrets, hasher, refreshPin))
          ? 'correct'
          : 'wrong',
      };
    case 'awaiting-new-pin': {
      if (digits === '') return { result: 'none' };
      const problem = await newPinProblem(
        digits,
        { minLength: context.pinLength.min, maxLength: context.pinLength.max },
        user ? phoneNumbersOf(user) : [],
        { pinHash: user?.pinHash ?? null, verify: (pin, hash) => hasher.verify(pin, hash) },
      );
      if (problem) return { result: 'weak', problem };
      return { result: 'accepted', pinHash: await hasher.hash(digits) };
    }
    case 'awaiting-pin-confirmation': {
      if (digits === '') return { result: 'none' };
      const pending = context.pendingPinHash;
      return { result: pending && (await hasher.verify(digits, pending)) ? 'match' : 'mismatch' };
    }
    default:
      // A step this judge does not know is a bug, not a wrong answer.
      throw new Error(`voice judge: unknown step ${String(step satisfies never)}`);
  }
}

async function isRightAnswer(
  context: VoiceCallContext,
  digits: string,
  user: User | null,
  secrets: CodeSecrets,
  hasher: SecretHasher,
  refreshPin?: (fresh: string) => Promise<unknown>,
) {
  switch (context.mode) {
    case 'standard':
      return digits === '#';
    case 'code':
      return context.codeDigest !== null && secrets.digest(context.flowId, digits) === context.codeDigest;
    case 'pin':
      // Longer than any PIN: wrong without spending a scrypt on it (DTMF floods).
      if (!user?.pinHash || digits.length === 0 || digits.length > context.pinLength.max) return false;
      return hasher.verify(digits, user.pinHash, refreshPin);
  }
}
