import type { DigitFacts, VoiceCallContext } from '../../flows/voice-call/machine.js';
import { pinProblem } from '../../flows/voice-call/pin-rules.js';
import { hashSecret, verifySecret } from '../security/pin-hash.js';
import type { CodeSecrets } from '../security/secrets.js';
import type { User } from '../users/user.js';

const FRAUD = '0';

/**
 * Judges keys against what the call is asking for, so the machine receives facts, never keys: a PIN is checked
 * with scrypt, a code by keyed digest, a new PIN against the rules and hashed here.
 */
export async function judgeDigits(
  step: string,
  context: VoiceCallContext,
  digits: string | null,
  user: User | null,
  secrets: CodeSecrets,
): Promise<DigitFacts> {
  if (digits === null) return { result: 'none' };
  if (digits === FRAUD) return { result: 'fraud' };
  switch (step) {
    case 'ask':
      return { result: (await isRightAnswer(context, digits, user, secrets)) ? 'correct' : 'wrong' };
    case 'newPin': {
      if (digits === '') return { result: 'none' };
      const phones = user
        ? [user.phones.primary, user.phones.backup, user.phones.mobile].filter((p): p is string => !!p)
        : [];
      const problem = pinProblem(
        digits,
        { minLength: context.pinLength.min, maxLength: context.pinLength.max },
        phones,
      );
      if (problem) return { result: 'weak', problem };
      if (user?.pinHash && (await verifySecret(digits, user.pinHash)))
        return { result: 'weak', problem: 'same-as-old' };
      return { result: 'accepted', pinHash: await hashSecret(digits) };
    }
    case 'confirmPin': {
      if (digits === '') return { result: 'none' };
      const pending = context.pendingPinHash;
      return { result: pending && (await verifySecret(digits, pending)) ? 'match' : 'mismatch' };
    }
    default:
      return { result: 'wrong' };
  }
}

async function isRightAnswer(
  context: VoiceCallContext,
  digits: string,
  user: User | null,
  secrets: CodeSecrets,
) {
  switch (context.mode) {
    case 'standard':
      return digits === '#';
    case 'code':
      return context.codeDigest !== null && secrets.digest(context.flowId, digits) === context.codeDigest;
    case 'pin':
      // Longer than any PIN: wrong without spending a scrypt on it (DTMF floods).
      if (!user?.pinHash || digits.length === 0 || digits.length > context.pinLength.max) return false;
      return verifySecret(digits, user.pinHash);
  }
}
