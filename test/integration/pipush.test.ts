/**
 * The privacyIDEA Authenticator protocol end to end: a client written from the protocol (test/support/pipush-
 * client.ts) enrols through the real server, polls, answers, and is refused where the protocol says it must be.
 * RSA-4096 keys are slow to make: two app keys for the whole file, and two tokens (two server keys).
 */
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activateDevice, createUser } from '../support/device-helpers.js';
import {
  type AppKeys,
  type Challenge,
  newAppKeys,
  PipushApp,
  parseEnrolmentUri,
  signAsApp,
} from '../support/pipush-client.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;
let keysA: AppKeys;
let keysB: AppKeys;
/** Ann's token (her user has a PIN, which this app cannot carry) and Bo's, another user's token. */
let ann: PipushApp;
let bo: PipushApp;
/** Cy has both apps. */
let cy: PipushApp;

const now = () => t.clock.now();

async function enrol(username: string) {
  const created = await t.api(`/api/v1/users/${username}/activations`, { body: { kind: 'pipush' } });
  expect(created.status).toBe(201);
  return created.body as { kind: string; serial: string; uri: string; link: string; expiresAt: string };
}

async function startPush(username: string) {
  const started = await t.api('/api/v1/verifications', { body: { username, method: 'push' } });
  expect(started.status).toBe(201);
  return started.body as { id: string; number: string };
}

async function challengeFor(app: PipushApp): Promise<Challenge> {
  t.clock.advance(1);
  const polled = await app.poll();
  expect(polled.status).toBe(200);
  expect(polled.body.result.value).toHaveLength(1);
  return polled.body.result.value[0];
}

const statusOf = async (id: string) => (await t.api(`/api/v1/verifications/${id}`)).body;
const wrongOption = (challenge: Challenge, number: string) =>
  challenge.require_presence!.split(',').find((o) => o !== number)!;

/** The flow's audit trail once its `last` event is written and no effect job is left to run. */
async function auditOfFlow(flowId: string, last: string) {
  const ofFlow = async () =>
    (await t.runtime.audit.recent(500)).filter(
      (e) => (e.data as { flowId?: string } | undefined)?.flowId === flowId,
    );
  await eventually(async () => {
    const counts = await t.runtime.effectsQueue.getJobCounts('waiting', 'active');
    const settled = counts.waiting === 0 && counts.active === 0;
    return settled && (await ofFlow()).some((e) => e.event === last) ? true : undefined;
  });
  return (await ofFlow()).map((e) => ({ event: e.event, userId: e.userId, data: e.data }));
}

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url, { WEB_PUSH: 'false' });
  [keysA, keysB] = await Promise.all([newAppKeys(), newAppKeys()]);
  await createUser(t, 'ann');
  await createUser(t, 'bo', null);
}, 120_000);
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

