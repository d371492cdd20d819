export { type HashedAnswer, hashAnswers, verifyAnswer } from './answer-hash.js';
export {
  createQuestionCatalog,
  DEFAULT_QUESTION_CATALOG,
  DEFAULT_QUESTIONS,
  type QuestionCatalog,
  questionText,
  type SecurityQuestion,
} from './catalog.js';
export { answerLength, normalizeAnswer } from './normalize-answer.js';
export {
  cryptoRandomInt,
  pickQuestions,
  QuestionStore,
  type QuestionStoreOptions,
  type RandomInt,
} from './question-store.js';
export {
  type QuestionAnswer,
  type QuestionProblem,
  type QuestionProblemCode,
  type ValidateAnswersOptions,
  validateQuestionAnswers,
} from './validate-answers.js';
