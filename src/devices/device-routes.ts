import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deviceViewSchema, errorSchema, useZodSchemas } from '../api/api-schemas.js';
import type { StatusWaiter } from '../api/status-waiter.js';
import { AppError } from '../errors.js';
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
  wait: z.coerce.number().int().min(0).max(MAX_DEVICE_WAIT_SECONDS).default(0).describe('long-poll seconds'),
});
const idParams = z.object({ id });
const describeSchema = z
  .object({
    device: deviceViewSchema,
    username: z.string(),
    serviceName: z.string(),
    apiUrl: z.string(),
    webPush: z.object({ publicKey: z.string().describe('VAPID key for PushManager.subscribe') }).nullable(),
    serverTime: z.string(),
  })
  .meta({ id: 'DeviceDescription' });
const challengeSchema = z
  .object({
    id: z.string(),
    nonce: z.string(),
    service: z.string(),
    purpose: z.string(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    createdAt: z.string(),
    expiresAt: z.string(),
    pinRequired: z.boolean(),
    numberDigits: z.number().int(),
  })
  .meta({ id: 'Challenge' });
const answerSchema = z.object({ id: z.string(), status: z.string(), reason: z.string().optional() });
const deviceErrors = {
  400: errorSchema.describe('invalid input'),
  401: errorSchema.describe('unsigned, stale, replayed, wrong-key or unknown-device request'),
  403: errorSchema.describe('not this device’s challenge, or a refused activation'),
  404: errorSchema.describe('unknown challenge'),
  409: errorSchema.describe('closed challenge, too many devices'),
  423: errorSchema.describe('user locked'),
  429: errorSchema.describe('rate limited'),
} as const;
const tags = ['device API (signed by the device key; see the README)'];
const noContent = { 204: z.null().describe('done'), ...deviceErrors };

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

  return async (scope) => {
    useZodSchemas(scope);
    const app = scope.withTypeProvider<ZodTypeProvider>();
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
          done(new AppError('invalid_json'), undefined);
        }
      },
    );
    // The signature is checked before the body's schema, so an unsigned request learns nothing but 401.
    const devices = new WeakMap<object, Device>();
    app.addHook('preValidation', async (request) => {
      if (request.routeOptions.url?.startsWith(`${DEVICE_API_PREFIX}/activations/`)) return;
      devices.set(request, await signed.device(request));
    });
    const signedDevice = (request: object): Device => {
      const device = devices.get(request);
      if (!device) throw new Error('device route without a verified signature');
      return device;
    };
    app.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
    });

    app.post(
      `${DEVICE_API_PREFIX}/activations/:id`,
      {
        schema: {
          tags,
          summary: 'Activate: register a device key with the activation code (signed with that key)',
          params: idParams,
          body: activationBody,
          response: { 201: describeSchema, ...deviceErrors },
        },
      },
      async (request, reply) => {
        const params = request.params;
        const body = request.body;
        const publicKey = parseDevicePublicKey(body.publicKey);
        if (!publicKey) throw new AppError('invalid_public_key');
        await signed.activation(request, publicKey, params.id);
        const device = await deps.registry.activate(params.id, body.code, {
          name: body.name,
          platform: body.platform,
          publicKey,
        });
        return reply.code(201).send(describe(device));
      },
    );

    app.get(
      `${DEVICE_API_PREFIX}/device`,
      { schema: { tags, summary: 'This device', response: { 200: describeSchema, ...deviceErrors } } },
      async (request) => describe(signedDevice(request)),
    );

    app.delete(
      `${DEVICE_API_PREFIX}/device`,
      { schema: { tags, summary: 'Remove this device', response: noContent } },
      async (request, reply) => {
        const device = signedDevice(request);
        await deps.registry.remove(device.userId, device.id, 'device');
        return reply.code(204).send(null);
      },
    );

    // Long-poll: answers at once when a challenge waits, otherwise when one arrives or after `wait` seconds.
    app.get(
      `${DEVICE_API_PREFIX}/challenges`,
      {
        schema: {
          tags,
          summary: 'Pending challenges (long-poll with wait)',
          querystring: waitQuery,
          response: { 200: z.object({ challenges: z.array(challengeSchema) }), ...deviceErrors },
        },
      },
      async (request) => {
        const device = signedDevice(request);
        const { wait } = request.query;
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
      },
    );

    app.post(
      `${DEVICE_API_PREFIX}/challenges/:id/answer`,
      {
        schema: {
          tags,
          summary: 'Answer a challenge: approve (with the number, and the PIN), deny or fraud',
          params: idParams,
          body: answerBody,
          response: { 200: answerSchema, ...deviceErrors },
        },
      },
      async (request) => {
        const device = signedDevice(request);
        return deps.push.answer(device, request.params.id, request.body);
      },
    );

    app.put(
      `${DEVICE_API_PREFIX}/push-subscription`,
      {
        schema: {
          tags,
          summary: 'Register or refresh the Web Push subscription',
          body: subscriptionBody,
          response: noContent,
        },
      },
      async (request, reply) => {
        const device = signedDevice(request);
        const body = request.body;
        if (!deps.webPush) throw new AppError('web_push_disabled');
        if (!endpointAllowed(body.endpoint, deps.webPush.policy))
          throw new AppError('push_endpoint_not_allowed');
        await deps.devices.setPushSubscription(device.id, {
          endpoint: body.endpoint,
          keys: body.keys,
          updatedAt: deps.clock.now(),
        });
        return reply.code(204).send(null);
      },
    );

    app.delete(
      `${DEVICE_API_PREFIX}/push-subscription`,
      { schema: { tags, summary: 'Drop the Web Push subscription', response: noContent } },
      async (request, reply) => {
        const device = signedDevice(request);
        await deps.devices.setPushSubscription(device.id, null);
        return reply.code(204).send(null);
      },
    );
  };
}
