import { randomBytes } from 'node:crypto';
import type { SecretHasher } from '../security/pin-hash.js';
import { normalizeAnswer } from './normalize-answer.js';
import type { QuestionAnswer } from './validate-answers.js';

/** A stored answer: the question and the peppered hash of the normalised answer. Never the answer itself. */
export interface HashedAnswer {
  questionId: string;
  hash: string;
}

/** Longer input than this is refused before scrypt (a validated answer is far shorter). */
const MAX_VERIFY_LENGTH = 1000;

// A hash of a random value per hasher, checked when the question is not among the stored ones, so an unknown
// question costs the same hashing as a wrong answer.
const decoys = new WeakMap<SecretHasher, Promise<string>>();
const decoyHash = (hasher: SecretHasher) => {
  let decoy = decoys.get(hasher);
  if (!decoy) {
    decoy = hasher.hash(randomBytes(16).toString('hex'));
    decoys.set(hasher, decoy);
  }
  return decoy;
};

/** Hashes each (already validated) answer in its normalised form; the order of `entries` is kept. */
export async function hashAnswers(
  hasher: SecretHasher,
  entries: readonly QuestionAnswer[],
): Promise<HashedAnswer[]> {
  return Promise.all(
    entries.map(async ({ questionId, answer }) => ({
      questionId,
      hash: await hasher.hash(normalizeAnswer(answer)),
    })),
  );
}

/**
 * True when `answer`, normalised, matches the stored hash for `questionId`. A question with no stored answer, an
 * empty answer or an oversized one is false, after the same scrypt work where that is cheap to keep equal.
 */
export async function verifyAnswer(
  hasher: SecretHasher,
  questionId: string,
  answer: string,
  stored: readonly HashedAnswer[],
): Promise<boolean> {
  if (typeof answer !== 'string' || answer.length > MAX_VERIFY_LENGTH) return false;
  const normalized = normalizeAnswer(answer);
  const entry = stored.find((item) => item.questionId === questionId);
  if (!entry) {
    await hasher.verify(normalized, await decoyHash(hasher));
    return false;
  }
  const ok = await hasher.verify(normalized, entry.hash);
  return ok && normalized !== '';
}
