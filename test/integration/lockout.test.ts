/**
 * Throttled secrets end to end: the portal's PIN change and security-question second factor, and failed
 * verifications, all feed one escalating lockout that the API shows and an administrator clears. A real
 * redis-server, a real slapd, the real server with the simulator carrier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLdapDirectory } from '../../src/directory/ldap-directory.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUESTION_CATALOG, hashAnswers } from '../../src/questions/index.js';
import { PortalClient, signInVerified } from '../support/portal-client.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestSlapd, type TestSlapd, USERS } from '../support/slapd-server.js';
import { createUser } from '../support/sms-helpers.js';
import { eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

const MINUTE = 60_000;

let redis: RedisServerHandle;
let slapd: TestSlapd;
let t: TestRuntime;

beforeAll(async () => {
  [redis, slapd] = await Promise.all([startRedisServer(), startTestSlapd()]);
  t = await startTestRuntime(
    redis.url,
    {
      SECURITY_QUESTIONS: 'true',
      QUESTIONS_AS_SECOND_FACTOR: 'true',
      LOCKOUT_THRESHOLD: '3',
      LOCKOUT_MINUTES: '15',
      LOCKOUT_MAX: '3',
      MAX_ATTEMPTS: '1',
    },
    { directory: createLdapDirectory(slapd.config, createLogger('silent')), loginPaddingMs: 20 },
  );
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([redis?.stop(), slapd?.stop()]);
});

/** A user of the directory, enrolled for texts, with a PIN. */
async function enrolled(username: string, mobile: string, pin: string) {
  await createUser(t, { username, phones: { mobile }, method: 'sms', pin, pinMustChange: false });
  await t.runtime.users.update(username, (u) => ({ ...u, enrolledAt: t.clock.now() }));
}

const userView = async (username: string) => (await t.api(`/api/v1/users/${username}`)).body;

describe('the portal PIN change', () => {
  it('counts wrong current PINs: 60 in a row lock the user, and then even the right PIN is refused', async () => {
    const { uid, password, mobile } = USERS.jdoe;
    await enrolled(uid, mobile, '482193');
    const portal = await signInVerified(t, { username: uid, password, mobile, pin: '482193' });
    expect((await portal.get('/manage/pin')).body).toContain('id="currentPin"');

    // A wrong current PIN with the real PIN as the new one must not say "must differ" (a free oracle).
    const oracle = await portal.post('/manage/pin', {
      currentPin: '100000',
      pin: '482193',
      pinConfirm: '482193',
    });
    expect(oracle.status).toBe(400);
    expect(oracle.body).toContain('That is not your current PIN.');
    expect(oracle.body).not.toContain('differ');

    const answers = [oracle];
    for (let i = 1; i < 60; i += 1) {
      const guess = String(100000 + i);
      answers.push(
        await portal.post('/manage/pin', { currentPin: guess, pin: '739164', pinConfirm: '739164' }),
      );
    }
    expect(answers.map((a) => a.status)).toEqual([400, 400, ...Array(58).fill(423)]);
    expect(answers[2]!.body).toContain('your account is locked');

    const right = await portal.post('/manage/pin', {
      currentPin: '482193',
      pin: '739164',
      pinConfirm: '739164',
    });
    expect(right.status).toBe(423);
    const stored = await t.runtime.users.get(uid);
    expect(await t.runtime.hasher.verify('482193', stored!.pinHash!)).toBe(true);

    expect(await userView(uid)).toMatchObject({
      locked: true,
      lockedUntil: new Date(t.clock.now() + 15 * MINUTE).toISOString(),
      hardLocked: false,
    });
    const start = await t.api('/api/v1/verifications', { body: { username: uid } });
    expect(start.status).toBe(423);
    expect(start.body.error.code).toBe('user_locked');

    // The administrator's unlock; then the right PIN changes the PIN.
    const unlocked = await t.api(`/api/v1/users/${uid}`, { method: 'PATCH', body: { locked: false } });
    expect(unlocked.status).toBe(200);
    expect(unlocked.body).toMatchObject({ locked: false, lockedUntil: null, hardLocked: false });
    const changed = await portal.post('/manage/pin', {
      currentPin: '482193',
      pin: '739164',
      pinConfirm: '739164',
    });
    expect(changed.status).toBe(303);
    expect(await t.runtime.hasher.verify('739164', (await t.runtime.users.get(uid))!.pinHash!)).toBe(true);
  });
});

