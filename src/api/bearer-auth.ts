import type { FastifyReply, FastifyRequest } from 'fastify';
import { safeEqual } from '../security/secrets.js';

/** Checks `Authorization: Bearer <key>` in constant time. */
export function bearerAuth(apiKey: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer ([^\s]+)$/.exec(header);
    if (!match?.[1] || !safeEqual(match[1], apiKey)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: { code: 'unauthorized', message: 'A valid API key is required' } });
    }
  };
}
