import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { METHODS } from '../users/user.js';
import type { VerificationService } from '../verification/verification-service.js';
import { errorResponses, verificationViewSchema } from './api-schemas.js';
import type { StatusWaiter } from './status-waiter.js';

const MAX_WAIT_SECONDS = 30;
const startSchema = z.strictObject({
  username: z.string().trim().min(1).max(128),
  method: z.enum(METHODS).optional().describe("the user's own method when omitted"),
  client: z
    .strictObject({
      ip: z.union([z.ipv4(), z.ipv6()]).optional(),
      userAgent: z.string().max(400).optional(),
    })
    .optional()
    .describe('who is signing in (shown by the mobile app with a push): address and browser'),
});
const idParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a verification id') });
const waitQuery = z.object({
  wait: z.coerce
    .number()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .default(0)
    .describe('seconds to wait for a verdict (long-poll)'),
});
const checkSchema = z.strictObject({
  code: z.string().trim().min(1).max(32).describe('the code, followed by the PIN when the user has one'),
});
const tags = ['verifications'];
const answers = { 200: verificationViewSchema, ...errorResponses };

export function verificationsRoutes(deps: {
  verifications: VerificationService;
  waiter: StatusWaiter;
}): FastifyPluginAsync {
  const { verifications, waiter } = deps;
  return async (scope) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/api/v1/verifications',
      {
        schema: {
          tags,
          summary: 'Start a verification (a text, a call, a push or a TOTP check)',
          body: startSchema,
          response: { 201: verificationViewSchema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { username, method, client } = request.body;
        const view = await verifications.start({
          username,
          ...(method ? { method } : {}),
          ...(client ? { client } : {}),
        });
        return reply.code(201).send(view);
      },
    );

    // Long-poll: answers at once when the verdict is in, otherwise when it arrives or after `wait` seconds.
    app.get(
      '/api/v1/verifications/:id',
      {
        schema: {
          tags,
          summary: 'Read a verification, optionally waiting for its verdict',
          params: idParams,
          querystring: waitQuery,
          response: answers,
        },
      },
      async (request) => {
        const { id } = request.params;
        const { wait } = request.query;
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
      },
    );

    app.post(
      '/api/v1/verifications/:id/check',
      {
        schema: {
          tags,
          summary: 'Check a code typed on a screen (texts only)',
          params: idParams,
          body: checkSchema,
          response: answers,
        },
      },
      async (request) => verifications.check(request.params.id, request.body.code),
    );

    app.post(
      '/api/v1/verifications/:id/resend',
      { schema: { tags, summary: 'Send a new code (texts only)', params: idParams, response: answers } },
      async (request) => verifications.resend(request.params.id),
    );

    app.post(
      '/api/v1/verifications/:id/cancel',
      { schema: { tags, summary: 'Cancel a pending verification', params: idParams, response: answers } },
      async (request) => verifications.cancel(request.params.id),
    );
  };
}
