import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url);
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

describe('users API', () => {
  it('creates, reads, updates, lists and deletes users; PINs go in and never come out', async () => {
    const created = await t.api('/api/v1/users', {
      body: {
        username: 'José Núñez',
        email: 'jose@example.com',
        language: 'es',
        phones: { mobile: '(202) 555-0190', primary: '+44 20 7946 0958', extension: '123' },
        pin: '4821',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      username: 'José Núñez',
      displayName: 'José Núñez',
      phones: { mobile: '+12025550190', primary: '+442079460958', extension: '123' },
      hasPin: true,
      pinMustChange: true,
      blocked: null,
      locked: false,
    });
    expect(JSON.stringify(created.body)).not.toMatch(/pinHash|scrypt|4821/);

    const read = await t.api(`/api/v1/users/${encodeURIComponent('josé núñez')}`);
    expect(read.body.username).toBe('José Núñez');

    const patched = await t.api(`/api/v1/users/${encodeURIComponent('José Núñez')}`, {
      method: 'PATCH',
      body: { phones: { mobile: '+12025550191' }, pin: null },
    });
    expect(patched.body).toMatchObject({
      hasPin: false,
      pinMustChange: false,
      phones: { mobile: '+12025550191', primary: '+442079460958' },
    });

    expect((await t.api('/api/v1/users')).body.users).toContain('josé núñez');
    expect(
      (await t.api(`/api/v1/users/${encodeURIComponent('José Núñez')}`, { method: 'DELETE' })).status,
    ).toBe(204);
    expect((await t.api(`/api/v1/users/${encodeURIComponent('José Núñez')}`)).status).toBe(404);
  });

  it('refuses duplicates, bad fields and toll-fraud numbers with 4xx and a coded error', async () => {
    await t.api('/api/v1/users', { body: { username: 'dup' } });
    expect(await t.api('/api/v1/users', { body: { username: 'DUP' } })).toMatchObject({
      status: 409,
      body: { error: { code: 'user_exists' } },
    });
    const bad = await t.api('/api/v1/users', { body: { username: 'x', pin: '12', method: 'fax', extra: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    expect(bad.body.error.message).toContain('pin: A PIN has 4 to 8 digits.');
    expect(bad.body.error.message).toContain('method: Invalid option');
    const premium = await t.api('/api/v1/users', {
      body: { username: 'p', phones: { mobile: '+19005551234' } },
    });
    expect(premium).toMatchObject({ status: 400, body: { error: { code: 'phone_not_allowed' } } });
    expect((await t.api('/api/v1/users/p')).status).toBe(404);
  });

  it('needs the bearer key', async () => {
    expect((await t.api('/api/v1/users', { key: 'wrong' })).status).toBe(401);
    const none = await fetch(`${t.baseUrl}/api/v1/users`);
    expect(none.status).toBe(401);
  });
});

describe('verifications API errors', () => {
  it('answers client mistakes with 4xx and {error: {code, message}}', async () => {
    expect(await t.api('/api/v1/verifications', { body: { username: 'nobody' } })).toMatchObject({
      status: 404,
      body: { error: { code: 'user_not_found' } },
    });
    await t.api('/api/v1/users', { body: { username: 'nophone' } });
    expect((await t.api('/api/v1/verifications', { body: { username: 'nophone' } })).body.error.code).toBe(
      'no_phone',
    );
    await t.api('/api/v1/users', { body: { username: 'pushy', phones: { primary: '+12025550192' } } });
    expect(
      await t.api('/api/v1/verifications', { body: { username: 'pushy', method: 'push' } }),
    ).toMatchObject({
      status: 409,
      body: { error: { code: 'no_device' } },
    });
    expect((await t.api('/api/v1/verifications/unknown-id')).status).toBe(404);
    expect((await t.api('/api/v1/verifications/bad%20id!')).status).toBe(400);
    expect((await t.api('/api/v1/verifications/x?wait=31')).status).toBe(400);
    expect((await t.api('/api/v1/verifications/unknown/check', { body: { code: '1' } })).status).toBe(404);
  });

  it('never answers a 5xx to arbitrary JSON (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue({ maxDepth: 3 }),
        fc.constantFrom('/api/v1/verifications', '/api/v1/users'),
        async (body, path) => {
          const response = await fetch(`${t.baseUrl}${path}`, {
            method: 'POST',
            headers: { authorization: 'Bearer test-api-key-0123456789', 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          expect(response.status).toBeLessThan(500);
        },
      ),
      { numRuns: 100 },
    );
    const broken = await fetch(`${t.baseUrl}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-api-key-0123456789', 'content-type': 'application/json' },
      body: '{"username":',
    });
    expect(broken.status).toBe(400);
  });
});

describe('health', () => {
  it('reports liveness and readiness', async () => {
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: {
        redis: { ok: true },
        workers: { ok: true },
        carrier: { ok: true, name: 'simulator' },
        voiceCarrier: { ok: true, name: 'simulator' },
      },
    });
  });

  it('is not ready while a Relay voice connection is down, and says why', async () => {
    const down = await startTestRuntime(
      redis.url,
      {},
      {
        voiceCarrier: {
          name: 'signalwire-relay',
          placeCall: async () => ({ sid: 'never' }),
          hangup: async () => {},
          readiness: () => ({ ok: false, detail: 'connect timed out after 10000ms' }),
        },
      },
    );
    try {
      const ready = await fetch(`${down.baseUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        status: 'not-ready',
        checks: {
          voiceCarrier: { ok: false, name: 'signalwire-relay', detail: 'connect timed out after 10000ms' },
        },
      });
    } finally {
      await down.stop();
    }
  });
});
