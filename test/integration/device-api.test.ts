import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activate,
  DeviceClient,
  newDeviceKeys,
  parseActivationLink,
  signedFetch,
} from '../../scripts/authenticator-client.js';
import { activateDevice, createUser, newActivation, startPush } from '../support/device-helpers.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url, { MAX_DEVICES: '2', WEB_PUSH: 'false' });
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

const now = () => t.clock.now();

describe('device activation', () => {
  it('activates once with the right code, proves the key, and is audited', async () => {
    await createUser(t, 'ada');
    const { url, code } = await newActivation(t, 'ada');
    const credentials = await activate(
      url,
      code.replace(/(\d{4})/g, '$1 '),
      { name: 'Ada phone', platform: 'ios' },
      now,
    );
    expect(credentials).toMatchObject({ username: 'ada', apiUrl: `${t.baseUrl}/device/v1` });
    const me = await new DeviceClient(credentials, now).request('GET', '/device');
    expect(me.status).toBe(200);
    expect(me.body.device).toMatchObject({ name: 'Ada phone', platform: 'ios', webPush: false });
    expect(me.body.device.lastUsedAt).not.toBeNull();
    // Single use.
    await expect(activate(url, code, { name: 'again', platform: 'ios' }, now)).rejects.toThrow(
      /403 activation_refused/,
    );
    const audit = await t.runtime.audit.recent(10);
    expect(audit.find((e) => e.event === 'device.added')).toMatchObject({ userId: 'ada' });
  });

  it('refuses an activation signed by another key than the one it registers', async () => {
    await createUser(t, 'pop');
    const { url, code } = await newActivation(t, 'pop');
    const registered = newDeviceKeys();
    const other = newDeviceKeys();
    const response = await signedFetch(
      url,
      'POST',
      { code, name: 'x', platform: 'cli', publicKey: registered.publicJwk },
      { deviceId: '', privateJwk: other.privateJwk },
      { now },
    );
    expect([response.status, response.body.error.code]).toEqual([401, 'bad_signature']);
    expect(await t.runtime.mobile.devices.count('pop')).toBe(0);
    // A private key offered as the public key is refused, never stored.
    const leaked = await signedFetch(
      url,
      'POST',
      { code, name: 'x', platform: 'cli', publicKey: registered.privateJwk },
      { deviceId: '', privateJwk: registered.privateJwk },
      { now },
    );
    expect([leaked.status, leaked.body.error.code]).toEqual([400, 'invalid_public_key']);
    // The code still works for the real device.
    await expect(activate(url, code, { name: 'ok', platform: 'cli' }, now)).resolves.toMatchObject({
      username: 'pop',
    });
  });

  it('burns an activation after 5 wrong codes, and counts each in the user lockout', async () => {
    await createUser(t, 'guess');
    const { url, code } = await newActivation(t, 'guess');
    const wrong = code === '000000000000' ? '000000000001' : '000000000000';
    for (let i = 0; i < 5; i += 1) {
      await expect(activate(url, wrong, { name: 'x', platform: 'cli' }, now)).rejects.toThrow(
        /403 activation_refused/,
      );
    }
    await expect(activate(url, code, { name: 'x', platform: 'cli' }, now)).rejects.toThrow(
      /403 activation_refused/,
    );
    expect((await t.runtime.users.standing('guess')).failures).toBe(5);
    expect(await t.runtime.mobile.devices.count('guess')).toBe(0);
  });

  it('expires after 10 minutes, and a new code replaces the old one', async () => {
    await createUser(t, 'late');
    const first = await newActivation(t, 'late');
    const second = await newActivation(t, 'late');
    await expect(activate(first.url, first.code, { name: 'x', platform: 'cli' }, now)).rejects.toThrow(/403/);
    t.clock.advance(10 * 60_000); // forward only: the tests after this one start from the new time
    await expect(activate(second.url, second.code, { name: 'x', platform: 'cli' }, now)).rejects.toThrow(
      /403/,
    );
  });

  it('allows at most MAX_DEVICES devices, without burning the activation', async () => {
    await createUser(t, 'many');
    await activateDevice(t, 'many', 'one');
    await activateDevice(t, 'many', 'two');
    const { url, code } = await newActivation(t, 'many');
    await expect(activate(url, code, { name: 'three', platform: 'cli' }, now)).rejects.toThrow(
      /409 too_many_devices/,
    );
    const one = (await t.runtime.mobile.devices.list('many')).find((d) => d.name === 'one');
    expect(await t.runtime.mobile.registry.remove('many', one!.id, 'portal')).toBe(true);
    await expect(activate(url, code, { name: 'three', platform: 'cli' }, now)).resolves.toMatchObject({
      username: 'many',
    });
    expect((await t.runtime.mobile.devices.list('many')).map((d) => d.name).sort()).toEqual(['three', 'two']);
  });
});

