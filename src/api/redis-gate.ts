import type { FastifyRequest } from 'fastify';
import { RedisUnavailableError } from '../redis/redis-availability.js';
import { OPENAPI_PATH } from './openapi.js';

/** Routes that need no Redis, or report on it themselves. */
const WITHOUT_REDIS = new Set(['/healthz', '/readyz', OPENAPI_PATH]);

/**
 * An onRequest hook: while the Redis connection is down, refuse at once with 503 `unavailable` (JSON for the
 * API, the portal's page for the portal: each scope's error handler renders it) instead of queueing work.
 */
export function redisGate(available: () => boolean) {
  return async (request: FastifyRequest) => {
    if (available()) return;
    if (WITHOUT_REDIS.has(request.url.split('?')[0] ?? '')) return;
    throw new RedisUnavailableError();
  };
}
