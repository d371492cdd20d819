/**
 * The form an answer is compared (and hashed) in, so `  Fido! `, `FIDO` and `ｆｉｄｏ` are the same answer:
 *
 * 1. NFKC: compatibility forms fold (full-width letters, ligatures), composed and decomposed accents become one
 *    form; accents themselves are kept (`José` is not `Jose`).
 * 2. Lower case, locale-independent (`toLocaleLowerCase('und')`).
 * 3. Punctuation (`\p{P}`: `.,!?'"-` and the like, in every script) is removed.
 * 4. Whitespace (and control characters) collapse to one space; the ends are trimmed.
 */
export function normalizeAnswer(answer: string): string {
  return answer
    .normalize('NFKC')
    .toLocaleLowerCase('und')
    .replace(/\p{P}+/gu, '')
    .replace(/[\s\p{Cc}]+/gu, ' ')
    .trim();
}

/** The length of a normalised answer in characters (code points, so an emoji or `é` counts once). */
export function answerLength(normalized: string): number {
  return Array.from(normalized).length;
}
