import { en, type MessageKey } from './en.js';
import { es } from './es.js';

export type { MessageKey };
export const LANGUAGES = ['en', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];

const catalogs: Record<Language, Record<MessageKey, string>> = { en, es };

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** Renders a message key in a language; unknown placeholders stay visible so a missing parameter is noticed. */
export function translate(
  language: Language,
  key: MessageKey,
  params: Record<string, string | number> = {},
): string {
  const template = catalogs[language][key] ?? catalogs.en[key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    params[name] === undefined ? whole : String(params[name]),
  );
}
