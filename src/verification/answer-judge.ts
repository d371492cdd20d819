import type { AnswerFacts } from '../../flows/sms-otp/machine.js';
import type { SecretHasher } from '../security/pin-hash.js';
import type { CodeSecrets } from '../security/secrets.js';

/**
 * Turns a typed answer (code, then PIN when the user has one) into the facts the machine judges. The PIN is
 * checked against the user's scrypt hash here because the machine does no I/O and no slow hashing.
 */
export async function judgeAnswer(
  secrets: CodeSecrets,
  hasher: SecretHasher,
  flowId: string,
  answer: { code: string; pin: string },
  pinHash: string | null,
  refreshPin?: (fresh: string) => Promise<unknown>,
): Promise<AnswerFacts> {
  const codeDigest = secrets.digest(flowId, answer.code);
  const pinOk = pinHash
    ? answer.pin.length > 0 && (await hasher.verify(answer.pin, pinHash, refreshPin))
    : answer.pin === '';
  return { codeDigest, pinOk };
}