describe('operator device API', () => {
  it('creates an activation whose QR link carries URL and code, lists and removes devices', async () => {
    await createUser(t, 'op');
    const { link, url, code } = await newActivation(t, 'op');
    expect(link.startsWith(`${t.baseUrl}/app/#`)).toBe(true);
    expect(parseActivationLink(link)).toEqual({ url, code });
    await activate(url, code, { name: 'Op phone', platform: 'android' }, now);
    const listed = await t.api('/api/v1/users/op/devices');
    expect(listed.body.devices).toEqual([expect.objectContaining({ name: 'Op phone', platform: 'android' })]);
    expect(JSON.stringify(listed.body)).not.toMatch(/jwk|"x"|endpoint/);
    const id = listed.body.devices[0].id;
    expect((await t.api(`/api/v1/users/op/devices/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await t.api(`/api/v1/users/op/devices/${id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await t.api('/api/v1/users/nobody/activations', { method: 'POST' })).status).toBe(404);
    expect(
      (await t.api('/api/v1/users/op/activations', { method: 'POST', key: 'wrong-key-0123456789' })).status,
    ).toBe(401);
  });
});

describe('push challenges over the device API', () => {
  it('long-polls: a waiting device gets the challenge when it is created, without the number', async () => {
    await createUser(t, 'poll');
    const device = await activateDevice(t, 'poll');
    t.clock.advance(1000);
    const waiting = device.challenges(20);
    // The server has the signed poll in hand (it stamps the device's last use) before the push starts.
    const polledAt = t.clock.now();
    await eventually(async () => {
      const [d] = await t.runtime.mobile.devices.list('poll');
      return d?.lastUsedAt === polledAt ? true : undefined;
    });
    const started = Date.now();
    const { flow, number } = await startPush(t, 'poll');
    const challenges = await waiting;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(challenges).toEqual([
      expect.objectContaining({
        id: flow.id,
        pinRequired: true,
        numberDigits: 3,
        ip: '192.0.2.7',
        purpose: 'api',
      }),
    ]);
    expect(JSON.stringify(challenges)).not.toContain(`"${number}"`);
    expect(number).toMatch(/^\d{3}$/);
    await eventually(
      async () =>
        ((await t.runtime.engine.get(flow.id)).snapshot as { context: { deliveredTo: string[] } }).context
          .deliveredTo.length === 1 || undefined,
    );
  });

  it('approves with the right number and PIN; the verdict is approved and audited', async () => {
    await createUser(t, 'yes');
    const device = await activateDevice(t, 'yes');
    const { flow, number } = await startPush(t, 'yes');
    const [challenge] = await device.challenges();
    const answered = await device.answer(challenge!, 'approve', { number, pin: '4821' });
    expect(answered.body).toEqual({ id: flow.id, status: 'approved' });
    expect((await t.api(`/api/v1/verifications/${flow.id}`)).body.status).toBe('approved');
    // Answering again changes nothing.
    const again = await device.answer(challenge!, 'approve', { number, pin: '4821' });
    expect([again.status, again.body.error.code]).toEqual([409, 'challenge_closed']);
    await eventually(async () =>
      (await t.runtime.audit.recent(50)).find((e) => e.event === 'push.approved' && e.userId === 'yes'),
    );
    expect(await device.challenges()).toEqual([]);
  });

  it('a wrong number fails the challenge with one generic reason; a wrong PIN too', async () => {
    await createUser(t, 'wrong');
    const device = await activateDevice(t, 'wrong');
    const first = await startPush(t, 'wrong');
    const [c1] = await device.challenges();
    const typo = String((Number(first.number) + 1) % 1000).padStart(3, '0');
    expect((await device.answer(c1!, 'approve', { number: typo, pin: '4821' })).body).toEqual({
      id: first.flow.id,
      status: 'failed',
      reason: 'wrong-answer',
    });
    const second = await startPush(t, 'wrong');
    const [c2] = await device.challenges();
    expect((await device.answer(c2!, 'approve', { number: second.number, pin: '0000' })).body.reason).toBe(
      'wrong-answer',
    );
    await eventually(async () =>
      (await t.runtime.users.standing('wrong')).failures === 2 ? true : undefined,
    );
  });

  it('deny ends it; fraud blocks the user', async () => {
    await createUser(t, 'mallory-target');
    const device = await activateDevice(t, 'mallory-target');
    await startPush(t, 'mallory-target');
    const [c1] = await device.challenges();
    expect((await device.answer(c1!, 'deny')).body.status).toBe('denied');
    await startPush(t, 'mallory-target');
    const [c2] = await device.challenges();
    expect((await device.answer(c2!, 'fraud')).body.status).toBe('fraud');
    await eventually(async () =>
      (await t.api('/api/v1/users/mallory-target')).body.blocked ? true : undefined,
    );
  });

  it('one open push per user: a new one supersedes the old', async () => {
    await createUser(t, 'twice');
    const device = await activateDevice(t, 'twice');
    const first = await startPush(t, 'twice');
    const second = await startPush(t, 'twice');
    const old = await t.api(`/api/v1/verifications/${first.flow.id}`);
    expect([old.body.status, old.body.reason]).toEqual(['canceled', 'superseded']);
    expect((await device.challenges()).map((c) => c.id)).toEqual([second.flow.id]);
  });

  it('refuses a device of another user, and a device added after the push started', async () => {
    await createUser(t, 'owner');
    await createUser(t, 'intruder');
    const owner = await activateDevice(t, 'owner');
    const intruder = await activateDevice(t, 'intruder');
    const { flow } = await startPush(t, 'owner');
    const [challenge] = await owner.challenges();
    expect(await intruder.challenges()).toEqual([]);
    const foreign = await intruder.answer(challenge!, 'fraud');
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'forbidden']);
    const newcomer = await activateDevice(t, 'owner', 'newcomer');
    expect(await newcomer.challenges()).toEqual([]);
    expect((await newcomer.answer(challenge!, 'deny')).status).toBe(403);
    expect((await t.api(`/api/v1/verifications/${flow.id}`)).body.status).toBe('pending');
  });

  it('at most 5 pushes per 15 minutes, then 429', async () => {
    await createUser(t, 'flood');
    await activateDevice(t, 'flood');
    for (let i = 0; i < 5; i += 1) await startPush(t, 'flood');
    await expect(startPush(t, 'flood')).rejects.toMatchObject({ statusCode: 429, code: 'rate_limited' });
  });

  it('a removed device is refused at once', async () => {
    await createUser(t, 'gone');
    const device = await activateDevice(t, 'gone');
    expect((await device.request('DELETE', '/device')).status).toBe(204);
    const after = await device.request('GET', '/device');
    expect([after.status, after.body.error.code]).toEqual([401, 'unknown_device']);
    const audit = await t.runtime.audit.recent(20);
    expect(audit.find((e) => e.event === 'device.removed' && e.userId === 'gone')).toBeTruthy();
  });
});
