import { createPublicKey, verify } from 'node:crypto';
import { decrypt } from 'http_ece';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activateDevice, createUser, startPush } from '../support/device-helpers.js';
import { startPushService } from '../support/push-service.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;
let service: Awaited<ReturnType<typeof startPushService>>;

beforeAll(async () => {
  redis = await startRedisServer();
  service = await startPushService();
  t = await startTestRuntime(redis.url, { WEB_PUSH: 'true', VAPID_SUBJECT: 'mailto:ops@example.com' });
});
afterAll(async () => {
  await t?.stop();
  await service?.stop();
  await redis?.stop();
});

/** Checks the VAPID JWT (RFC 8292) the way a push service does: ES256 over header.payload with key k. */
function checkVapid(authorization: string, audience: string): { sub: string; k: string } {
  const match = /^vapid t=([^,]+), k=([A-Za-z0-9_-]+)$/.exec(authorization);
  expect(match).not.toBeNull();
  const [, jwt, k] = match!;
  const [header, payload, signature] = jwt!.split('.');
  const raw = Buffer.from(k!, 'base64url');
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: raw.subarray(1, 33).toString('base64url'),
      y: raw.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
  const ok = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature!, 'base64url'),
  );
  expect(ok).toBe(true);
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
  expect(claims.aud).toBe(audience);
  expect(claims.exp * 1000).toBeGreaterThan(Date.now());
  return { sub: claims.sub, k: k! };
}

describe('Web Push notifier', () => {
  it('reaches the subscription endpoint encrypted (RFC 8291) and VAPID-signed; the device decrypts it', async () => {
    await createUser(t, 'pusha');
    const device = await activateDevice(t, 'pusha');
    const sub = service.subscription('pusha');
    expect((await device.request('PUT', '/push-subscription', sub.json)).status).toBe(204);
    const me = await device.request('GET', '/device');
    expect(me.body.device.webPush).toBe(true);

    const { flow, number } = await startPush(t, 'pusha');
    const push = await eventually(async () => service.received.find((r) => r.path === '/push/pusha'));
    expect(push.headers['content-encoding']).toBe('aes128gcm');
    expect(Number(push.headers.ttl)).toBeGreaterThan(0);
    expect(Number(push.headers.ttl)).toBeLessThanOrEqual(60);
    expect(push.headers.urgency).toBe('high');
    const vapid = checkVapid(String(push.headers.authorization), service.origin);
    expect(vapid).toEqual({ sub: 'mailto:ops@example.com', k: me.body.webPush.publicKey });

    const message = JSON.parse(
      decrypt(push.body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: sub.auth }).toString(),
    );
    expect(message).toEqual({
      type: 'challenge',
      id: flow.id,
      title: 'Sign-in request',
      body: expect.stringContaining('approve'),
    });
    // The number is never sent to the device, not even encrypted.
    expect(JSON.stringify(message)).not.toContain(number);
  });

  it('deletes a subscription the push service says is gone (410, 404)', async () => {
    for (const status of [410, 404]) {
      const name = `gone${status}`;
      await createUser(t, name);
      const device = await activateDevice(t, name);
      const sub = service.subscription(name);
      await device.request('PUT', '/push-subscription', sub.json);
      service.answerWith(name, status);
      await startPush(t, name);
      await eventually(async () => service.received.find((r) => r.path === `/push/${name}`));
      await eventually(async () =>
        (await device.request('GET', '/device')).body.device.webPush === false ? true : undefined,
      );
      // Long-poll still works without it.
      expect((await device.challenges()).length).toBe(1);
    }
  });

  it('refuses endpoints that are not push services (no SSRF through a subscription)', async () => {
    await createUser(t, 'ssrf');
    const device = await activateDevice(t, 'ssrf');
    const sub = service.subscription('ssrf');
    for (const endpoint of [
      'https://intranet.example.com/admin',
      'http://10.0.0.1/x',
      'file:///etc/passwd',
      'https://user:pw@fcm.googleapis.com/x',
    ]) {
      const response = await device.request('PUT', '/push-subscription', { ...sub.json, endpoint });
      expect([endpoint, response.status]).toEqual([endpoint, 400]);
    }
    expect((await device.request('GET', '/device')).body.device.webPush).toBe(false);
  });

  it('keeps the generated VAPID keys in DATA_DIR', async () => {
    const { readFile } = await import('node:fs/promises');
    const stored = JSON.parse(await readFile(`${t.runtime.config.dataDir}/vapid-keys.json`, 'utf8'));
    expect(stored.publicKey).toBe(t.runtime.mobile.vapidPublicKey);
  });
});
