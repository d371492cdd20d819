import type { Language } from '../../flows/i18n/index.js';

export interface SecurityQuestion {
  /** Stable id stored with the answer hash (`q.first-pet`); never rename one in use. */
  id: string;
  text: Record<Language, string>;
}

export interface QuestionCatalog {
  readonly questions: readonly SecurityQuestion[];
  get(id: string): SecurityQuestion | undefined;
  has(id: string): boolean;
}

const QUESTION_ID = /^q\.[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Builds a catalog, refusing malformed or repeated ids and missing translations. */
export function createQuestionCatalog(questions: readonly SecurityQuestion[]): QuestionCatalog {
  const byId = new Map<string, SecurityQuestion>();
  for (const question of questions) {
    if (!QUESTION_ID.test(question.id)) throw new Error(`question id ${question.id} is not like q.first-pet`);
    if (byId.has(question.id)) throw new Error(`question id ${question.id} appears twice`);
    if (!question.text.en?.trim() || !question.text.es?.trim()) {
      throw new Error(`question ${question.id} needs an English and a Spanish text`);
    }
    byId.set(question.id, Object.freeze({ id: question.id, text: Object.freeze({ ...question.text }) }));
  }
  const frozen = Object.freeze([...byId.values()]);
  return Object.freeze({
    questions: frozen,
    get: (id: string) => byId.get(id),
    has: (id: string) => byId.has(id),
  });
}

/** The question in `language`; the id itself when the catalog does not know it. */
export function questionText(catalog: QuestionCatalog, id: string, language: Language): string {
  return catalog.get(id)?.text[language] ?? id;
}

/** Questions whose answers are memorable, stable over time and not on a typical public profile. */
export const DEFAULT_QUESTIONS: readonly SecurityQuestion[] = [
  {
    id: 'q.first-pet',
    text: { en: 'What was the name of your first pet?', es: '¿Cómo se llamaba su primera mascota?' },
  },
  {
    id: 'q.childhood-friend',
    text: {
      en: 'What was the first name of your best friend as a child?',
      es: '¿Cuál era el nombre de su mejor amigo o amiga de la infancia?',
    },
  },
  {
    id: 'q.first-school',
    text: {
      en: 'What was the name of the first school you attended?',
      es: '¿Cómo se llamaba la primera escuela a la que asistió?',
    },
  },
  {
    id: 'q.childhood-street',
    text: {
      en: 'What was the name of the street you lived on as a child?',
      es: '¿Cómo se llamaba la calle en la que vivía de niño o niña?',
    },
  },
  {
    id: 'q.parents-met',
    text: { en: 'In what city did your parents meet?', es: '¿En qué ciudad se conocieron sus padres?' },
  },
  {
    id: 'q.first-job',
    text: {
      en: 'What was the name of the company where you had your first job?',
      es: '¿Cómo se llamaba la empresa de su primer trabajo?',
    },
  },
  {
    id: 'q.first-car',
    text: {
      en: 'What was the make and model of your first car?',
      es: '¿Cuál era la marca y el modelo de su primer coche?',
    },
  },
  {
    id: 'q.favorite-teacher',
    text: {
      en: 'What was the last name of your favourite teacher?',
      es: '¿Cuál era el apellido de su profesor o profesora favorito?',
    },
  },
  {
    id: 'q.childhood-nickname',
    text: { en: 'What was your nickname as a child?', es: '¿Cuál era su apodo de la infancia?' },
  },
  {
    id: 'q.first-concert',
    text: {
      en: 'What was the first concert you went to?',
      es: '¿Cuál fue el primer concierto al que asistió?',
    },
  },
  {
    id: 'q.grandmother-name',
    text: {
      en: "What is your maternal grandmother's first name?",
      es: '¿Cuál es el nombre de pila de su abuela materna?',
    },
  },
  {
    id: 'q.childhood-hero',
    text: {
      en: 'Who was your childhood hero?',
      es: '¿Quién era su héroe o heroína de la infancia?',
    },
  },
];

export const DEFAULT_QUESTION_CATALOG: QuestionCatalog = createQuestionCatalog(DEFAULT_QUESTIONS);
