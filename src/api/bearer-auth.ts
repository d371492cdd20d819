import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../errors.js';
import { safeEqual } from '../security/secrets.js';

/** Checks `Authorization: Bearer <key>` in constant time. */
export function bearerAuth(apiKey: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer ([^\s]+)$/.exec(header);
    if (!match?.[1] || !safeEqual(match[1], apiKey)) {
      return sendError(reply.header('www-authenticate', 'Bearer'), 'unauthorized');
    }
  };
}
