import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { UserStore } from '../store/user-store.js';
import type { TotpService } from '../totp/totp-service.js';
import { errorResponses } from './api-schemas.js';

const params = z.object({ username: z.string().min(1).max(128) });
const confirmBody = z.strictObject({ code: z.string().trim().min(1).max(16) });
const enrollmentSchema = z
  .object({
    secret: z.string().describe('base32, for typing into an app'),
    uri: z.string().describe('otpauth://totp/... for a QR code'),
  })
  .meta({ id: 'TotpEnrollment' });
const tags = ['totp'];

/** TOTP enrolment by an operator: a pending secret, activated by the user's first right code. */
export function totpAdminRoutes(deps: { users: UserStore; totp: TotpService }): FastifyPluginAsync {
  const userOr404 = async (username: string) => {
    const user = await deps.users.get(username);
    if (!user) throw new AppError('user_not_found');
    return user;
  };
  return async (scope) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/api/v1/users/:username/totp',
      {
        schema: {
          tags,
          summary: 'Start a TOTP enrolment (a new pending secret)',
          params,
          response: { 201: enrollmentSchema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const user = await userOr404(request.params.username);
        return reply.code(201).send(await deps.totp.beginEnrollment(user.username));
      },
    );

    app.post(
      '/api/v1/users/:username/totp/confirm',
      {
        schema: {
          tags,
          summary: 'Activate the pending TOTP secret with its first right code (counted in the lockout)',
          params,
          body: confirmBody,
          response: { 200: z.object({ active: z.literal(true) }), ...errorResponses },
        },
      },
      async (request) => {
        const user = await userOr404(request.params.username);
        const verdict = await deps.totp.confirmEnrollment(user.username, request.body.code);
        if (verdict.ok) return { active: true as const };
        if (verdict.locked) throw new AppError('user_locked');
        throw new AppError('invalid_code', 'The code is not right (or there is no enrolment to confirm)');
      },
    );
  };
}
