import type { AnswerFacts } from '../../flows/sms-otp/machine.js';
import { verifySecret } from '../security/pin-hash.js';
import type { CodeSecrets } from '../security/secrets.js';

/**
 * Turns a typed answer (code, then PIN when the user has one) into the facts the machine judges. The PIN is
 * checked against the user's scrypt hash here because the machine does no I/O and no slow hashing.
 */
export async function judgeAnswer(
  secrets: CodeSecrets,
  flowId: string,
  answer: { code: string; pin: string },
  pinHash: string | null,
): Promise<AnswerFacts> {
  const codeDigest = secrets.digest(flowId, answer.code);
  const pinOk = pinHash
    ? answer.pin.length > 0 && (await verifySecret(answer.pin, pinHash))
    : answer.pin === '';
  return { codeDigest, pinOk };
}