describe('enrolment', () => {
  it('hands out the otpauth://pipush URI, then rollout step 2 registers the token and returns the server key', async () => {
    const created = await enrol('ann');
    expect(created.link).toBe(created.uri);
    const uri = parseEnrolmentUri(created.uri);
    expect(uri).toMatchObject({
      label: 'Dialtone:ann',
      url: `${t.baseUrl}/ttype/push`,
      ttl: '10',
      issuer: 'Dialtone',
      serial: created.serial,
      sslverify: '1',
      v: '1',
      pollOnly: 'True',
    });
    expect(uri.credential).toMatch(/^[0-9a-f]{40}$/);
    ann = new PipushApp(uri, keysA, now);

    // A wrong credential is refused, counted in the lockout, and does not burn the enrolment.
    const wrong = await ann.rollout(keysA.spki, '0'.repeat(40));
    expect([wrong.status, wrong.body.result]).toEqual([
      403,
      { status: false, error: { code: 403, message: expect.any(String) } },
    ]);
    expect((await t.runtime.users.standing('ann')).failures).toBe(1);

    const rolled = await ann.rollout();
    expect(rolled.status).toBe(200);
    expect(rolled.body.result).toEqual({ status: true, value: true });
    const serverKey = createPublicKey({
      key: Buffer.from(rolled.body.detail.public_key, 'base64'),
      format: 'der',
      type: 'pkcs1',
    });
    expect(serverKey.asymmetricKeyDetails?.modulusLength).toBe(4096);
    // The right credential reset the failures.
    expect((await t.runtime.users.standing('ann')).failures).toBe(0);

    const devices = (await t.api('/api/v1/users/ann/devices')).body.devices;
    expect(devices).toEqual([
      expect.objectContaining({ id: created.serial, kind: 'pipush', name: 'privacyIDEA Authenticator' }),
    ]);
    expect(JSON.stringify(devices)).not.toMatch(/sealed|Pkcs1|der/i);
    const added = (await t.runtime.audit.recent(20)).find(
      (e) => e.event === 'device.added' && e.userId === 'ann',
    );
    expect(added?.data).toMatchObject({ deviceId: created.serial, kind: 'pipush' });

    // The app repeats the request when the answer was lost: the same key gets the same server key, and
    // nothing changes. Single use otherwise: the same credential with another key is refused.
    const retried = await ann.rollout();
    expect([retried.status, retried.body.detail.public_key]).toEqual([200, rolled.body.detail.public_key]);
    const other = await ann.rollout(keysB.spki);
    expect([other.status, other.body.result.status]).toEqual([403, false]);
    expect(await t.runtime.mobile.devices.count('ann')).toBe(1);
  });

  it('accepts the key in URL-safe base64, and with spaces where a form encoder lost the +', async () => {
    const uri = parseEnrolmentUri((await enrol('bo')).uri);
    bo = new PipushApp(uri, keysB, now);
    const mangled = keysB.spki.replace(/\+/g, ' ').replace(/\//g, '_').replace(/=+$/, '');
    expect(mangled).not.toBe(keysB.spki);
    const rolled = await bo.rollout(mangled);
    expect([rolled.status, rolled.body.result]).toEqual([200, { status: true, value: true }]);
    // The key stored is the app's key: a poll signed with it verifies.
    t.clock.advance(1);
    expect((await bo.poll()).body.result).toEqual({ status: true, value: [] });
  });

  it('refuses a key that is not an RSA public key, and bad fields, with the envelope and no change', async () => {
    const uri = parseEnrolmentUri((await enrol('bo')).uri);
    const app = new PipushApp(uri, keysB, now);
    const notAKey = await app.rollout(Buffer.from('not a key').toString('base64'));
    expect([notAKey.status, notAKey.body.result.status, notAKey.body.detail.error_code]).toEqual([
      400,
      false,
      'invalid_public_key',
    ]);
    const missing = await fetch(uri.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'serial=x',
    });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { result: { status: boolean } }).result.status).toBe(false);
    const json = await fetch(uri.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    expect(await t.runtime.mobile.devices.count('bo')).toBe(1);
  });
});

