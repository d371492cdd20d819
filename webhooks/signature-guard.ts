import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { type FormParams, isValidSignature } from '../src/security/webhook-signature.js';

/**
 * A preHandler that refuses (403) a webhook whose signature does not match. The URL signed is the public URL
 * the carrier called, which is not the one this process sees when it sits behind a proxy.
 */
export function signatureGuard(options: { signingKey: string; publicUrl: string; logger: Logger }) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers['x-signalwire-signature'] ?? request.headers['x-twilio-signature'];
    const signature = Array.isArray(header) ? header[0] : header;
    const url = `${options.publicUrl}${request.url}`;
    const params = (request.body && typeof request.body === 'object' ? request.body : {}) as FormParams;
    if (!isValidSignature(options.signingKey, url, params, signature)) {
      options.logger.warn(
        { path: request.routeOptions.url, hasSignature: Boolean(signature) },
        'webhook signature refused',
      );
      return sendError(reply, 'webhook_signature_invalid');
    }
  };
}