describe('the security-question second factor', () => {
  it('counts wrong answers in the same lockout', async () => {
    const { uid, password, mobile } = USERS.jose;
    await enrolled(uid, mobile, '482193');
    await t.runtime.questions.save(
      uid,
      await hashAnswers(
        t.runtime.hasher,
        DEFAULT_QUESTION_CATALOG.questions.slice(0, 4).map(({ id: questionId }, i) => ({
          questionId,
          answer: `answer number ${i + 1}`,
        })),
      ),
    );
    const portal = new PortalClient(t.baseUrl);
    await portal.get('/login');
    expect((await portal.post('/login', { username: uid, password })).location).toBe('/verify');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const page = await portal.get('/verify/questions');
      expect(page.status).toBe(200);
      const ids = [...page.body.matchAll(/name="question(\d)" value="([^"]+)"/g)].map((m) => m[2]!);
      const answer = await portal.post('/verify/questions', {
        question0: ids[0] ?? '',
        answer0: 'wrong',
        question1: ids[1] ?? '',
        answer1: 'wrong',
      });
      statuses.push(answer.status);
    }
    expect(statuses).toEqual([401, 401, 423]);
    expect(await userView(uid)).toMatchObject({ locked: true, hardLocked: false });
  });
});

describe('failed verifications', () => {
  /** Starts a text verification and fails it with a wrong code; waits until the lockout has counted it. */
  async function failVerification(username: string) {
    const before = JSON.stringify(await userView(username));
    const { body } = await t.api('/api/v1/verifications', { body: { username } });
    expect(body.status).toBe('pending');
    const checked = await t.api(`/api/v1/verifications/${body.id}/check`, { body: { code: '000000' } });
    expect(checked.body.status).toBe('failed');
    return eventually(
      async () => {
        const view = await userView(username);
        return JSON.stringify(view) !== before ? view : undefined;
      },
      10_000,
      'the failure counted',
    );
  }

  it('escalate the lock (15, then 30 minutes), then hard-lock until PATCH {"locked": false}', async () => {
    await createUser(t, { username: 'escalator', phones: { mobile: '+12025550177' } });
    const locks: { minutes: number | null; hardLocked: boolean }[] = [];
    for (let lock = 0; lock < 3; lock += 1) {
      await failVerification('escalator');
      await failVerification('escalator');
      const view = await failVerification('escalator');
      expect(view.locked).toBe(true);
      const until = view.lockedUntil ? Date.parse(view.lockedUntil) : null;
      locks.push({ minutes: until && (until - t.clock.now()) / MINUTE, hardLocked: view.hardLocked });
      if (until) t.clock.set(until);
    }
    expect(locks).toEqual([
      { minutes: 15, hardLocked: false },
      { minutes: 30, hardLocked: false },
      { minutes: null, hardLocked: true },
    ]);
    t.clock.advance(25 * 60 * MINUTE); // longer than LOCKOUT_DECAY_HOURS: a hard lock does not decay
    expect((await t.api('/api/v1/verifications', { body: { username: 'escalator' } })).status).toBe(423);
    expect((await t.api('/api/v1/users/escalator', { method: 'PATCH', body: { locked: true } })).status).toBe(
      400,
    );
    const cleared = await t.api('/api/v1/users/escalator', { method: 'PATCH', body: { locked: false } });
    expect(cleared.body).toMatchObject({ locked: false, hardLocked: false, failedAttempts: 0 });
    expect((await t.api('/api/v1/verifications', { body: { username: 'escalator' } })).status).toBe(201);
  });
});
