/**
 * PINs at rest and the PIN policy through the product: what a Redis dump holds, old hashes still verifying (and
 * replaced by peppered ones when used), and the API refusing PINs the policy refuses. Real redis-server, the
 * real server with the simulator carrier, default PIN lengths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { codeIn, createUser, replyFrom, waitForStatus, waitForTexts } from '../support/sms-helpers.js';
import { startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

/** Written by the code before the pepper (commit 5549377, `hashSecret('4821')`). */
const OLD_HASH_OF_4821 =
  'scrypt$16384$8$1$_sA0mQDTYK81emO83lwE-g$ABMxLsUSguDA2FnzKSXCKFmjxSaLCWE5HK5S7zJYXSY';

let redis: RedisServerHandle;
let t: TestRuntime;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url, { PIN_MIN_LENGTH: '6' });
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

/** Everything Redis holds about a user, as a dump would show it. */
async function dumpOf(username: string): Promise<string> {
  const keys = await t.runtime.redis.keys(`*user:${username}*`);
  const values = await Promise.all(
    keys.map(async (key) =>
      (await t.runtime.redis.type(key)) === 'hash'
        ? JSON.stringify(await t.runtime.redis.hgetall(key))
        : ((await t.runtime.redis.get(key)) ?? ''),
    ),
  );
  return values.join('\n');
}

describe('PINs at rest', () => {
  it('are stored peppered (v2), never in clear', async () => {
    await createUser(t, { username: 'rest', phones: { mobile: '+12025550161' }, pin: '482193' });
    const dump = await dumpOf('rest');
    expect(dump).toMatch(/"pinHash":"v2\$scrypt\$2048\$8\$1\$/);
    expect(dump).not.toContain('482193');
  });

  it('verify a hash written before the pepper, and replace it by a peppered one at that right answer', async () => {
    const mobile = '+12025550162';
    await createUser(t, { username: 'legacy', phones: { mobile }, pin: '739164', pinMustChange: false });
    await t.runtime.users.update('legacy', (u) => ({ ...u, pinHash: OLD_HASH_OF_4821 }));

    const { body } = await t.api('/api/v1/verifications', { body: { username: 'legacy' } });
    const code = codeIn((await waitForTexts(t, mobile, 1))[0]!);
    await replyFrom(t, mobile, `${code} 4821`);
    await waitForStatus(t, body.id, 'approved');

    const stored = (await t.runtime.users.get('legacy'))!.pinHash!;
    expect(stored).toMatch(/^v2\$/);
    expect(await t.runtime.hasher.verify('4821', stored)).toBe(true);
  });

  it('leave an old hash alone after a wrong answer', async () => {
    const mobile = '+12025550163';
    await createUser(t, { username: 'legacy2', phones: { mobile } });
    await t.runtime.users.update('legacy2', (u) => ({ ...u, pinHash: OLD_HASH_OF_4821 }));
    const { body } = await t.api('/api/v1/verifications', { body: { username: 'legacy2' } });
    const code = codeIn((await waitForTexts(t, mobile, 1))[0]!);
    await replyFrom(t, mobile, `${code} 4822`);
    await waitForTexts(t, mobile, 2);
    expect((await t.runtime.users.get('legacy2'))!.pinHash).toBe(OLD_HASH_OF_4821);
    await t.api(`/api/v1/verifications/${body.id}/cancel`, { method: 'POST' });
  });
});

describe('the PIN policy in the API', () => {
  it.each([
    ['4821', 'A PIN has 6 to 8 digits.'],
    ['123456', 'too easy to guess'],
    ['654321', 'too easy to guess'],
    ['121212', 'too easy to guess'],
    ['025550', 'part of your phone number'],
  ])('refuses %s: %s', async (pin, message) => {
    const answer = await t.api('/api/v1/users', {
      body: { username: `policy${pin}`, phones: { mobile: '+12025550164' }, pin },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_request' });
    expect(answer.body.error.message).toContain(message);
    expect((await t.api(`/api/v1/users/policy${pin}`)).status).toBe(404);
  });

  it('accepts a 6-digit PIN that breaks no rule, and checks a PATCHed PIN against the stored phones', async () => {
    const created = await t.api('/api/v1/users', {
      body: { username: 'policyok', phones: { mobile: '+12025550165' }, pin: '482193' },
    });
    expect(created.status).toBe(201);
    const patched = await t.api('/api/v1/users/policyok', { method: 'PATCH', body: { pin: '550165' } });
    expect(patched.status).toBe(400);
    expect(patched.body.error.message).toContain('part of your phone number');
  });
});
