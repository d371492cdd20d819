import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_PASSWORD_LENGTH,
  MAX_USERNAME_LENGTH,
  validateCredentialsInput,
  validateUsernameInput,
} from '../../src/directory/directory.js';

const refused = (problem: string) => ({ ok: false, problem });

describe('validateCredentialsInput', () => {
  it('accepts ordinary credentials, including spaces inside and non-ASCII', () => {
    expect(validateCredentialsInput('alice', 'alice-password')).toEqual({ ok: true });
    expect(validateCredentialsInput('jose', ' contraseña con espacios ')).toEqual({ ok: true });
    expect(validateCredentialsInput('иван', 'пароль')).toEqual({ ok: true });
    expect(validateCredentialsInput('山田', '山田のパスワード')).toEqual({ ok: true });
    expect(
      validateCredentialsInput('u'.repeat(MAX_USERNAME_LENGTH), 'p'.repeat(MAX_PASSWORD_LENGTH)),
    ).toEqual({
      ok: true,
    });
  });

  it('refuses empty, blank and whitespace-only passwords (an unauthenticated bind)', () => {
    for (const password of [
      '',
      ' ',
      '  ',
      '\t',
      '\n',
      '\r\n',
      ' \t ',
      '\u00a0',
      '\u2003',
      '\u3000',
      '\u200b',
      '\ufeff',
    ]) {
      expect(validateCredentialsInput('alice', password), JSON.stringify(password)).toEqual(
        refused(password === '' ? 'password-missing' : 'password-blank'),
      );
    }
  });

  it('refuses missing or non-string input', () => {
    expect(validateCredentialsInput('alice', undefined)).toEqual(refused('password-missing'));
    expect(validateCredentialsInput('alice', null)).toEqual(refused('password-missing'));
    expect(validateCredentialsInput('alice', 1234)).toEqual(refused('password-missing'));
    expect(validateCredentialsInput(undefined, 'x')).toEqual(refused('username-missing'));
    expect(validateCredentialsInput(['alice'], 'x')).toEqual(refused('username-missing'));
  });

  it('refuses empty, blank, control-character and overlong usernames', () => {
    expect(validateCredentialsInput('', 'x')).toEqual(refused('username-missing'));
    expect(validateCredentialsInput('   ', 'x')).toEqual(refused('username-blank'));
    expect(validateCredentialsInput('alice\u0000', 'x')).toEqual(refused('username-control-characters'));
    expect(validateCredentialsInput('ali\nce', 'x')).toEqual(refused('username-control-characters'));
    expect(validateCredentialsInput('u'.repeat(MAX_USERNAME_LENGTH + 1), 'x')).toEqual(
      refused('username-too-long'),
    );
    expect(validateCredentialsInput('x'.repeat(10 * 1024), 'x')).toEqual(refused('username-too-long'));
  });

  it('refuses overlong passwords', () => {
    expect(validateCredentialsInput('alice', 'p'.repeat(MAX_PASSWORD_LENGTH + 1))).toEqual(
      refused('password-too-long'),
    );
  });

  it('checks the username before the password', () => {
    expect(validateCredentialsInput('', '')).toEqual(refused('username-missing'));
  });

  it('leaves LDAP metacharacters to the filter objects (they are valid usernames)', () => {
    for (const username of ['*', 'j*', 'admin)(|(uid=*', '\\', 'O’Brien, Pat (IT)']) {
      expect(validateUsernameInput(username)).toEqual({ ok: true });
    }
  });

  it('property: any whitespace-only password is refused', () => {
    const whitespace = fc.constantFrom(
      ' ',
      '\t',
      '\n',
      '\r',
      '\u00a0',
      '\u1680',
      '\u2000',
      '\u2028',
      '\u3000',
    );
    fc.assert(
      fc.property(fc.array(whitespace, { minLength: 1, maxLength: 50 }), (chars) => {
        expect(validateCredentialsInput('alice', chars.join(''))).toEqual(refused('password-blank'));
      }),
    );
  });

  it('property: a password with a visible character and within bounds is accepted', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), fc.string({ maxLength: 500 }), (before, after) => {
        expect(validateCredentialsInput('alice', `${before}x${after}`)).toEqual({ ok: true });
      }),
    );
  });
});
