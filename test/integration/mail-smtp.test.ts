import net from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { MailError } from '../../src/mail/mailer.js';
import { createSmtpMailer } from '../../src/mail/smtp-mailer.js';
import { changeNotice, enrollmentInvite } from '../../src/mail/templates.js';
import { findFreePort, LOOPBACK } from '../../src/redis/redis-process.js';
import { type SmtpServerHandle, startSmtpServer } from '../support/smtp-server.js';

const FROM = 'Dialtone MFA <mfa@example.test>';
const PHONE = '+12025550147';

function captureLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('debug', sink), output: () => lines.join('') };
}

describe('SMTP mailer against a real SMTP server', () => {
  let smtp: SmtpServerHandle;
  const log = captureLogger();

  beforeAll(async () => {
    smtp = await startSmtpServer({ auth: { user: 'mfa', pass: 's3cret:pa ss' } });
  });

  afterAll(async () => {
    await smtp?.stop();
  });

  it('checks the server, then delivers a change notice with the right recipient, subject and body', async () => {
    const mailer = createSmtpMailer({ url: smtp.url, from: FROM, timeoutMs: 5000 }, log.logger);
    try {
      await expect(mailer.check()).resolves.toEqual({
        ok: true,
        detail: `smtp://${LOOPBACK}:${smtp.port} accepts mail`,
      });
      const content = changeNotice('en', {
        displayName: 'Ada Lovelace',
        changes: ['phone'],
        at: new Date('2026-03-04T05:06:07Z'),
        serviceName: 'Acme MFA',
      });
      const before = smtp.messages.length;
      const sent = await mailer.send({ to: 'Ada <ada@example.test>', ...content });
      const [mail] = (await smtp.waitFor(before + 1)).slice(before);
      expect(mail).toBeDefined();
      expect(sent.id).toBe(mail!.messageId);
      expect(mail!.user).toBe('mfa');
      expect(mail!.envelopeFrom).toBe('mfa@example.test');
      expect(mail!.envelopeTo).toEqual(['ada@example.test']);
      expect(mail!.toAddresses).toEqual(['ada@example.test']);
      expect(mail!.to).toBe('"Ada" <ada@example.test>');
      expect(mail!.from).toBe('"Dialtone MFA" <mfa@example.test>');
      expect(mail!.subject).toBe('Your Acme MFA sign-in settings changed');
      expect(mail!.text).toContain(
        'Your Acme MFA sign-in settings changed: your phone number was changed on 2026-03-04 05:06 UTC.',
      );
      expect(mail!.text).toContain('If this was not you, contact your administrator.');
      expect(mail!.html).toBeNull();
    } finally {
      await mailer.close();
    }
  });

  it('delivers a Spanish invitation with accents intact and the phone masked, and logs no address', async () => {
    const mailer = createSmtpMailer({ url: smtp.url, from: FROM }, log.logger);
    try {
      const content = enrollmentInvite('es', {
        displayName: 'José Núñez',
        portalUrl: 'https://mfa.example.test/enroll',
        method: 'voice',
        // An unmasked number is masked by the template.
        maskedPhone: PHONE,
        serviceName: 'Acme MFA',
      });
      const before = smtp.messages.length;
      await mailer.send({ to: 'jose@example.test', ...content, html: '<p>Hola</p>' });
      const [mail] = (await smtp.waitFor(before + 1)).slice(before);
      expect(mail!.subject).toBe('Configure su acceso a Acme MFA');
      expect(mail!.text).toContain('Hola, José Núñez:');
      expect(mail!.text).toContain('una llamada al +1********47');
      expect(mail!.text).toContain('https://mfa.example.test/enroll');
      expect(mail!.html).toContain('<p>Hola</p>');
      for (const form of [PHONE, PHONE.slice(1), '2025550147']) {
        expect(mail!.raw).not.toContain(form);
        expect(log.output()).not.toContain(form);
      }
      expect(log.output()).toContain('"recipientDomain":"example.test"');
      expect(log.output()).not.toContain('jose@example.test');
      expect(log.output()).not.toContain('s3cret');
    } finally {
      await mailer.close();
    }
  });

  it('refuses a message holding a full phone number or more than one recipient, sending nothing', async () => {
    const mailer = createSmtpMailer({ url: smtp.url, from: FROM }, log.logger);
    const before = smtp.messages.length;
    try {
      await expect(
        mailer.send({ to: 'ada@example.test', subject: 'Hi', text: `We will call ${PHONE}.` }),
      ).rejects.toMatchObject({ name: 'MailError', code: 'mail_unsafe_content' });
      await expect(
        mailer.send({ to: 'ada@example.test', subject: 'Hi', text: 'We will call +1 202 555 0147.' }),
      ).rejects.toMatchObject({ code: 'mail_unsafe_content' });
      await expect(
        mailer.send({ to: 'ada@example.test, eve@example.test', subject: 'Hi', text: 'x' }),
      ).rejects.toMatchObject({ code: 'mail_invalid_message' });
      await expect(
        mailer.send({ to: 'ada@example.test', subject: 'Hi\r\nBcc: eve@example.test', text: 'x' }),
      ).rejects.toMatchObject({ code: 'mail_invalid_message' });
      expect(smtp.messages.length).toBe(before);
    } finally {
      await mailer.close();
    }
  });

  it('reports refused credentials as an auth failure, without the password', async () => {
    const url = `smtp://mfa:wrong@${LOOPBACK}:${smtp.port}`;
    const mailer = createSmtpMailer({ url, from: FROM, timeoutMs: 5000 }, log.logger);
    try {
      const check = await mailer.check();
      expect(check.ok).toBe(false);
      expect(check.detail).toMatch(/authentication refused/);
      expect(check.detail).not.toContain('wrong');
      const error = await mailer.send({ to: 'ada@example.test', subject: 'Hi', text: 'x' }).catch((e) => e);
      expect(error).toBeInstanceOf(MailError);
      expect(error.code).toBe('mail_auth_failed');
    } finally {
      await mailer.close();
    }
  });
});

