import { describe, expect, it } from 'vitest';
import { hashAnswers, verifyAnswer } from '../../src/questions/answer-hash.js';
import { SecretHasher } from '../../src/security/pin-hash.js';

const hasher = new SecretHasher('test-secret-key-0123456789');

describe('hashAnswers / verifyAnswer', () => {
  it('stores peppered hashes of the normalised answers, never the answers', async () => {
    const hashed = await hashAnswers(hasher, [
      { questionId: 'q.first-pet', answer: '  Fido! ' },
      { questionId: 'q.parents-met', answer: 'Sevilla' },
    ]);
    expect(hashed.map((entry) => entry.questionId)).toEqual(['q.first-pet', 'q.parents-met']);
    for (const entry of hashed) {
      expect(entry.hash).toMatch(/^v2\$scrypt\$2048\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
      expect(entry.hash.toLowerCase()).not.toContain('fido');
      expect(entry.hash.toLowerCase()).not.toContain('sevilla');
    }
    // Salted: the same answer hashes differently each time.
    const again = await hashAnswers(hasher, [{ questionId: 'q.first-pet', answer: 'fido' }]);
    expect(again[0]?.hash).not.toBe(hashed[0]?.hash);
  });

  it('accepts the answer however it is typed, and only for its own question', async () => {
    const stored = await hashAnswers(hasher, [
      { questionId: 'q.first-pet', answer: '  Fido! ' },
      { questionId: 'q.parents-met', answer: 'José María' },
    ]);
    for (const typed of ['fido', 'FIDO', 'Fido.', 'ＦＩＤＯ', ' fido ']) {
      expect(await verifyAnswer(hasher, 'q.first-pet', typed, stored)).toBe(true);
    }
    expect(await verifyAnswer(hasher, 'q.parents-met', 'jose\u0301   MARÍA', stored)).toBe(true);
    expect(await verifyAnswer(hasher, 'q.parents-met', 'Jose Maria', stored)).toBe(false);
    expect(await verifyAnswer(hasher, 'q.first-pet', 'Fido2', stored)).toBe(false);
    expect(await verifyAnswer(hasher, 'q.parents-met', 'fido', stored)).toBe(false);
    expect(await verifyAnswer(hasher, 'q.first-car', 'fido', stored)).toBe(false);
    expect(await verifyAnswer(hasher, 'q.first-pet', 'x'.repeat(5000), stored)).toBe(false);
  });

  it('never accepts an empty answer', async () => {
    const stored = await hashAnswers(hasher, [{ questionId: 'q.first-pet', answer: '!!!' }]);
    expect(await verifyAnswer(hasher, 'q.first-pet', '', stored)).toBe(false);
    expect(await verifyAnswer(hasher, 'q.first-pet', '?', stored)).toBe(false);
  });
});
