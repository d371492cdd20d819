import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../support/device-helpers.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { base32Decode, rfc6238 } from '../support/rfc6238.js';
import { eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url, { WEB_PUSH: 'false', SERVICE_NAME: 'Acme MFA' });
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

const STEP = 30_000;

describe('TOTP', () => {
  it('the independent implementation matches RFC 6238 appendix B (SHA1)', () => {
    const key = Buffer.from('12345678901234567890');
    expect(rfc6238(key, 59_000, 8)).toBe('94287082');
    expect(rfc6238(key, 1111111109_000, 8)).toBe('07081804');
    expect(rfc6238(key, 20000000000_000, 8)).toBe('65353130');
  });

  it('enrols with an otpauth URI, activates only on the first right code, and verifies through the API', async () => {
    await createUser(t, 'tina');
    expect(
      (await t.api('/api/v1/verifications', { body: { username: 'tina', method: 'totp' } })).body.error.code,
    ).toBe('no_totp');
    const enrolled = await t.api('/api/v1/users/tina/totp', { method: 'POST' });
    expect(enrolled.status).toBe(201);
    const uri = new URL(enrolled.body.uri);
    expect(`${uri.protocol}//${uri.host}${decodeURIComponent(uri.pathname)}`).toBe(
      'otpauth://totp/Acme MFA:tina',
    );
    expect(uri.searchParams.get('issuer')).toBe('Acme MFA');
    expect(uri.searchParams.get('algorithm')).toBe('SHA1');
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('period')).toBe('30');
    expect(uri.searchParams.get('secret')).toBe(enrolled.body.secret);
    const key = base32Decode(enrolled.body.secret);
    expect(key.length).toBe(20); // 160 bits

    // Not active yet: a wrong first code is refused and counted in the lockout.
    const code = () => rfc6238(key, t.clock.now());
    const wrong = String((Number(code()) + 1) % 1_000_000).padStart(6, '0');
    const refused = await t.api('/api/v1/users/tina/totp/confirm', { body: { code: wrong } });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'invalid_code']);
    expect((await t.api('/api/v1/users/tina')).body.failedAttempts).toBe(1);
    expect(
      (await t.api('/api/v1/verifications', { body: { username: 'tina', method: 'totp' } })).status,
    ).toBe(409);
    expect((await t.api('/api/v1/users/tina/totp/confirm', { body: { code: code() } })).body).toEqual({
      active: true,
    });

    // The confirming code's step is spent: a verification in the same step needs the next code.
    const first = await t.api('/api/v1/verifications', { body: { username: 'tina', method: 'totp' } });
    expect(first.body).toMatchObject({ status: 'pending', method: 'totp' });
    const replayed = await t.api(`/api/v1/verifications/${first.body.id}/check`, { body: { code: code() } });
    expect(replayed.body).toMatchObject({ status: 'pending', attemptsLeft: 2 });
    t.clock.advance(STEP);
    const approved = await t.api(`/api/v1/verifications/${first.body.id}/check`, { body: { code: code() } });
    expect(approved.body.status).toBe('approved');
  });

  it('accepts one step of drift either way, refuses two, and never the same step twice', async () => {
    const enrolled = await t.api('/api/v1/users/tina/totp', { method: 'POST' });
    const key = base32Decode(enrolled.body.secret);
    t.clock.advance(STEP);
    await t.api('/api/v1/users/tina/totp/confirm', { body: { code: rfc6238(key, t.clock.now()) } });
    const check = async (offsetSteps: number) => {
      const started = await t.api('/api/v1/verifications', { body: { username: 'tina', method: 'totp' } });
      const response = await t.api(`/api/v1/verifications/${started.body.id}/check`, {
        body: { code: rfc6238(key, t.clock.now() + offsetSteps * STEP) },
      });
      return response.body.status;
    };
    t.clock.advance(3 * STEP);
    expect(await check(-2)).toBe('pending'); // two steps slow: refused
    expect(await check(-1)).toBe('approved'); // one step slow
    expect(await check(-1)).toBe('pending'); // the same code again: a replay
    expect(await check(0)).toBe('approved');
    expect(await check(2)).toBe('pending'); // two steps fast: refused
    expect(await check(1)).toBe('approved'); // one step fast
    expect(await check(0)).toBe('pending'); // older than the last accepted step
  });

  it('fails a verification after 3 wrong codes, counted once in the lockout', async () => {
    const before = (await t.api('/api/v1/users/tina')).body.failedAttempts;
    const started = await t.api('/api/v1/verifications', { body: { username: 'tina', method: 'totp' } });
    for (const _ of [1, 2, 3])
      await t.api(`/api/v1/verifications/${started.body.id}/check`, { body: { code: '000000' } });
    const after = await t.api(`/api/v1/verifications/${started.body.id}`);
    expect([after.body.status, after.body.reason]).toEqual(['failed', 'too-many-attempts']);
    await eventually(async () =>
      (await t.api('/api/v1/users/tina')).body.failedAttempts === before + 1 ? true : undefined,
    );
    const closed = await t.api(`/api/v1/verifications/${started.body.id}/check`, {
      body: { code: '000000' },
    });
    expect([closed.status, closed.body.error.code]).toEqual([409, 'verification_closed']);
    expect(
      (await t.api(`/api/v1/verifications/${started.body.id}/check`, { body: { code: 'abc' } })).status,
    ).toBe(409);
  });

  it('keeps the secret encrypted at rest: a Redis dump does not reveal it', async () => {
    await createUser(t, 'dump');
    const enrolled = await t.api('/api/v1/users/dump/totp', { method: 'POST' });
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*totp*');
      expect(keys.length).toBeGreaterThan(0);
      let everything = '';
      for (const key of keys) everything += JSON.stringify(await client.hgetall(key));
      expect(everything).not.toContain(enrolled.body.secret);
      expect(everything).not.toContain(base32Decode(enrolled.body.secret).toString('base64url'));
      // A record moved onto another user does not decrypt for them.
      const [dumpKey] = keys.filter((k) => k.endsWith(':dump'));
      await createUser(t, 'thief');
      await client.hset(dumpKey!.replace(/dump$/, 'thief'), await client.hgetall(dumpKey!));
      const stolen = await t.api('/api/v1/users/thief/totp/confirm', {
        body: { code: rfc6238(base32Decode(enrolled.body.secret), t.clock.now()) },
      });
      expect(stolen.status).toBe(400);
    } finally {
      client.disconnect();
    }
  });
});
