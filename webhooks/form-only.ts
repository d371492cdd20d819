import type { FastifyReply, FastifyRequest } from 'fastify';

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** Whether the request says its body is a form (`application/x-www-form-urlencoded`, any parameters). */
export const isFormRequest = (request: FastifyRequest) => FORM.test(request.headers['content-type'] ?? '');

/**
 * An onRequest hook for carrier webhooks: carriers post forms, and the signature covers form parameters, so any
 * other body (JSON, text, none) is refused with 415 before it is parsed or its signature checked.
 */
export async function formBodiesOnly(request: FastifyRequest, reply: FastifyReply) {
  if (isFormRequest(request)) return;
  return reply
    .code(415)
    .type('application/json')
    .send({
      error: { code: 'unsupported_media_type', message: 'Webhooks take application/x-www-form-urlencoded' },
    });
}
