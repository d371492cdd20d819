import { describe, expect, it } from 'vitest';
import { answerMessage, challengeMessage } from '../../src/pipush/pipush-challenge.js';
import { decodeLenientBase64 } from '../../src/pipush/pipush-crypto.js';
import { parseTimestamp } from '../../src/pipush/pipush-tokens.js';
import { presenceOptions } from '../../src/pipush/presence-options.js';
import { CodeSecrets } from '../../src/security/secrets.js';

const secrets = new CodeSecrets('unit-secret-key-0123456789');

describe('presence options', () => {
  const push = (nonce: string) => ({ flowId: 'f1', nonce, digits: 3, number: '482' });

  it('holds the right number once among distinct decoys of the same length, the same at every poll', () => {
    for (const count of [2, 3, 10]) {
      const options = presenceOptions(secrets, push('n1'), count);
      expect(options).toHaveLength(count);
      expect(new Set(options).size).toBe(count);
      expect(options.filter((o) => o === '482')).toHaveLength(1);
      for (const option of options) expect(option).toMatch(/^\d{3}$/);
      expect(presenceOptions(secrets, push('n1'), count)).toEqual(options);
    }
  });

  it('puts the right number at every position about equally often', () => {
    const positions = [0, 0, 0];
    for (let i = 0; i < 600; i += 1)
      positions[presenceOptions(secrets, push(`n${i}`), 3).indexOf('482')]! += 1;
    for (const seen of positions) expect(seen).toBeGreaterThan(140);
  });
});

describe('protocol strings', () => {
  it('signs the challenge fields in the app’s order, then the options', () => {
    expect(
      challengeMessage({
        nonce: 'N',
        url: 'https://mfa.example.com/ttype/push',
        serial: 'PIPU0011',
        question: 'Q?',
        title: 'T',
        sslverify: '1',
        require_presence: '1,2,3',
      }),
    ).toBe('N|https://mfa.example.com/ttype/push|PIPU0011|Q?|T|1|1,2,3');
  });

  it('builds the answer string as the app signs it', () => {
    const base = { nonce: 'N', serial: 'S' };
    expect(answerMessage({ ...base, decline: false, presenceAnswer: '482' })).toBe('N|S|482');
    expect(answerMessage({ ...base, decline: true })).toBe('N|S|decline');
    expect(answerMessage({ ...base, decline: true, declineReason: 'unknown_trigger' })).toBe(
      'N|S|decline|unknown_trigger',
    );
    expect(answerMessage({ ...base, decline: false })).toBe('N|S');
  });

  it('reads Dart’s toIso8601String (microseconds) and refuses a time without a zone', () => {
    expect(parseTimestamp('2026-12-03T13:17:17.123456Z')).toBe(Date.UTC(2026, 11, 3, 13, 17, 17, 123));
    expect(parseTimestamp('2026-12-03T14:17:17+01:00')).toBe(Date.UTC(2026, 11, 3, 13, 17, 17));
    expect(parseTimestamp('2026-12-03T13:17:17')).toBeNull();
    expect(parseTimestamp('yesterday')).toBeNull();
    expect(parseTimestamp('2026-13-45T13:17:17Z')).toBeNull();
  });

  it('decodes base64 as forms mangle it, and refuses what is not base64', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x00, 0x01]);
    const standard = bytes.toString('base64');
    expect(standard).toMatch(/[+/]/);
    for (const variant of [
      standard,
      bytes.toString('base64url'),
      standard.replace(/\+/g, ' '),
      `${standard}\n`,
    ])
      expect(decodeLenientBase64(variant)).toEqual(bytes);
    expect(decodeLenientBase64('not*base64')).toBeNull();
    expect(decodeLenientBase64('')).toBeNull();
  });
});
