// The app's texts come from the product's catalogue (flows/i18n, served as /app/i18n/<lang>.json), in the
// first of the browser's languages that the product speaks.
const LANGUAGES = ['en', 'es'];
let texts = {};
export let language = 'en';

export async function loadStrings() {
  const wanted = (navigator.languages ?? [navigator.language]).map((tag) =>
    String(tag).slice(0, 2).toLowerCase(),
  );
  language = wanted.find((tag) => LANGUAGES.includes(tag)) ?? 'en';
  document.documentElement.lang = language;
  const response = await fetch(`i18n/${language}.json`);
  texts = await response.json();
  for (const element of document.querySelectorAll('[data-text]'))
    element.textContent = t(element.dataset.text);
}

/** A text by key; `{name}` placeholders are filled from params. */
export function t(key, params = {}) {
  const template = texts[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    params[name] === undefined ? whole : String(params[name]),
  );
}

/** Fills `[data-text]` elements of a cloned template. */
export function translateTree(root) {
  for (const element of root.querySelectorAll('[data-text]')) element.textContent = t(element.dataset.text);
}
