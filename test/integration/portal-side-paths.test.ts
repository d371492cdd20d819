/**
 * The portal's side paths leave the same traces as a flow: a PIN change and the security-question second factor
 * are counted in the lockout (lockout.test.ts), audited, and what follows a PIN change (the audit, the notice,
 * the end of the user's other sessions) runs as effect jobs. A real redis-server, slapd and server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLdapDirectory } from '../../src/directory/ldap-directory.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUESTION_CATALOG, hashAnswers } from '../../src/questions/index.js';
import { PortalClient, signInVerified } from '../support/portal-client.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestSlapd, type TestSlapd, USERS } from '../support/slapd-server.js';
import { createUser } from '../support/sms-helpers.js';
import { effectsSettled, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let slapd: TestSlapd;
let t: TestRuntime;

beforeAll(async () => {
  [redis, slapd] = await Promise.all([startRedisServer(), startTestSlapd()]);
  t = await startTestRuntime(
    redis.url,
    { SECURITY_QUESTIONS: 'true', QUESTIONS_AS_SECOND_FACTOR: 'true' },
    { directory: createLdapDirectory(slapd.config, createLogger('silent')), loginPaddingMs: 20 },
  );
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([redis?.stop(), slapd?.stop()]);
});

async function enrolled(username: string, mobile: string, pin: string, email?: string) {
  await createUser(t, {
    username,
    phones: { mobile },
    method: 'sms',
    pin,
    pinMustChange: false,
    ...(email ? { email } : {}),
  });
  await t.runtime.users.update(username, (u) => ({ ...u, enrolledAt: t.clock.now() }));
}

const auditOf = async (username: string) =>
  (await t.runtime.audit.recent(1000))
    .filter((e) => e.userId === username)
    .map((e) => ({ event: e.event, ...(e.data ? { data: e.data } : {}) }));

describe('the portal PIN change', () => {
  it('is audited, mailed, and ends the other sessions of the user, but not the one that made it', async () => {
    const { uid, password, mobile, mail } = USERS.jdoe;
    await enrolled(uid, mobile, '482193', mail);
    const here = await signInVerified(t, { username: uid, password, mobile, pin: '482193' });
    const elsewhere = await signInVerified(t, { username: uid, password, mobile, pin: '482193' });
    expect((await elsewhere.get('/')).status).toBe(200);

    await here.get('/manage/pin');
    const changed = await here.post('/manage/pin', {
      currentPin: '482193',
      pin: '739164',
      pinConfirm: '739164',
    });
    expect(changed).toMatchObject({ status: 303, location: '/' });
    await effectsSettled(t);

    expect(await auditOf(uid)).toContainEqual({ event: 'portal.change-pin' });
    const notices = (await t.runtime.devMailbox!.list(100)).filter((m) => m.to === mail);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toContain('PIN');
    expect(notices[0]!.text).not.toContain('739164');
    expect((await here.get('/')).status).toBe(200);
    expect(await elsewhere.get('/')).toMatchObject({ status: 303, location: '/login' });
  });
});

describe('the security-question second factor', () => {
  it('audits refused and accepted answers', async () => {
    const { uid, password, mobile } = USERS.jose;
    await enrolled(uid, mobile, '482193');
    const questions = DEFAULT_QUESTION_CATALOG.questions.slice(0, 4);
    await t.runtime.questions.save(
      uid,
      await hashAnswers(
        t.runtime.hasher,
        questions.map(({ id: questionId }, i) => ({ questionId, answer: `answer number ${i + 1}` })),
      ),
    );
    const portal = new PortalClient(t.baseUrl);
    await portal.get('/login');
    expect((await portal.post('/login', { username: uid, password })).location).toBe('/verify');
    const answer = async (right: boolean) => {
      const page = await portal.get('/verify/questions');
      const ids = [...page.body.matchAll(/name="question(\d)" value="([^"]+)"/g)].map((m) => m[2]!);
      const text = (id: string) =>
        right ? `answer number ${questions.findIndex((q) => q.id === id) + 1}` : 'wrong';
      return portal.post('/verify/questions', {
        question0: ids[0]!,
        answer0: text(ids[0]!),
        question1: ids[1]!,
        answer1: text(ids[1]!),
      });
    };
    expect((await answer(false)).status).toBe(401);
    expect(await answer(true)).toMatchObject({ status: 303, location: '/' });
    await effectsSettled(t);
    const trail = (await auditOf(uid)).filter((e) => e.event.startsWith('portal.second-factor'));
    expect(trail.reverse()).toEqual([
      { event: 'portal.second-factor-refused', data: { via: 'questions' } },
      { event: 'portal.second-factor', data: { via: 'questions' } },
    ]);
  });
});
