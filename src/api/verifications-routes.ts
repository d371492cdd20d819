import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { METHODS } from '../users/user.js';
import type { VerificationService } from '../verification/verification-service.js';
import { parseOr400 } from './parse.js';
import type { StatusWaiter } from './status-waiter.js';

const MAX_WAIT_SECONDS = 30;
const startSchema = z.strictObject({
  username: z.string().trim().min(1).max(128),
  method: z.enum(METHODS).optional(),
});
const idParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a verification id') });
const waitQuery = z.object({ wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).default(0) });
const checkSchema = z.strictObject({ code: z.string().trim().min(1).max(32) });

export function verificationsRoutes(deps: {
  verifications: VerificationService;
  waiter: StatusWaiter;
}): FastifyPluginAsync {
  const { verifications, waiter } = deps;
  return async (app) => {
    app.post('/api/v1/verifications', async (request, reply) => {
      const body = parseOr400(startSchema, request.body);
      const view = await verifications.start({
        username: body.username,
        ...(body.method ? { method: body.method } : {}),
      });
      return reply.code(201).send(view);
    });

    // Long-poll: answers at once when the verdict is in, otherwise when it arrives or after `wait` seconds.
    app.get('/api/v1/verifications/:id', async (request) => {
      const { id } = parseOr400(idParams, request.params);
      const { wait } = parseOr400(waitQuery, request.query);
      if (wait === 0) return verifications.get(id);
      const watch = await waiter.watch(id, wait * 1000);
      try {
        const view = await verifications.get(id);
        if (view.status !== 'pending') return view;
        await watch.changed;
        return verifications.get(id);
      } finally {
        watch.cancel();
      }
    });

    app.post('/api/v1/verifications/:id/check', async (request) => {
      const { id } = parseOr400(idParams, request.params);
      const { code } = parseOr400(checkSchema, request.body);
      return verifications.check(id, code);
    });

    app.post('/api/v1/verifications/:id/resend', async (request) => {
      const { id } = parseOr400(idParams, request.params);
      return verifications.resend(id);
    });

    app.post('/api/v1/verifications/:id/cancel', async (request) => {
      const { id } = parseOr400(idParams, request.params);
      return verifications.cancel(id);
    });
  };
}
