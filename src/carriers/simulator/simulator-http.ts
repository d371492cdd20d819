import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/**
 * Request parsing and HTTP helpers shared by the carrier simulator's routes (messages, calls, dev phone): the
 * REST API's auth and error bodies, form fields, and what its webhooks and logs need.
 */

/** The Compatibility REST API's version, in its paths and in every webhook. */
export const API_VERSION = '2010-04-01';
/** How long one webhook delivery may take. */
export const DELIVER_TIMEOUT_MS = 5000;
export const E164 = /^\+[0-9]{8,15}$/;

/** What the REST guard reads of a request. */
export interface RestRequest {
  headers: { authorization?: string };
  params: { accountSid: string };
}

/**
 * The REST API's checks: HTTP Basic auth as `projectId:apiToken` (401), then the account in the URL (403).
 * The guard returns the refusal it sent, or undefined when the request may go on.
 */
export function restGuard(projectId: string, apiToken: string) {
  const expectedAuth = digest(`${projectId}:${apiToken}`);
  const authorized = (header: string | undefined): boolean => {
    const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '');
    if (!match?.[1]) return false;
    return timingSafeEqual(digest(Buffer.from(match[1], 'base64').toString('utf8')), expectedAuth);
  };
  return (request: RestRequest, reply: FastifyReply) => {
    if (!authorized(request.headers.authorization)) {
      reply.header('www-authenticate', 'Basic realm="simulator"');
      return twilioError(reply, 401, 20003, 'Authenticate');
    }
    if (request.params.accountSid !== projectId) {
      return twilioError(reply, 403, 20403, 'The account in the URL does not match the credentials');
    }
    return undefined;
  };
}

/** A REST API error body, as Twilio and SignalWire send it. */
export function twilioError(reply: FastifyReply, status: number, code: number, message: string) {
  return reply.code(status).send({
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  });
}

/** A handset control's 400. */
export function invalid(reply: FastifyReply, message: string) {
  return reply.code(400).send({ error: { code: 'invalid_request', message } });
}

/**
 * An E.164 number from a query or body value. A leading space is read as the `+` a hand-typed query string
 * turns into one; `loose` (the dev phone's form) also drops spaces, dashes, dots and parentheses.
 */
export function parseNumber(value: unknown, options: { loose?: boolean } = {}): string | undefined {
  if (typeof value !== 'string') return undefined;
  let number = value.trim();
  if (options.loose) number = number.replace(/[\s().-]/g, '');
  if (/^\s/.test(value) && /^[0-9]/.test(number)) number = `+${number}`;
  return E164.test(number) ? number : undefined;
}

export function asRecord(body: unknown): Record<string, unknown> {
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

/** A form field as a non-empty string; a repeated or empty field counts as missing. */
export function stringField(form: Record<string, unknown>, name: string): string | undefined {
  const value = form[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** `Thu, 01 Jan 2026 00:00:00 +0000`, the REST API's date format. */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** The path of a webhook URL, for logs (no query string, no credentials). */
export function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid url)';
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

/** Waits for the background deliveries still in flight, at most a delivery timeout and a second. */
export async function settleDeliveries(background: ReadonlySet<Promise<void>>): Promise<void> {
  if (background.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DELIVER_TIMEOUT_MS + 1000);
  });
  await Promise.race([Promise.allSettled([...background]), limit]);
  clearTimeout(timer);
}