describe('SMTP mailer when the server is unreachable', () => {
  it('fails fast with a clear error when nothing listens on the port', async () => {
    const port = await findFreePort();
    const { logger } = captureLogger();
    const mailer = createSmtpMailer(
      { url: `smtp://u:p@${LOOPBACK}:${port}`, from: FROM, timeoutMs: 2000 },
      logger,
    );
    try {
      const started = Date.now();
      const error = await mailer.send({ to: 'ada@example.test', subject: 'Hi', text: 'x' }).catch((e) => e);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(error).toBeInstanceOf(MailError);
      expect(error.code).toBe('mail_connection_failed');
      expect(error.message).toContain(
        `mail: sending through smtp://${LOOPBACK}:${port} failed: cannot connect`,
      );
      expect(error.message).toContain('ECONNREFUSED');
      const check = await mailer.check();
      expect(check.ok).toBe(false);
      expect(check.detail).toContain(`smtp://${LOOPBACK}:${port}`);
    } finally {
      await mailer.close();
    }
  });

  it('gives up within the timeout when the server accepts but never greets', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, LOOPBACK, resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const { logger } = captureLogger();
    const mailer = createSmtpMailer(
      { url: `smtp://${LOOPBACK}:${port}`, from: FROM, timeoutMs: 500 },
      logger,
    );
    try {
      const started = Date.now();
      const error = await mailer.send({ to: 'ada@example.test', subject: 'Hi', text: 'x' }).catch((e) => e);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(400);
      expect(elapsed).toBeLessThan(3000);
      expect(error).toBeInstanceOf(MailError);
      expect(error.code).toBe('mail_timeout');
      expect(error.message).toMatch(/timed out/);
      expect((await mailer.check()).ok).toBe(false);
    } finally {
      await mailer.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('refuses a URL that is not smtp:// or smtps://', () => {
    const { logger } = captureLogger();
    expect(() => createSmtpMailer({ url: 'http://mail.example.test', from: FROM }, logger)).toThrow(
      /smtp:\/\/ or smtps:\/\//,
    );
  });
});
