import { describe, expect, it } from 'vitest';
import { translate } from '../../flows/i18n/index.js';
import { parseSmsReply, splitAnswer } from '../../flows/sms-otp/reply-parser.js';
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
  it('reads code and PIN with or without a space', () => {
    expect(parseSmsReply('123456 4321')).toEqual({ kind: 'answer', digits: '1234564321' });
    expect(parseSmsReply('1234564321')).toEqual({ kind: 'answer', digits: '1234564321' });
    expect(parseSmsReply(' 123456\n')).toEqual({ kind: 'answer', digits: '123456' });
    expect(parseSmsReply('１２３４５６')).toEqual({ kind: 'answer', digits: '123456' }); // full-width digits
  });

  it('splits code and PIN by the code length of the verification answered', () => {
    expect(splitAnswer('1234564321', 6)).toEqual({ code: '123456', pin: '4321' });
    expect(splitAnswer('12345678904321', 10)).toEqual({ code: '1234567890', pin: '4321' });
    expect(splitAnswer('123456', 6)).toEqual({ code: '123456', pin: '' });
  });

  it('reads 0 as a fraud report and carrier keywords in any case', () => {
    expect(parseSmsReply('0')).toEqual({ kind: 'fraud' });
    expect(parseSmsReply('stop')).toEqual({ kind: 'keyword', keyword: 'stop' });
    expect(parseSmsReply('Unsubscribe')).toEqual({ kind: 'keyword', keyword: 'stop' });
    expect(parseSmsReply('HELP')).toEqual({ kind: 'keyword', keyword: 'help' });
    expect(parseSmsReply('start')).toEqual({ kind: 'keyword', keyword: 'start' });
  });

  it('calls anything else unreadable', () => {
    for (const body of ['', 'hello', '12a456', '9'.repeat(100), "1' OR '1'='1"]) {
      expect(parseSmsReply(body)).toEqual({ kind: 'unreadable' });
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
