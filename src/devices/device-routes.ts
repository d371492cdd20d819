import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { parseOr400 } from '../api/parse.js';
import type { StatusWaiter } from '../api/status-waiter.js';
import { badRequest } from '../errors.js';
import type { PushVerifications } from '../verification/push-verifications.js';
import { DEVICE_PLATFORMS, type Device, publicDevice } from './device.js';
import type { DeviceRegistry } from './device-registry.js';
import { parseDevicePublicKey } from './device-signature.js';
import { type DeviceStore, userKeyOf } from './device-store.js';
import { keepRawBody, type SignedRequests } from './signed-request.js';
import { endpointAllowed, type PushEndpointPolicy } from './web-push-notifier.js';

export const DEVICE_API_PREFIX = '/device/v1';
const DEVICE_BODY_LIMIT = 16 * 1024;
export const MAX_DEVICE_WAIT_SECONDS = 30;

const id = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'not an id');
const deviceName = z
  .string()
  .trim()
  .min(1)
  .max(60)
  .regex(/^[^\p{Cc}]+$/u, 'no control characters');
const activationBody = z.strictObject({
  code: z.string().max(32),
  name: deviceName,
  platform: z.enum(DEVICE_PLATFORMS),
  publicKey: z.record(z.string(), z.unknown()),
});
const answerBody = z.strictObject({
  challengeId: id,
  nonce: z.string().max(64),
  decision: z.enum(['approve', 'deny', 'fraud']),
  number: z.string().max(10).optional(),
  pin: z.string().max(32).optional(),
});
const b64url = z.string().regex(/^[A-Za-z0-9_-]+={0,2}$/);
const subscriptionBody = z.object({
  endpoint: z.string().url().max(1024),
  keys: z.object({ p256dh: b64url.min(80).max(100), auth: b64url.min(16).max(32) }),
  expirationTime: z.number().nullable().optional(),
});
const waitQuery = z.strictObject({
  wait: z.coerce.number().int().min(0).max(MAX_DEVICE_WAIT_SECONDS).default(0),
});

export interface DeviceApiDeps {
  publicUrl: string;
  serviceName: string;
  signed: SignedRequests;
  devices: DeviceStore;
  registry: DeviceRegistry;
  push: PushVerifications;
  wakeWaiter: StatusWaiter;
  webPush: { publicKey: string; policy: PushEndpointPolicy } | null;
  clock: { now(): number };
}

/**
 * The device API (README "Device API"): activation, then only requests signed by the device's key. Handlers are
 * thin: verify the signature, parse, call the use case, answer.
 */
export function deviceRoutes(deps: DeviceApiDeps): FastifyPluginAsync {
  const { signed } = deps;
  const apiUrl = `${deps.publicUrl}${DEVICE_API_PREFIX}`;
  const describe = (device: Device) => ({
    device: publicDevice(device),
    username: device.userId,
    serviceName: deps.serviceName,
    apiUrl,
    webPush: deps.webPush ? { publicKey: deps.webPush.publicKey } : null,
    serverTime: new Date(deps.clock.now()).toISOString(),
  });

  return async (app) => {
    // The signature covers the body's bytes: keep them as received (this scope only, with a small limit).
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: DEVICE_BODY_LIMIT },
      (request, body, done) => {
        keepRawBody(request, body as string);
        try {
          done(null, body === '' ? {} : JSON.parse(body as string));
        } catch {
          done(badRequest('invalid_json', 'The request body is not valid JSON'), undefined);
        }
      },
    );
    app.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
    });

    app.post(`${DEVICE_API_PREFIX}/activations/:id`, async (request, reply) => {
      const params = parseOr400(z.object({ id }), request.params);
      const body = parseOr400(activationBody, request.body);
      const publicKey = parseDevicePublicKey(body.publicKey);
      if (!publicKey) throw badRequest('invalid_public_key', 'publicKey: an EC P-256 public key in JWK form');
      await signed.activation(request, publicKey, params.id);
      const device = await deps.registry.activate(params.id, body.code, {
        name: body.name,
        platform: body.platform,
        publicKey,
      });
      return reply.code(201).send(describe(device));
    });

    app.get(`${DEVICE_API_PREFIX}/device`, async (request) => describe(await signed.device(request)));

    app.delete(`${DEVICE_API_PREFIX}/device`, async (request, reply) => {
      const device = await signed.device(request);
      await deps.registry.remove(device.userId, device.id, 'device');
      return reply.code(204).send();
    });

    // Long-poll: answers at once when a challenge waits, otherwise when one arrives or after `wait` seconds.
    app.get(`${DEVICE_API_PREFIX}/challenges`, async (request) => {
      const device = await signed.device(request);
      const { wait } = parseOr400(waitQuery, request.query);
      if (wait === 0) return { challenges: await deps.push.pendingFor(device) };
      const watch = await deps.wakeWaiter.watch(userKeyOf(device.userId), wait * 1000);
      request.raw.once('close', watch.cancel);
      try {
        const now = await deps.push.pendingFor(device);
        if (now.length > 0) return { challenges: now };
        await watch.changed;
        return { challenges: await deps.push.pendingFor(device) };
      } finally {
        watch.cancel();
      }
    });

    app.post(`${DEVICE_API_PREFIX}/challenges/:id/answer`, async (request) => {
      const device = await signed.device(request);
      const params = parseOr400(z.object({ id }), request.params);
      const body = parseOr400(answerBody, request.body);
      return deps.push.answer(device, params.id, body);
    });

    app.put(`${DEVICE_API_PREFIX}/push-subscription`, async (request, reply) => {
      const device = await signed.device(request);
      const body = parseOr400(subscriptionBody, request.body);
      if (!deps.webPush) throw badRequest('web_push_disabled', 'Web Push is turned off on this server');
      if (!endpointAllowed(body.endpoint, deps.webPush.policy))
        throw badRequest('push_endpoint_not_allowed', 'endpoint: not a push service this server posts to');
      await deps.devices.setPushSubscription(device.id, {
        endpoint: body.endpoint,
        keys: body.keys,
        updatedAt: deps.clock.now(),
      });
      return reply.code(204).send();
    });

    app.delete(`${DEVICE_API_PREFIX}/push-subscription`, async (request, reply) => {
      const device = await signed.device(request);
      await deps.devices.setPushSubscription(device.id, null);
      return reply.code(204).send();
    });
  };
}
