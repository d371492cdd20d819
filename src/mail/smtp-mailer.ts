import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Logger } from '../log.js';
import { assertSendable, type MailCheck, MailError, type Mailer, recipientDomain } from './mailer.js';

export interface SmtpMailerOptions {
  /** `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://user:pass@host:port` (TLS from the start). */
  url: string;
  /** The sender, `Name <address>` or `address`. */
  from: string;
  /** Connection, greeting and socket inactivity timeout, in ms (default 10 000). */
  timeoutMs?: number;
  /** Refuse to talk (and authenticate) over `smtp://` unless the server upgrades with STARTTLS (default false). */
  requireTls?: boolean;
}

export interface SmtpTarget {
  secure: boolean;
  host: string;
  port: number;
  user?: string;
  pass?: string;
  /** `smtp://host:port`, without credentials: safe for logs and error messages. */
  label: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Parses an `smtp://` / `smtps://` URL; throws a `MailError` naming what is wrong (never echoing the password). */
export function parseSmtpUrl(url: string): SmtpTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MailError(
      'mail_invalid_config',
      'mail: the SMTP URL is not a URL (smtp://user:pass@host:port)',
    );
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (scheme !== 'smtp' && scheme !== 'smtps') {
    throw new MailError('mail_invalid_config', 'mail: the SMTP URL must start with smtp:// or smtps://');
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new MailError('mail_invalid_config', 'mail: the SMTP URL has no host');
  const secure = scheme === 'smtps';
  const port = parsed.port ? Number(parsed.port) : secure ? 465 : 587;
  const user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const pass = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  const hostLabel = host.includes(':') ? `[${host}]` : host;
  return {
    secure,
    host,
    port,
    ...(user !== undefined ? { user } : {}),
    ...(pass !== undefined ? { pass } : {}),
    label: `${scheme}://${hostLabel}:${port}`,
  };
}

/** A mailer over SMTP with nodemailer: one connection per message, bounded by timeouts. */
export function createSmtpMailer(opts: SmtpMailerOptions, logger: Logger): Mailer {
  const target = parseSmtpUrl(opts.url);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const options: SMTPTransport.Options = {
    host: target.host,
    port: target.port,
    secure: target.secure,
    requireTLS: opts.requireTls === true,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    ...(target.user !== undefined ? { auth: { user: target.user, pass: target.pass ?? '' } } : {}),
    // nodemailer's own logger would print envelopes (addresses) and protocol lines: off.
    logger: false,
    debug: false,
  };
  const transporter = nodemailer.createTransport(options);
  const log = logger.child({ mailer: 'smtp', server: target.label });

  return {
    async send(message) {
      assertSendable(message);
      const domain = recipientDomain(message.to);
      try {
        const info = await transporter.sendMail({
          from: opts.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html !== undefined ? { html: message.html } : {}),
        });
        const id = String(info.messageId ?? '');
        log.info({ mailId: id, recipientDomain: domain }, 'mail: sent');
        return { id };
      } catch (error) {
        const failure = toMailError(error, target.label, 'sending');
        log.warn(
          { code: failure.code, reason: failure.message, recipientDomain: domain },
          'mail: send failed',
        );
        throw failure;
      }
    },

    async check(): Promise<MailCheck> {
      try {
        await transporter.verify();
        return { ok: true, detail: `${target.label} accepts mail` };
      } catch (error) {
        const failure = toMailError(error, target.label, 'checking');
        return { ok: false, detail: failure.message };
      }
    },

    async close() {
      transporter.close();
    },
  };
}

/** Maps nodemailer's error codes to ours, with a message that says which server and what happened. */
function toMailError(error: unknown, label: string, doing: 'sending' | 'checking'): MailError {
  if (error instanceof MailError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  const prefix = `mail: ${doing} through ${label} failed`;
  switch (code) {
    case 'ETIMEDOUT':
      return new MailError('mail_timeout', `${prefix}: timed out (${reason})`, { cause: error });
    case 'ECONNECTION':
    case 'ESOCKET':
    case 'EDNS':
    case 'ETLS':
      return new MailError('mail_connection_failed', `${prefix}: cannot connect (${reason})`, {
        cause: error,
      });
    case 'EAUTH':
    case 'ENOAUTH':
      return new MailError('mail_auth_failed', `${prefix}: authentication refused (${reason})`, {
        cause: error,
      });
    case 'EENVELOPE':
    case 'EMESSAGE':
      return new MailError('mail_rejected', `${prefix}: the server refused the message (${reason})`, {
        cause: error,
      });
    default:
      return new MailError('mail_send_failed', `${prefix}: ${reason}`, { cause: error });
  }
}