describe('push challenges', () => {
  it('polls a signed challenge with presence options, and approves with the option shown on the screen', async () => {
    t.clock.advance(1);
    expect((await ann.poll()).body.result.value).toEqual([]);
    const push = await startPush('ann');
    const challenge = await challengeFor(ann);
    expect(challenge).toMatchObject({
      serial: ann.serial,
      url: `${t.baseUrl}/ttype/push`,
      sslverify: '1',
      version: '2',
      title: 'Dialtone sign-in',
    });
    expect(challenge.nonce).toMatch(/^[A-Z2-7]{32}$/);
    expect(ann.verifies(challenge)).toBe(true);
    expect(ann.verifies({ ...challenge, question: `${challenge.question}!` })).toBe(false);
    expect(ann.capabilitiesOf(challenge)).toEqual({ decline_reason: true });
    expect(ann.capabilitiesOf({ ...challenge, nonce: 'A'.repeat(32) })).toBeNull();
    const options = challenge.require_presence!.split(',');
    expect(options).toHaveLength(3);
    expect(new Set(options).size).toBe(3);
    expect(options).toContain(push.number);
    // A later poll shows the same challenge, options in the same order.
    expect((await challengeFor(ann)).require_presence).toBe(challenge.require_presence);

    const answered = await ann.answer(challenge, { option: push.number });
    expect([answered.status, answered.body.result]).toEqual([200, { status: true, value: true }]);
    expect(await statusOf(push.id)).toMatchObject({ status: 'approved' });
    t.clock.advance(1);
    expect((await ann.poll()).body.result.value).toEqual([]);

    // A replayed answer is refused and changes nothing.
    const replayed = await ann.answer(challenge, { option: push.number });
    expect([replayed.status, replayed.body.result.status, replayed.body.detail.error_code]).toEqual([
      409,
      false,
      'challenge_closed',
    ]);
    expect(await statusOf(push.id)).toMatchObject({ status: 'approved' });
  });

  it('a decline is denied, and does not count towards the lockout', async () => {
    // An app that sends no reason, and "Was this request triggered by you?" "Yes, but discard it".
    for (const reason of [undefined, 'cancelled'] as const) {
      const push = await startPush('ann');
      const challenge = await challengeFor(ann);
      const declined = await ann.answer(challenge, { decline: true, ...(reason ? { reason } : {}) });
      expect([declined.status, declined.body.result]).toEqual([200, { status: true, value: true }]);
      expect(await statusOf(push.id)).toMatchObject({ status: 'denied', reason: 'denied-by-user' });
    }
    expect((await t.runtime.users.standing('ann')).failures).toBe(0);
  });

  it('a wrong option fails the push and counts as a failed verification', async () => {
    const push = await startPush('ann');
    const challenge = await challengeFor(ann);
    const wrong = await ann.answer(challenge, { option: wrongOption(challenge, push.number) });
    expect([wrong.status, wrong.body.result]).toEqual([200, { status: true, value: false }]);
    expect(await statusOf(push.id)).toMatchObject({ status: 'failed', reason: 'wrong-answer' });
    await eventually(async () => ((await t.runtime.users.standing('ann')).failures === 1 ? true : undefined));
    // The right option after that is too late: one try per push.
    const late = await ann.answer(challenge, { option: push.number });
    expect(late.status).toBe(409);
    expect(await statusOf(push.id)).toMatchObject({ status: 'failed' });
  });

  it('refuses a stale or future timestamp, a replayed poll, a tampered signature and another token’s key', async () => {
    const push = await startPush('ann');
    const stale = await ann.poll({ at: now() - 61_000 });
    expect([stale.status, stale.body.detail.error_code]).toEqual([401, 'stale_request']);
    const future = await ann.poll({ at: now() + 61_000 });
    expect([future.status, future.body.detail.error_code]).toEqual([401, 'stale_request']);

    t.clock.advance(1);
    const timestamp = new Date(now()).toISOString();
    const good = signAsApp(keysA.privateKey, `${ann.serial}|${timestamp}`);
    const flipped = `${good[0] === 'A' ? 'B' : 'A'}${good.slice(1)}`;
    const tampered = await ann.poll({ signature: flipped });
    expect([tampered.status, tampered.body.detail.error_code]).toEqual([401, 'bad_signature']);
    const foreign = await ann.poll({ signWith: keysB.privateKey });
    expect([foreign.status, foreign.body.detail.error_code]).toEqual([401, 'bad_signature']);
    // The app writes Dart's toIso8601String(): microseconds.
    const dart = `${new Date(now()).toISOString().slice(0, -1)}417Z`;
    expect((await ann.poll({ timestamp: dart })).status).toBe(200);
    const first = await ann.poll({ signature: good });
    expect(first.status).toBe(200);
    const replayedPoll = await ann.poll({ signature: good });
    expect([replayedPoll.status, replayedPoll.body.detail.error_code]).toEqual([401, 'replayed_request']);

    const challenge = first.body.result.value[0] as Challenge;
    // An answer whose option was changed after signing, or signed by another token's key, is refused.
    const changed = await ann.answer(
      challenge,
      { option: wrongOption(challenge, push.number) },
      { tamper: (fields) => (fields.presence_answer = push.number) },
    );
    expect([changed.status, changed.body.detail.error_code]).toEqual([401, 'bad_signature']);
    const otherKey = await ann.answer(challenge, { option: push.number }, { signWith: keysB.privateKey });
    expect([otherKey.status, otherKey.body.detail.error_code]).toEqual([401, 'bad_signature']);
    // Another user's token, signing correctly with its own key, cannot answer Ann's challenge.
    const otherToken = await bo.answer(challenge, { option: push.number });
    expect([otherToken.status, otherToken.body.detail.error_code]).toEqual([409, 'challenge_closed']);
    // None of it counted or changed anything: the right answer still approves.
    expect(await statusOf(push.id)).toMatchObject({ status: 'pending' });
    const approved = await ann.answer(challenge, { option: push.number });
    expect(approved.body.result).toEqual({ status: true, value: true });
  });
});

