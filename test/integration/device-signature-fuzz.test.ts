import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeviceClient, sendRaw, signRequest } from '../../scripts/authenticator-client.js';
import { activateDevice, createUser, startPush } from '../support/device-helpers.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;
let victim: DeviceClient;
let attacker: DeviceClient;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url, { WEB_PUSH: 'false', PUSH_LIMIT: '20' });
  await createUser(t, 'victim');
  await createUser(t, 'attacker');
  victim = await activateDevice(t, 'victim', 'victim phone');
  attacker = await activateDevice(t, 'attacker', 'attacker phone');
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

type Request = { url: string; method: string; headers: Record<string, string>; body: string };

/** Ways to break a valid signed request; each must be refused with 4xx and change nothing. */
const tamper = (valid: Request, other: Request) =>
  fc.oneof(
    fc
      .record({
        field: fc.constantFrom('decision', 'number', 'pin', 'nonce'),
        value: fc.string({ maxLength: 8 }),
      })
      .map(({ field, value }) => ({
        ...valid,
        body: JSON.stringify({ ...JSON.parse(valid.body), [field]: value }),
      })),
    fc.constant({ ...valid, body: `${valid.body} ` }),
    fc.constant({ ...valid, url: `${valid.url}?x=1` }),
    fc.constant({ ...valid, method: 'PUT' }),
    fc
      .constantFrom('dialtone-timestamp', 'dialtone-nonce', 'dialtone-signature', 'dialtone-device')
      .map((name) => {
        const headers = { ...valid.headers };
        delete headers[name];
        return { ...valid, headers };
      }),
    fc
      .integer({ min: -5, max: 5 })
      .filter((n) => n !== 0)
      .map((n) => ({
        ...valid,
        headers: {
          ...valid.headers,
          'dialtone-timestamp': String(Number(valid.headers['dialtone-timestamp']) + n),
        },
      })),
    fc.string({ minLength: 16, maxLength: 40, unit: fc.constantFrom(...'abcdefXYZ0123_-') }).map((nonce) => ({
      ...valid,
      headers: { ...valid.headers, 'dialtone-nonce': nonce },
    })),
    fc.nat({ max: 63 }).map((i) => {
      const sig = Buffer.from(valid.headers['dialtone-signature']!, 'base64url');
      sig[i] = sig[i]! ^ 0x01;
      return { ...valid, headers: { ...valid.headers, 'dialtone-signature': sig.toString('base64url') } };
    }),
    fc.base64String({ minLength: 4, maxLength: 100 }).map((sig) => ({
      ...valid,
      headers: { ...valid.headers, 'dialtone-signature': sig },
    })),
    // Another device's signature (over its own request) stitched onto this one.
    fc.constant({
      ...valid,
      headers: { ...valid.headers, 'dialtone-signature': other.headers['dialtone-signature']! },
    }),
    // This device's request under another device's id.
    fc.constant({
      ...valid,
      headers: { ...valid.headers, 'dialtone-device': other.headers['dialtone-device']! },
    }),
  );

describe('signed device requests under attack', () => {
  it('a tampered, stale, foreign or wrong-key answer is refused and changes nothing; the valid one works once', async () => {
    const { flow, number } = await startPush(t, 'victim');
    const [challenge] = await victim.challenges();
    const url = `${victim.credentials.apiUrl}/challenges/${flow.id}/answer`;
    const answer = {
      challengeId: flow.id,
      nonce: challenge!.nonce,
      decision: 'approve',
      number,
      pin: '4821',
    };
    const now = t.clock.now();
    const valid = {
      url,
      method: 'POST',
      ...signRequest(url, 'POST', answer, victim.credentials, { now: () => now }),
    };
    const other = {
      url,
      method: 'POST',
      ...signRequest(url, 'POST', answer, attacker.credentials, { now: () => now }),
    };
    const before = await t.runtime.engine.get(flow.id);

    await fc.assert(
      fc.asyncProperty(tamper(valid, other), async (request) => {
        const response = await sendRaw(request.url, request.method, request.headers, request.body);
        expect([400, 401, 403, 404]).toContain(response.status);
        expect((await t.runtime.engine.get(flow.id)).version).toBe(before.version);
      }),
      { numRuns: 150 },
    );

    // Signed correctly, but by the attacker's key for the victim's device, or by the attacker's device itself.
    const wrongKey = signRequest(url, 'POST', answer, victim.credentials, {
      now: () => now,
      signWith: attacker.credentials.privateJwk,
    });
    expect((await sendRaw(url, 'POST', wrongKey.headers, wrongKey.body)).status).toBe(401);
    const foreign = signRequest(url, 'POST', answer, attacker.credentials, { now: () => now });
    expect((await sendRaw(url, 'POST', foreign.headers, foreign.body)).status).toBe(403);
    for (const skew of [-61_000, 61_000, 3_600_000]) {
      const stale = signRequest(url, 'POST', answer, victim.credentials, { timestamp: now + skew });
      const response = await sendRaw(url, 'POST', stale.headers, stale.body);
      expect([response.status, response.body.error.code]).toEqual([401, 'stale_request']);
    }
    expect((await t.runtime.engine.get(flow.id)).version).toBe(before.version);

    // The untouched request is accepted once; its replay is refused.
    const accepted = await sendRaw(url, 'POST', valid.headers, valid.body);
    expect([accepted.status, accepted.body.status]).toEqual([200, 'approved']);
    const replay = await sendRaw(url, 'POST', valid.headers, valid.body);
    expect([replay.status, replay.body.error.code]).toEqual([401, 'replayed_request']);
  });

  it('a replayed read and a replayed subscription change are refused', async () => {
    const read = await victim.request('GET', '/device');
    expect(read.status).toBe(200);
    const again = await sendRaw(`${victim.credentials.apiUrl}/device`, 'GET', read.sent.headers, '');
    expect([again.status, again.body.error.code]).toEqual([401, 'replayed_request']);
  });

  it('unsigned requests to every device route get 401', async () => {
    const { apiUrl } = victim.credentials;
    for (const [method, path] of [
      ['GET', '/device'],
      ['DELETE', '/device'],
      ['GET', '/challenges?wait=1'],
      ['POST', '/challenges/abcdefgh/answer'],
      ['PUT', '/push-subscription'],
      ['DELETE', '/push-subscription'],
    ] as const) {
      const response = await sendRaw(
        `${apiUrl}${path}`,
        method,
        { 'content-type': 'application/json' },
        method === 'GET' || method === 'DELETE' ? '' : '{}',
      );
      expect([path, response.status]).toEqual([path, 401]);
    }
    expect(await t.runtime.mobile.devices.count('victim')).toBe(1);
  });
});
