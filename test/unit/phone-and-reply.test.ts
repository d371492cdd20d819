import { describe, expect, it } from 'vitest';
import { translate } from '../../flows/i18n/index.js';
import { parseSmsReply } from '../../flows/sms-otp/reply-parser.js';
import { normalizePhone } from '../../src/phone/phone-number.js';

const policy = { allowedCountries: ['US', 'GB', 'FR', 'ES'], defaultCountry: 'US' };

describe('normalizePhone', () => {
  it('accepts national and international forms and returns E.164', () => {
    expect(normalizePhone('(202) 555-0147', policy)).toBe('+12025550147');
    expect(normalizePhone('+1 202 555 0147', policy)).toBe('+12025550147');
    expect(normalizePhone('+33 6 12 34 56 78', policy)).toBe('+33612345678');
    expect(normalizePhone('06 12 34 56 78', { ...policy, defaultCountry: 'FR' })).toBe('+33612345678');
  });

  it.each([
    ['premium rate', '+1 900 555 1234', 'phone_not_allowed'],
    ['premium rate (UK)', '+44 871 234 5678', 'phone_not_allowed'],
    ['shared cost (FR)', '+33 810 12 34 56', 'phone_not_allowed'],
    ['outside the allowed countries', '+86 138 0013 8000', 'phone_not_allowed'],
    ['not a number', 'call me maybe', 'invalid_phone'],
    ['too short', '+1 202', 'invalid_phone'],
    ['huge', '1'.repeat(10_000), 'invalid_phone'],
  ])('refuses %s', (_what, input, code) => {
    expect(() => normalizePhone(input, policy)).toThrow(expect.objectContaining({ code, statusCode: 400 }));
  });
});

describe('parseSmsReply', () => {
  it('splits code and PIN with or without a space', () => {
    expect(parseSmsReply('123456 4321', 6)).toEqual({ kind: 'answer', code: '123456', pin: '4321' });
    expect(parseSmsReply('1234564321', 6)).toEqual({ kind: 'answer', code: '123456', pin: '4321' });
    expect(parseSmsReply(' 123456\n', 6)).toEqual({ kind: 'answer', code: '123456', pin: '' });
    expect(parseSmsReply('１２３４５６', 6)).toEqual({ kind: 'answer', code: '123456', pin: '' }); // full-width digits
  });

  it('reads 0 as a fraud report and carrier keywords in any case', () => {
    expect(parseSmsReply('0', 6)).toEqual({ kind: 'fraud' });
    expect(parseSmsReply('stop', 6)).toEqual({ kind: 'keyword', keyword: 'stop' });
    expect(parseSmsReply('Unsubscribe', 6)).toEqual({ kind: 'keyword', keyword: 'stop' });
    expect(parseSmsReply('HELP', 6)).toEqual({ kind: 'keyword', keyword: 'help' });
    expect(parseSmsReply('start', 6)).toEqual({ kind: 'keyword', keyword: 'start' });
  });

  it('calls anything else unreadable', () => {
    for (const body of ['', 'hello', '12a456', '9'.repeat(100), "1' OR '1'='1"]) {
      expect(parseSmsReply(body, 6)).toEqual({ kind: 'unreadable' });
    }
  });
});

describe('translate', () => {
  it('fills placeholders in the user language', () => {
    expect(translate('en', 'sms.wrong', { remaining: 2 })).toBe('That answer is not right. 2 tries left.');
    expect(translate('es', 'sms.wrong', { remaining: 2 })).toBe(
      'La respuesta no es correcta. Le quedan 2 intentos.',
    );
  });
});
