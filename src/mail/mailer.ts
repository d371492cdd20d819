import addressparser from 'nodemailer/lib/addressparser';

/**
 * The mail port: the engine sends notices (a sign-in setting changed, an enrollment invitation, a fraud alert)
 * through a `Mailer`, whichever adapter is behind it (SMTP via nodemailer, or the Redis dev mailbox).
 *
 * A mail never carries a PIN, a code or a full phone number: the templates mask phones, and every adapter refuses
 * a message that still looks like it holds a full number (`assertSendable`).
 */
export interface MailMessage {
  /** One address, `user@example.com` or `Name <user@example.com>`. */
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface SentMail {
  /** The adapter's message id (the SMTP Message-ID, or the dev mailbox's id). */
  id: string;
}

export interface MailCheck {
  ok: boolean;
  detail: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<SentMail>;
  /** The startup / readiness check: can this adapter deliver right now? Never throws. */
  check(): Promise<MailCheck>;
  close(): Promise<void>;
}

export type MailErrorCode =
  | 'mail_invalid_config'
  | 'mail_invalid_message'
  | 'mail_unsafe_content'
  | 'mail_connection_failed'
  | 'mail_timeout'
  | 'mail_auth_failed'
  | 'mail_rejected'
  | 'mail_send_failed';

/** A mail failure with a stable code. The message names the server (never its credentials) and the reason. */
export class MailError extends Error {
  constructor(
    readonly code: MailErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MailError';
  }
}

const MAX_SUBJECT = 250;
const MAX_BODY = 100_000;
const ADDRESS = /^[^\s@<>,;"()\\]+@[^\s@<>,;"()\\]+\.[^\s@<>,;"()\\]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
/**
 * What looks like a full phone number: `+` and at least 7 digits (single spaces, dots, dashes or parentheses
 * between them allowed), or 10 digits or more standing alone (not inside a longer token such as an id in a URL).
 * Masked numbers (`+1********23`) and dates do not match.
 */
const FULL_PHONE = /\+\d(?:[\s().-]?\d){6,}|(?<![\p{L}\p{N}_])\d{10,}(?![\p{L}\p{N}_])/u;

/** True when `text` holds something that looks like a full (unmasked) phone number. */
export function containsFullPhoneNumber(text: string): boolean {
  return FULL_PHONE.test(text);
}

/**
 * The bare address of `to` (`"Name" <a@b.c>` -> `a@b.c`, parsed by nodemailer's address parser); null when `to`
 * is not exactly one plain mailbox (a list, a group, no address, or control characters).
 */
export function parseRecipient(to: string): string | null {
  if (typeof to !== 'string' || to.length > 500 || CONTROL.test(to)) return null;
  const parsed = addressparser(to);
  const only = parsed.length === 1 ? parsed[0] : undefined;
  const address = only && 'address' in only ? only.address : undefined;
  return typeof address === 'string' && ADDRESS.test(address) ? address : null;
}

/** The recipient's domain, the most a log line says about who got a mail. */
export function recipientDomain(to: string): string {
  const address = parseRecipient(to);
  return address ? (address.split('@')[1] ?? '?').toLowerCase() : '?';
}

/**
 * Refuses what must not be sent: not exactly one recipient, a subject with line breaks (header injection),
 * oversized parts, or a full phone number anywhere in the subject or body.
 */
export function assertSendable(message: MailMessage): void {
  if (parseRecipient(message.to) === null) {
    throw new MailError('mail_invalid_message', 'mail: the recipient must be exactly one e-mail address');
  }
  if (typeof message.subject !== 'string' || message.subject.trim() === '') {
    throw new MailError('mail_invalid_message', 'mail: the subject is empty');
  }
  if (CONTROL.test(message.subject) || message.subject.length > MAX_SUBJECT) {
    throw new MailError(
      'mail_invalid_message',
      `mail: the subject must be one line of at most ${MAX_SUBJECT} characters`,
    );
  }
  if (typeof message.text !== 'string' || message.text.length > MAX_BODY) {
    throw new MailError('mail_invalid_message', `mail: the text must be at most ${MAX_BODY} characters`);
  }
  if (message.html !== undefined && (typeof message.html !== 'string' || message.html.length > MAX_BODY)) {
    throw new MailError('mail_invalid_message', `mail: the HTML must be at most ${MAX_BODY} characters`);
  }
  for (const part of [message.subject, message.text, message.html ?? '']) {
    if (containsFullPhoneNumber(part)) {
      throw new MailError(
        'mail_unsafe_content',
        'mail: the message contains what looks like a full phone number; mask it with maskPhone',
      );
    }
  }
}
