/**
 * The general per-address request limit for the portal and the API (@fastify/rate-limit, counters in Redis so
 * every engine process shares them). It runs as the first root `onRequest` hook, so a client over the limit gets
 * 429 before any session is loaded, any key is checked or any work is done. Carrier webhooks (signed, and a
 * carrier posts from a few addresses), the privacyIDEA Authenticator's endpoint (signed or credential-checked, and
 * every phone polls it every 3 s: thirty phones behind one office NAT would pass 600 a minute), health checks and
 * the development tools are not limited.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';

export interface RequestLimit {
  /** Requests per address per window; 0 turns the limit off. */
  max: number;
  windowSeconds: number;
  redis: Redis;
  /** Redis key prefix (hash-tagged with the engine's keys). */
  nameSpace: string;
}

const UNLIMITED = [/^\/webhooks\//, /^\/ttype\/push$/, /^\/healthz$/, /^\/readyz$/, /^\/dev\//];

export async function registerRequestLimit(app: FastifyInstance, limit: RequestLimit): Promise<void> {
  if (limit.max === 0) return;
  await app.register(rateLimit, {
    // Not per route: route-level hooks run after the scopes' own (the portal's session load, the API key
    // check). One root hook, added below, runs before every other.
    global: false,
    max: limit.max,
    timeWindow: limit.windowSeconds * 1000,
    redis: limit.redis,
    nameSpace: limit.nameSpace,
    // A Redis failure is an outage (503 from the error handler), not a free pass.
    skipOnError: false,
    allowList: (request: FastifyRequest) => {
      const path = request.url.split('?')[0] ?? '';
      return UNLIMITED.some((pattern) => pattern.test(path));
    },
    errorResponseBuilder: (_request, context) =>
      new AppError('rate_limited', `Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`),
  });
  app.addHook('onRequest', app.rateLimit());
}
