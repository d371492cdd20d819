/**
 * A device's end: removing one (through the API or by the device itself) is audited and mailed to the user;
 * deleting a user removes her devices, her live activation and her TOTP secret, so a later user created with the
 * same name inherits none of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activate } from '../../scripts/authenticator-client.js';
import { activateDevice, newActivation } from '../support/device-helpers.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { totpCode } from '../support/rfc6238.js';
import { effectsSettled, eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;

beforeAll(async () => {
  redis = await startRedisServer({ appendOnly: false });
  t = await startTestRuntime(redis.url, { WEB_PUSH: 'false' });
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

async function createUser(username: string) {
  const created = await t.api('/api/v1/users', {
    body: { username, email: `${username}@example.com`, phones: { mobile: '+12025550147' }, pin: '4821' },
  });
  expect(created.status).toBe(201);
}
const mailsTo = async (username: string) =>
  (await t.runtime.devMailbox!.list(100)).filter((m) => m.to === `${username}@example.com`);
const removals = async (username: string) =>
  (await t.runtime.audit.recent(1000)).filter((e) => e.userId === username && e.event === 'device.removed');

describe('removing a device', () => {
  it('through the API: audited, and the user is mailed a notice', async () => {
    await createUser('rita');
    const device = await activateDevice(t, 'rita', 'Rita phone');
    const removed = await t.api(`/api/v1/users/rita/devices/${device.credentials.deviceId}`, {
      method: 'DELETE',
    });
    expect(removed.status).toBe(204);
    expect(await removals('rita')).toMatchObject([
      { data: { deviceId: device.credentials.deviceId, by: 'api' } },
    ]);
    const mail = await eventually(async () => (await mailsTo('rita'))[0], 10_000, 'the removal notice');
    expect(mail.subject).toMatch(/sign-in settings changed/i);
    expect(mail.text).toContain('an authenticator device was removed from your account');
    expect((await device.request('GET', '/device')).status).toBe(401);
  });

  it('by the device itself: audited and mailed too; a second removal changes nothing', async () => {
    await createUser('sam');
    const device = await activateDevice(t, 'sam');
    expect((await device.request('DELETE', '/device')).status).toBe(204);
    expect(await removals('sam')).toMatchObject([{ data: { by: 'device' } }]);
    await eventually(async () => (await mailsTo('sam'))[0], 10_000, 'the removal notice');
    const again = await t.api(`/api/v1/users/sam/devices/${device.credentials.deviceId}`, {
      method: 'DELETE',
    });
    expect(again.status).toBe(404);
    await effectsSettled(t);
    expect(await mailsTo('sam')).toHaveLength(1);
  });
});

describe('deleting a user', () => {
  it('removes her devices, live activation and TOTP secret: a namesake created later inherits nothing', async () => {
    await createUser('vic');
    const device = await activateDevice(t, 'vic', 'Old phone');
    const pending = await newActivation(t, 'vic');
    const enrolled = await t.api('/api/v1/users/vic/totp', { method: 'POST' });
    const secret = enrolled.body.secret as string;
    const confirmed = await t.api('/api/v1/users/vic/totp/confirm', {
      body: { code: totpCode(secret, t.clock.now()) },
    });
    expect(confirmed.body).toEqual({ active: true });

    expect((await t.api('/api/v1/users/vic', { method: 'DELETE' })).status).toBe(204);
    expect((await device.request('GET', '/device')).status).toBe(401);
    expect(await removals('vic')).toMatchObject([{ data: { by: 'user-deleted' } }]);

    await createUser('vic');
    const push = await t.api('/api/v1/verifications', { body: { username: 'vic', method: 'push' } });
    expect(push).toMatchObject({ status: 409, body: { error: { code: 'no_device' } } });
    const totp = await t.api('/api/v1/verifications', { body: { username: 'vic', method: 'totp' } });
    expect(totp).toMatchObject({ status: 409, body: { error: { code: 'no_totp' } } });
    const now = () => t.clock.now();
    await expect(
      activate(pending.url, pending.code, { name: 'Thief', platform: 'cli' }, now),
    ).rejects.toThrow(/403 activation_refused/);
    expect((await t.api('/api/v1/users/vic/devices')).body.devices).toEqual([]);
  });
});