describe('one engine for both apps', () => {
  it('an approval from this app has the same audit trail as one from the product’s own app', async () => {
    await createUser(t, 'cy');
    cy = new PipushApp(parseEnrolmentUri((await enrol('cy')).uri), keysA, now);
    const app = cy;
    expect((await app.rollout()).status).toBe(200);
    const own = await activateDevice(t, 'cy', 'Cy phone');

    const viaPipush = await startPush('cy');
    const challenge = await challengeFor(app);
    await app.answer(challenge, { option: viaPipush.number });
    expect(await statusOf(viaPipush.id)).toMatchObject({ status: 'approved' });

    const viaOwn = await startPush('cy');
    const [ownChallenge] = await own.challenges();
    await own.answer(ownChallenge!, 'approve', { number: viaOwn.number, pin: '4821' });
    expect(await statusOf(viaOwn.id)).toMatchObject({ status: 'approved' });

    const trail = async (flowId: string, deviceId: string) =>
      (await auditOfFlow(flowId, 'push.approved')).map((e) => ({
        ...e,
        data: {
          ...(e.data as object),
          flowId: 'F',
          deviceId: (e.data as { deviceId: string }).deviceId === deviceId ? 'D' : 'other',
        },
      }));
    const pipushTrail = await trail(viaPipush.id, app.serial);
    expect(pipushTrail.map((e) => e.event)).toContain('push.approved');
    expect(pipushTrail).toEqual(await trail(viaOwn.id, own.credentials.deviceId));
  });
});

describe('fraud', () => {
  it('"Was this request triggered by you?" "No, decline it" reports fraud: the user is blocked and it is audited', async () => {
    const app = cy;
    const push = await startPush('cy');
    const challenge = await challengeFor(app);
    const reported = await app.answer(challenge, { decline: true, reason: 'unknown_trigger' });
    expect([reported.status, reported.body.result]).toEqual([200, { status: true, value: true }]);
    expect(await statusOf(push.id)).toMatchObject({ status: 'fraud', reason: 'reported-by-user' });
    await eventually(async () => ((await t.api('/api/v1/users/cy')).body.blocked ? true : undefined));
    expect((await auditOfFlow(push.id, 'fraud.reported')).map((e) => e.event)).toContain('fraud.reported');
    const again = await t.api('/api/v1/verifications', { body: { username: 'cy', method: 'push' } });
    expect(again.status).toBe(403);
  });
});

describe('removal', () => {
  it('an operator removes a token by its serial: audited, and its polls are refused', async () => {
    const removed = await t.api(`/api/v1/users/bo/devices/${bo.serial}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    const audit = await t.runtime.audit.recent(20);
    expect(audit.find((e) => e.event === 'device.removed' && e.userId === 'bo')?.data).toMatchObject({
      deviceId: bo.serial,
    });
    t.clock.advance(1);
    const polled = await bo.poll();
    expect([polled.status, polled.body.detail.error_code]).toEqual([401, 'unknown_device']);
  });
});

describe('a policy that requires the product’s own app', () => {
  it('PIPUSH_ENABLED=false: no enrolment, no endpoint, and existing tokens are not asked', async () => {
    const strict = await startTestRuntime(redis.url, {
      WEB_PUSH: 'false',
      PIPUSH_ENABLED: 'false',
      REDIS_PREFIX: 'strict',
    });
    try {
      await createUser(strict, 'dee');
      // A token enrolled while the policy still allowed it.
      await strict.runtime.mobile.devices.register(
        {
          userId: 'dee',
          kind: 'pipush',
          name: 'privacyIDEA Authenticator',
          platform: 'other',
          publicKey: { type: 'rsa-spki', der: keysA.spki },
          createdAt: strict.clock.now(),
          serverKey: { publicPkcs1: 'unused', sealedPrivate: 'unused' },
        },
        5,
        'PIPU00000000000000DE',
      );
      const push = await strict.api('/api/v1/verifications', { body: { username: 'dee', method: 'push' } });
      expect([push.status, push.body.error.code]).toEqual([409, 'no_device']);
      const enrol = await strict.api('/api/v1/users/dee/activations', { body: { kind: 'pipush' } });
      expect([enrol.status, enrol.body.error.code]).toEqual([409, 'pipush_disabled']);
      expect((await fetch(`${strict.baseUrl}/ttype/push?serial=PIPU00000000000000DE`)).status).toBe(404);
      // The product's own app still works for the same user.
      await activateDevice(strict, 'dee');
      const own = await strict.api('/api/v1/verifications', { body: { username: 'dee', method: 'push' } });
      expect(own.status).toBe(201);
      const flow = await strict.runtime.engine.get(own.body.id);
      expect((flow.snapshot as { context: { deviceIds: string[] } }).context.deviceIds).not.toContain(
        'PIPU00000000000000DE',
      );
    } finally {
      await strict.stop();
    }
  });
});
