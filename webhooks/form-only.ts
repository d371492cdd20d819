import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../src/errors.js';

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** Whether the request says its body is a form (`application/x-www-form-urlencoded`, any parameters). */
export const isFormRequest = (request: FastifyRequest) => FORM.test(request.headers['content-type'] ?? '');

/**
 * An onRequest hook for carrier webhooks: carriers post forms, and the signature covers form parameters, so any
 * other body (JSON, text, none) is refused with 415 before it is parsed or its signature checked.
 */
export async function formBodiesOnly(request: FastifyRequest, reply: FastifyReply) {
  if (isFormRequest(request)) return;
  return sendError(reply, 'unsupported_media_type', 'Webhooks take application/x-www-form-urlencoded');
}

/** A signed form that lacks a field the webhook needs, or has one malformed: 400, nothing changes. */
export function badWebhookForm(reply: FastifyReply) {
  return sendError(reply, 'bad_request', 'Missing or malformed webhook fields');
}
