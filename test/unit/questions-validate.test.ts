import { describe, expect, it } from 'vitest';
import {
  createQuestionCatalog,
  DEFAULT_QUESTION_CATALOG,
  DEFAULT_QUESTIONS,
  questionText,
} from '../../src/questions/catalog.js';
import { type QuestionAnswer, validateQuestionAnswers } from '../../src/questions/validate-answers.js';

const OPTS = { required: 4, minAnswerLength: 3, catalog: DEFAULT_QUESTION_CATALOG };

const valid: QuestionAnswer[] = [
  { questionId: 'q.first-pet', answer: 'Fido' },
  { questionId: 'q.first-school', answer: 'Lincoln Elementary' },
  { questionId: 'q.parents-met', answer: 'Sevilla' },
  { questionId: 'q.first-car', answer: 'Seat Ibiza' },
];

describe('the default catalog', () => {
  it('has at least 10 questions with ids like q.first-pet, in English and Spanish', () => {
    expect(DEFAULT_QUESTIONS.length).toBeGreaterThanOrEqual(10);
    expect(DEFAULT_QUESTION_CATALOG.questions).toHaveLength(DEFAULT_QUESTIONS.length);
    for (const question of DEFAULT_QUESTION_CATALOG.questions) {
      expect(question.id).toMatch(/^q\.[a-z0-9-]+$/);
      expect(question.text.en).toMatch(/\?$/);
      expect(question.text.es).toMatch(/^¿.*\?$/);
    }
    expect(questionText(DEFAULT_QUESTION_CATALOG, 'q.first-pet', 'es')).toBe(
      '¿Cómo se llamaba su primera mascota?',
    );
    expect(questionText(DEFAULT_QUESTION_CATALOG, 'q.nope', 'en')).toBe('q.nope');
    expect(Object.isFrozen(DEFAULT_QUESTION_CATALOG.questions)).toBe(true);
  });

  it('refuses repeated or malformed ids and missing translations', () => {
    const pet = { id: 'q.pet', text: { en: 'Pet?', es: '¿Mascota?' } };
    expect(() => createQuestionCatalog([pet, pet])).toThrow(/twice/);
    expect(() => createQuestionCatalog([{ ...pet, id: 'pet' }])).toThrow(/not like/);
    expect(() => createQuestionCatalog([{ ...pet, text: { en: 'Pet?', es: ' ' } }])).toThrow(/Spanish/);
  });
});

describe('validateQuestionAnswers', () => {
  it('accepts four distinct known questions with distinct answers', () => {
    expect(validateQuestionAnswers(valid, OPTS)).toEqual([]);
  });

  it('wants exactly the required number', () => {
    expect(validateQuestionAnswers(valid.slice(0, 3), OPTS)).toEqual([
      { field: 'answers', code: 'wrong_count', message: 'answer exactly 4 different questions (got 3)' },
    ]);
    const five = [...valid, { questionId: 'q.first-job', answer: 'Acme' }];
    expect(validateQuestionAnswers(five, OPTS).map((p) => p.code)).toEqual(['wrong_count']);
  });

  it('names the field of each problem: unknown, duplicate, short, reused', () => {
    const entries: QuestionAnswer[] = [
      { questionId: 'q.first-pet', answer: 'Fido' },
      { questionId: 'q.favourite-colour', answer: 'Turquoise' },
      { questionId: 'q.first-pet', answer: 'Rex the dog' },
      { questionId: 'q.first-car', answer: ' Al! ' },
    ];
    expect(validateQuestionAnswers(entries, OPTS).map(({ field, code }) => ({ field, code }))).toEqual([
      { field: 'answers.1.questionId', code: 'unknown_question' },
      { field: 'answers.2.questionId', code: 'duplicate_question' },
      { field: 'answers.3.answer', code: 'answer_too_short' },
    ]);
  });

  it('sees the same answer behind case, spaces and punctuation', () => {
    const entries: QuestionAnswer[] = [
      { questionId: 'q.first-pet', answer: 'Sevilla' },
      { questionId: 'q.first-school', answer: 'Lincoln' },
      { questionId: 'q.parents-met', answer: '  SEVILLA! ' },
      { questionId: 'q.first-car', answer: 'ｓｅｖｉｌｌａ' },
    ];
    const problems = validateQuestionAnswers(entries, OPTS);
    expect(problems.map(({ field, code }) => ({ field, code }))).toEqual([
      { field: 'answers.2.answer', code: 'answer_reused' },
      { field: 'answers.3.answer', code: 'answer_reused' },
    ]);
    expect(problems[0]?.message).toContain('same as answer 1');
  });

  it('reports missing and oversized answers, and survives malformed entries', () => {
    const entries = [
      { questionId: 'q.first-pet', answer: '  ...  ' },
      { questionId: 'q.first-school', answer: 'x'.repeat(101) },
      { questionId: 'q.parents-met', answer: 'Sevilla' },
      { questionId: 42, answer: null },
    ] as unknown as QuestionAnswer[];
    expect(validateQuestionAnswers(entries, OPTS).map(({ field, code }) => ({ field, code }))).toEqual([
      { field: 'answers.0.answer', code: 'answer_missing' },
      { field: 'answers.1.answer', code: 'answer_too_long' },
      { field: 'answers.3.questionId', code: 'unknown_question' },
      { field: 'answers.3.answer', code: 'answer_missing' },
    ]);
    expect(validateQuestionAnswers(valid, { ...OPTS, maxAnswerLength: 10 }).map((p) => p.field)).toEqual([
      'answers.1.answer',
    ]);
  });

  it('counts the minimum length on the normalised answer, in characters', () => {
    const entries = valid.map((entry, index) => (index === 0 ? { ...entry, answer: ' Jo! ' } : entry));
    expect(validateQuestionAnswers(entries, OPTS).map((p) => p.code)).toEqual(['answer_too_short']);
    const accented = valid.map((entry, index) => (index === 0 ? { ...entry, answer: 'Ñú' } : entry));
    expect(validateQuestionAnswers(accented, { ...OPTS, minAnswerLength: 2 })).toEqual([]);
  });
});
