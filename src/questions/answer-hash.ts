import { randomBytes } from 'node:crypto';
import { hashSecret, verifySecret } from '../security/pin-hash.js';
import { normalizeAnswer } from './normalize-answer.js';
import type { QuestionAnswer } from './validate-answers.js';

/** A stored answer: the question and the scrypt hash of the normalised answer. Never the answer itself. */
export interface HashedAnswer {
  questionId: string;
  hash: string;
}

/** Longer input than this is refused before scrypt (a validated answer is far shorter). */
const MAX_VERIFY_LENGTH = 1000;

// A hash of a random value, checked when the question is not among the stored ones, so an unknown question
// costs the same scrypt as a wrong answer.
let decoy: Promise<string> | undefined;
const decoyHash = () => {
  decoy ??= hashSecret(randomBytes(16).toString('hex'));
  return decoy;
};

/** Hashes each (already validated) answer in its normalised form; the order of `entries` is kept. */
export async function hashAnswers(entries: readonly QuestionAnswer[]): Promise<HashedAnswer[]> {
  return Promise.all(
    entries.map(async ({ questionId, answer }) => ({
      questionId,
      hash: await hashSecret(normalizeAnswer(answer)),
    })),
  );
}

/**
 * True when `answer`, normalised, matches the stored hash for `questionId`. A question with no stored answer, an
 * empty answer or an oversized one is false, after the same scrypt work where that is cheap to keep equal.
 */
export async function verifyAnswer(
  questionId: string,
  answer: string,
  stored: readonly HashedAnswer[],
): Promise<boolean> {
  if (typeof answer !== 'string' || answer.length > MAX_VERIFY_LENGTH) return false;
  const normalized = normalizeAnswer(answer);
  const entry = stored.find((item) => item.questionId === questionId);
  if (!entry) {
    await verifySecret(normalized, await decoyHash());
    return false;
  }
  const ok = await verifySecret(normalized, entry.hash);
  return ok && normalized !== '';
}
