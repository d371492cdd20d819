import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { activationDetails } from '../devices/activation-link.js';
import { publicDevice } from '../devices/device.js';
import type { MobileApp } from '../devices/mobile-app.js';
import { AppError } from '../errors.js';
import type { UserStore } from '../store/user-store.js';
import { deviceViewSchema, errorResponses } from './api-schemas.js';

const params = z.object({ username: z.string().min(1).max(128) });
const deviceParams = params.extend({
  deviceId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'not a device id'),
});
const activationBody = z
  .object({
    kind: z
      .enum(['dialtone-app', 'pipush'])
      .default('dialtone-app')
      .describe('the product’s own app, or the privacyIDEA Authenticator (pipush)'),
  })
  .nullish();
const activationSchema = z
  .object({
    kind: z.literal('dialtone-app'),
    activationUrl: z.string().describe('type it into the app, with the code'),
    code: z.string().describe('12 digits, shown once'),
    link: z.string().describe('the content of the QR code: opens /app with URL and code'),
    expiresAt: z.string(),
  })
  .meta({ id: 'Activation' });
const pipushEnrolmentSchema = z
  .object({
    kind: z.literal('pipush'),
    serial: z.string().describe('the token serial (also its device id)'),
    uri: z.string().describe('otpauth://pipush/... with the single-use enrollment credential, shown once'),
    link: z.string().describe('the content of the QR code (the same URI)'),
    expiresAt: z.string(),
  })
  .meta({ id: 'PipushEnrolment' });
const tags = ['devices'];

/** An operator's view of a user's authenticator devices: activate one (code + URL), list, remove. */
export function deviceAdminRoutes(deps: {
  users: UserStore;
  mobile: MobileApp;
  publicUrl: string;
}): FastifyPluginAsync {
  const userOr404 = async (username: string) => {
    const user = await deps.users.get(username);
    if (!user) throw new AppError('user_not_found');
    return user;
  };
  return async (scope) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/api/v1/users/:username/activations',
      {
        schema: {
          tags,
          summary: 'Create a single-use activation for a new device (replaces the previous one)',
          params,
          body: activationBody,
          response: { 201: z.union([activationSchema, pipushEnrolmentSchema]), ...errorResponses },
        },
      },
      async (request, reply) => {
        const user = await userOr404(request.params.username);
        if (request.body?.kind === 'pipush') {
          const { pipush } = deps.mobile;
          if (!pipush)
            throw new AppError(
              'pipush_disabled',
              'The privacyIDEA Authenticator is turned off on this server',
            );
          const enrolment = await pipush.createEnrolment(user.username);
          return reply.code(201).send({ kind: 'pipush' as const, ...enrolment, link: enrolment.uri });
        }
        const ticket = await deps.mobile.activations.create(user.username);
        return reply
          .code(201)
          .send({ kind: 'dialtone-app' as const, ...activationDetails(deps.publicUrl, ticket) });
      },
    );

    app.get(
      '/api/v1/users/:username/devices',
      {
        schema: {
          tags,
          summary: "List a user's devices",
          params,
          response: { 200: z.object({ devices: z.array(deviceViewSchema) }), ...errorResponses },
        },
      },
      async (request) => {
        const user = await userOr404(request.params.username);
        return { devices: (await deps.mobile.devices.list(user.username)).map(publicDevice) };
      },
    );

    app.delete(
      '/api/v1/users/:username/devices/:deviceId',
      {
        schema: {
          tags,
          summary: 'Remove a device (audited)',
          params: deviceParams,
          response: { 204: z.null().describe('removed'), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { username, deviceId } = request.params;
        const user = await userOr404(username);
        if (!(await deps.mobile.registry.remove(user.username, deviceId, 'api')))
          throw new AppError('device_not_found');
        return reply.code(204).send(null);
      },
    );
  };
}
