import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { activationDetails } from '../devices/activation-link.js';
import { publicDevice } from '../devices/device.js';
import type { MobileApp } from '../devices/mobile-app.js';
import { notFound } from '../errors.js';
import type { UserStore } from '../store/user-store.js';
import { parseOr400 } from './parse.js';

const params = z.object({ username: z.string().min(1).max(128) });
const deviceParams = params.extend({
  deviceId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'not a device id'),
});

/** An operator's view of a user's authenticator devices: activate one (code + URL), list, remove. */
export function deviceAdminRoutes(deps: {
  users: UserStore;
  mobile: MobileApp;
  publicUrl: string;
}): FastifyPluginAsync {
  const userOr404 = async (username: string) => {
    const user = await deps.users.get(username);
    if (!user) throw notFound('user_not_found', 'No such user');
    return user;
  };
  return async (app) => {
    app.post('/api/v1/users/:username/activations', async (request, reply) => {
      const user = await userOr404(parseOr400(params, request.params).username);
      const ticket = await deps.mobile.activations.create(user.username);
      return reply.code(201).send(activationDetails(deps.publicUrl, ticket));
    });

    app.get('/api/v1/users/:username/devices', async (request) => {
      const user = await userOr404(parseOr400(params, request.params).username);
      return { devices: (await deps.mobile.devices.list(user.username)).map(publicDevice) };
    });

    app.delete('/api/v1/users/:username/devices/:deviceId', async (request, reply) => {
      const { username, deviceId } = parseOr400(deviceParams, request.params);
      const user = await userOr404(username);
      if (!(await deps.mobile.registry.remove(user.username, deviceId, 'api')))
        throw notFound('device_not_found', 'No such device');
      return reply.code(204).send();
    });
  };
}
