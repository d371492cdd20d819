import { describe, expect, it } from 'vitest';
import { answerLength, normalizeAnswer } from '../../src/questions/normalize-answer.js';

describe('normalizeAnswer', () => {
  it('folds case, trims, and drops punctuation', () => {
    expect(normalizeAnswer('  Fido! ')).toBe('fido');
    expect(normalizeAnswer('FIDO')).toBe(normalizeAnswer('fido.'));
    expect(normalizeAnswer("O'Brien")).toBe('obrien');
    expect(normalizeAnswer('¿Quién? ¡Yo!')).toBe('quién yo');
    expect(normalizeAnswer('«Rex»')).toBe('rex');
  });

  it('collapses inner whitespace of any kind to one space', () => {
    expect(normalizeAnswer('New   York')).toBe('new york');
    expect(normalizeAnswer('New\t\nYork')).toBe('new york');
    expect(normalizeAnswer('New\u00a0York')).toBe('new york');
    expect(normalizeAnswer('New \u3000 York')).toBe('new york');
    expect(normalizeAnswer('a - b')).toBe('a b');
  });

  it('keeps accents, whichever way they were typed (NFKC)', () => {
    const composed = 'Jos\u00e9';
    const decomposed = 'Jose\u0301';
    expect(normalizeAnswer(composed)).toBe('josé');
    expect(normalizeAnswer(decomposed)).toBe('josé');
    expect(normalizeAnswer('José')).not.toBe(normalizeAnswer('Jose'));
    expect(normalizeAnswer('MÜNCHEN')).toBe('münchen');
    expect(normalizeAnswer('Ñandú')).toBe('ñandú');
  });

  it('folds full-width letters and digits and compatibility forms', () => {
    expect(normalizeAnswer('ＦＩＤＯ')).toBe('fido');
    expect(normalizeAnswer('Ｆｉｄｏ１２３')).toBe('fido123');
    expect(normalizeAnswer('ﬁdo')).toBe('fido');
    expect(normalizeAnswer('Ⅻ')).toBe('xii');
  });

  it('lower-cases without a locale (a dotted capital I is not Turkish)', () => {
    expect(normalizeAnswer('IZMIR')).toBe('izmir');
  });

  it('is idempotent and empty for punctuation only', () => {
    for (const input of ['  Fido! ', 'Jose\u0301', 'ＦＩＤＯ', 'New\t York']) {
      expect(normalizeAnswer(normalizeAnswer(input))).toBe(normalizeAnswer(input));
    }
    expect(normalizeAnswer(' ?!... ')).toBe('');
  });

  it('counts characters, not UTF-16 units', () => {
    expect(answerLength('josé')).toBe(4);
    expect(answerLength('🐶🐶')).toBe(2);
  });
});
