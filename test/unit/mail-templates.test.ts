import { describe, expect, it } from 'vitest';
import { assertSendable, containsFullPhoneNumber, parseRecipient } from '../../src/mail/mailer.js';
import { parseSmtpUrl } from '../../src/mail/smtp-mailer.js';
import { changeNotice, enrollmentInvite, type SettingChange } from '../../src/mail/templates.js';

const AT = new Date('2026-05-06T07:08:09Z');

describe('changeNotice', () => {
  it('says what changed, when, and whom to contact, in English', () => {
    expect(
      changeNotice('en', { displayName: 'Ada', changes: ['pin'], at: AT, serviceName: 'Acme MFA' }),
    ).toEqual({
      subject: 'Your Acme MFA sign-in settings changed',
      text: [
        'Hello Ada,',
        '',
        'Your Acme MFA sign-in settings changed: your PIN was changed on 2026-05-06 07:08 UTC.',
        '',
        'If this was not you, contact your administrator.',
        '',
        'This is an automatic message from Acme MFA; replies are not read.',
      ].join('\n'),
    });
  });

  it('has a text for every change, in Spanish too', () => {
    const changes: SettingChange[] = ['phone', 'pin', 'method', 'questions', 'enrollment'];
    const texts = changes.map(
      (change) =>
        changeNotice('es', { displayName: 'José', changes: [change], at: AT, serviceName: 'Acme' }).text,
    );
    expect(new Set(texts).size).toBe(5);
    expect(texts[0]).toContain('Hola, José:');
    expect(texts[0]).toContain('se ha cambiado su número de teléfono el 2026-05-06 07:08 UTC');
    expect(texts[3]).toContain('se han cambiado sus preguntas de seguridad');
    expect(texts[4]).toContain(
      'se ha configurado la verificación de acceso de su cuenta el 2026-05-06 07:08 UTC',
    );
    expect(texts[0]).toContain('Si no ha sido usted, póngase en contacto con su administrador.');
    expect(
      changeNotice('es', { displayName: '', changes: ['pin'], at: AT, serviceName: 'Acme' }).subject,
    ).toBe('Se ha modificado su configuración de acceso a Acme');
  });

  it('names every setting that changed, each once, and refuses a notice of nothing', () => {
    const notice = changeNotice('en', {
      displayName: 'Ada',
      changes: ['phone', 'pin', 'phone'],
      at: AT,
      serviceName: 'Acme',
    });
    expect(notice.text).toContain(
      'Your Acme sign-in settings changed: your phone number was changed; your PIN was changed on 2026-05-06 07:08 UTC.',
    );
    expect(() =>
      changeNotice('en', { displayName: 'Ada', changes: [], at: AT, serviceName: 'Acme' }),
    ).toThrow('names no change');
  });

  it('keeps a display name or service name from adding lines', () => {
    const notice = changeNotice('en', {
      displayName: 'Ada\r\nBcc: eve@example.test\n\nClick here',
      changes: ['method'],
      at: AT,
      serviceName: 'Acme\nMFA',
    });
    expect(notice.subject).toBe('Your Acme MFA sign-in settings changed');
    expect(notice.text.split('\n')[0]).toBe('Hello Ada Bcc: eve@example.test Click here,');
    expect(() => assertSendable({ to: 'a@example.test', ...notice })).not.toThrow();
  });
});

describe('enrollmentInvite', () => {
  it('names the method with the masked phone and the portal link', () => {
    const invite = enrollmentInvite('en', {
      displayName: 'Ada',
      portalUrl: 'https://mfa.example.test/enroll',
      method: 'sms',
      maskedPhone: '+1********47',
      serviceName: 'Acme MFA',
    });
    expect(invite.subject).toBe('Set up your Acme MFA sign-in');
    expect(invite.text).toContain('How you will verify: a text message to +1********47.');
    expect(invite.text).toContain('\nhttps://mfa.example.test/enroll\n');
  });

  it('masks a full phone number it is given, however it is written', () => {
    for (const phone of ['+12025550147', '+1 (202) 555-0147']) {
      const invite = enrollmentInvite('es', {
        displayName: 'José',
        portalUrl: 'https://mfa.example.test/',
        method: 'voice',
        maskedPhone: phone,
        serviceName: 'Acme',
      });
      expect(invite.text).toContain('Cómo verificará su identidad: una llamada al +1********47.');
      expect(containsFullPhoneNumber(invite.text)).toBe(false);
    }
  });

  it('does without a phone, and for push', () => {
    const base = { displayName: 'Ada', portalUrl: 'https://mfa.example.test/', serviceName: 'Acme' };
    expect(enrollmentInvite('en', { ...base, method: 'voice' }).text).toContain(
      'a phone call to the number your administrator registered',
    );
    expect(enrollmentInvite('es', { ...base, method: 'push' }).text).toContain(
      'una notificación en la aplicación móvil',
    );
  });

  it('refuses a portal URL that is not http(s)', () => {
    const base = { displayName: 'Ada', method: 'sms' as const, serviceName: 'Acme' };
    expect(() => enrollmentInvite('en', { ...base, portalUrl: 'javascript:alert(1)' })).toThrow(/http/);
    expect(() => enrollmentInvite('en', { ...base, portalUrl: 'not a url' })).toThrow(/not a URL/);
  });
});

describe('mail guards', () => {
  it('spots full phone numbers but not masked ones, dates or ids', () => {
    for (const text of ['+12025550147', 'call +1 202 555 0147 now', 'at 2025550147.', '+44 20 7946 0958']) {
      expect(containsFullPhoneNumber(text), text).toBe(true);
    }
    for (const text of [
      '+1********47',
      '2026-05-06 07:08 UTC',
      'https://mfa.example.test/enroll/a1234567890b',
      'version 1.2.3',
      '123456',
    ]) {
      expect(containsFullPhoneNumber(text), text).toBe(false);
    }
  });

  it('accepts exactly one mailbox', () => {
    expect(parseRecipient('ada@example.test')).toBe('ada@example.test');
    expect(parseRecipient('"Lovelace, Ada" <ada@example.test>')).toBe('ada@example.test');
    for (const to of [
      'a@example.test, b@example.test',
      'Group: a@example.test;',
      'ada',
      'a@b.c\r\nBcc: e@f.g',
      '',
    ]) {
      expect(parseRecipient(to), to).toBeNull();
    }
  });

  it('parses SMTP URLs without ever echoing the password', () => {
    expect(parseSmtpUrl('smtp://user%40x:p%3Ass@mail.example.test:2525')).toEqual({
      secure: false,
      host: 'mail.example.test',
      port: 2525,
      user: 'user@x',
      pass: 'p:ss',
      label: 'smtp://mail.example.test:2525',
    });
    expect(parseSmtpUrl('smtps://mail.example.test')).toMatchObject({ secure: true, port: 465 });
    expect(parseSmtpUrl('smtp://[::1]')).toMatchObject({ host: '::1', port: 587, label: 'smtp://[::1]:587' });
    expect(() => parseSmtpUrl('smtp://u:hunter2@')).toThrow();
    try {
      parseSmtpUrl('ftp://u:hunter2@host');
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});
