import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AppError, notFound } from '../errors.js';
import type { UserStore } from '../store/user-store.js';
import type { TotpService } from '../totp/totp-service.js';
import { parseOr400 } from './parse.js';

const params = z.object({ username: z.string().min(1).max(128) });
const confirmBody = z.strictObject({ code: z.string().trim().min(1).max(16) });

/** TOTP enrolment by an operator: a pending secret, activated by the user's first right code. */
export function totpAdminRoutes(deps: { users: UserStore; totp: TotpService }): FastifyPluginAsync {
  const userOr404 = async (username: string) => {
    const user = await deps.users.get(username);
    if (!user) throw notFound('user_not_found', 'No such user');
    return user;
  };
  return async (app) => {
    app.post('/api/v1/users/:username/totp', async (request, reply) => {
      const user = await userOr404(parseOr400(params, request.params).username);
      return reply.code(201).send(await deps.totp.beginEnrollment(user.username));
    });

    app.post('/api/v1/users/:username/totp/confirm', async (request) => {
      const user = await userOr404(parseOr400(params, request.params).username);
      const { code } = parseOr400(confirmBody, request.body);
      const verdict = await deps.totp.confirmEnrollment(user.username, code);
      if (verdict.ok) return { active: true };
      if (verdict.locked) throw new AppError(423, 'user_locked', 'Too many failed attempts; try again later');
      throw new AppError(400, 'invalid_code', 'The code is not right (or there is no enrolment to confirm)');
    });
  };
}
