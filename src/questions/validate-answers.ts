import type { QuestionCatalog } from './catalog.js';
import { answerLength, normalizeAnswer } from './normalize-answer.js';

export interface QuestionAnswer {
  questionId: string;
  answer: string;
}

export type QuestionProblemCode =
  | 'wrong_count'
  | 'unknown_question'
  | 'duplicate_question'
  | 'answer_missing'
  | 'answer_too_short'
  | 'answer_too_long'
  | 'answer_reused';

export interface QuestionProblem {
  /** `answers` for the whole set, else `answers.<index>.questionId` or `answers.<index>.answer`. */
  field: string;
  code: QuestionProblemCode;
  /** English, for logs and API clients; pages translate by `code`. */
  message: string;
}

export interface ValidateAnswersOptions {
  /** How many distinct questions must be answered (DESIGN: 4). */
  required: number;
  /** Minimum characters of the normalised answer (3). */
  minAnswerLength: number;
  catalog: QuestionCatalog;
  /** Maximum characters of the raw answer (default 100): scrypt input stays small. */
  maxAnswerLength?: number;
}

const DEFAULT_MAX_ANSWER_LENGTH = 100;

/**
 * Every problem of a set of answers at once (an empty list means valid): the count, unknown or repeated
 * questions, missing, short or long answers, and one answer given to two questions. Answers are compared
 * normalised, so `Fido` and `fido!` count as the same answer.
 */
export function validateQuestionAnswers(
  entries: readonly QuestionAnswer[],
  opts: ValidateAnswersOptions,
): QuestionProblem[] {
  const problems: QuestionProblem[] = [];
  const maxLength = opts.maxAnswerLength ?? DEFAULT_MAX_ANSWER_LENGTH;
  if (!Array.isArray(entries)) {
    return [{ field: 'answers', code: 'wrong_count', message: `answer ${opts.required} questions` }];
  }
  if (entries.length !== opts.required) {
    problems.push({
      field: 'answers',
      code: 'wrong_count',
      message: `answer exactly ${opts.required} different questions (got ${entries.length})`,
    });
  }
  const seenQuestions = new Set<string>();
  /** normalised answer -> index of the first entry that gave it */
  const seenAnswers = new Map<string, number>();
  entries.forEach((entry, index) => {
    const questionId = typeof entry?.questionId === 'string' ? entry.questionId : '';
    const questionField = `answers.${index}.questionId`;
    const answerField = `answers.${index}.answer`;
    if (!opts.catalog.has(questionId)) {
      problems.push({
        field: questionField,
        code: 'unknown_question',
        message: 'choose a question from the list',
      });
    } else if (seenQuestions.has(questionId)) {
      problems.push({
        field: questionField,
        code: 'duplicate_question',
        message: 'this question is already chosen',
      });
    } else {
      seenQuestions.add(questionId);
    }

    const raw = typeof entry?.answer === 'string' ? entry.answer : '';
    if (raw.length > maxLength) {
      problems.push({
        field: answerField,
        code: 'answer_too_long',
        message: `the answer must be at most ${maxLength} characters`,
      });
      return;
    }
    const normalized = normalizeAnswer(raw);
    if (normalized === '') {
      problems.push({ field: answerField, code: 'answer_missing', message: 'enter an answer' });
      return;
    }
    if (answerLength(normalized) < opts.minAnswerLength) {
      problems.push({
        field: answerField,
        code: 'answer_too_short',
        message: `the answer must have at least ${opts.minAnswerLength} characters (punctuation and spaces at the ends do not count)`,
      });
      return;
    }
    const first = seenAnswers.get(normalized);
    if (first !== undefined) {
      problems.push({
        field: answerField,
        code: 'answer_reused',
        message: `use a different answer for each question (same as answer ${first + 1})`,
      });
    } else {
      seenAnswers.set(normalized, index);
    }
  });
  return problems;
}
