/**
 * The enrolment and change wizard over HTTP, as browsers use it: the proof ("Text Me Now") is a child flow whose
 * verdict reaches the wizard with no page polling; a factor change needs the current factor; a wizard gone stale
 * (the user enrolled in another session) saves nothing. A real redis-server, a real slapd, the real server with
 * the simulator carrier and the development mailbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentView } from '../../flows/enrollment/view.js';
import { createLdapDirectory } from '../../src/directory/ldap-directory.js';
import { createLogger } from '../../src/log.js';
import { PortalClient, signInVerified } from '../support/portal-client.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestSlapd, type TestSlapd, USERS } from '../support/slapd-server.js';
import { codeIn, createUser, replyFrom, textsTo, waitForTexts } from '../support/sms-helpers.js';
import { eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let slapd: TestSlapd;
let t: TestRuntime;

beforeAll(async () => {
  [redis, slapd] = await Promise.all([startRedisServer(), startTestSlapd()]);
  t = await startTestRuntime(
    redis.url,
    { PORTAL_METHODS: 'sms,voice', FACTOR_CHANGE_FRESH_MINUTES: '5' },
    { directory: createLdapDirectory(slapd.config, createLogger('silent')), loginPaddingMs: 20 },
  );
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([redis?.stop(), slapd?.stop()]);
});

/** A directory user already enrolled for texts (with a PIN unless `pin` is null). */
async function enrolled(username: string, mobile: string, pin: string | null) {
  await createUser(t, {
    username,
    phones: { mobile },
    method: 'sms',
    email: `${username}@test.local`,
    ...(pin ? { pin, pinMustChange: false } : {}),
  });
  await t.runtime.users.update(username, (u) => ({ ...u, enrolledAt: t.clock.now() }));
}

/** The user's wizard flows of one purpose (the session keeps the id server-side, so look in the store). */
async function wizardsOf(username: string, purpose: string) {
  const prefix = t.runtime.keys.flow('');
  const ids = (await t.runtime.redis.keys(`${prefix}*`))
    .map((key) => key.slice(prefix.length))
    .filter((id) => !id.includes(':'));
  const flows = await Promise.all(ids.map((id) => t.runtime.store.load(id)));
  return flows.filter((f) => f?.userId === username && f.purpose === `portal:${purpose}`).map((f) => f!);
}

async function wizardOf(username: string, purpose: string) {
  return (await wizardsOf(username, purpose))[0] ?? null;
}

async function mailsTo(address: string) {
  return (await t.runtime.devMailbox!.list(100)).filter((m) => m.to === address);
}

async function signInPassword(user: { uid: string; password: string }) {
  const client = new PortalClient(t.baseUrl);
  await client.get('/login');
  const login = await client.post('/login', { username: user.uid, password: user.password });
  return { client, login };
}

describe('changing a factor needs the current factor', () => {
  it('replacing the phone and the PIN needs the current PIN, not only a proof of the new phone', async () => {
    const { uid, password, mail } = USERS.jdoe;
    const mobile = '+12025550142';
    const newMobile = '+12025550161';
    await enrolled(uid, mobile, '482193');
    const other = await signInVerified(t, { username: uid, password, mobile, pin: '482193' });
    const portal = await signInVerified(t, { username: uid, password, mobile, pin: '482193' });
    expect((await other.get('/')).status).toBe(200);
    expect((await portal.get('/')).status).toBe(200);

    expect((await portal.post('/manage/phone')).location).toBe('/setup');
    expect((await portal.get('/setup')).body).toContain('id="currentPin"');
    const change = { mobile: newMobile, pin: '739164', pinConfirm: '739164' };

    // Only the new phone (what the wizard used to accept): refused, nothing texted, nothing started.
    const without = await portal.post('/setup/details', change);
    expect(without.status).toBe(400);
    expect(without.body).toContain('Enter your current PIN.');
    const wrong = await portal.post('/setup/details', { ...change, currentPin: '100000' });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('That is not your current PIN.');
    expect((await t.api(`/api/v1/users/${uid}`)).body.failedAttempts).toBe(1);
    const same = await portal.post('/setup/details', {
      ...change,
      pin: '482193',
      pinConfirm: '482193',
      currentPin: '482193',
    });
    expect(same.status).toBe(400);
    expect(same.body).toContain('The new PIN must differ from the old one.');
    const refusedWizard = (await wizardOf(uid, 'change-phone'))!;
    expect(enrollmentView(refusedWizard.snapshot).step).toBe('details');
    expect((await t.runtime.store.readLog(refusedWizard.id)).flatMap((e) => e.effects)).not.toContain(
      'startChild',
    );
    expect(await textsTo(t, newMobile)).toHaveLength(0);

    const right = await portal.post('/setup/details', { ...change, currentPin: '482193' });
    expect(right.location).toBe('/setup');
    const [text] = await waitForTexts(t, newMobile, 1);
    expect((await t.runtime.users.get(uid))?.phones.mobile).toBe(mobile);
    await replyFrom(t, newMobile, `${codeIn(text!)} 739164`);

    // No page polls: the child's verdict reaches the wizard, which saves, mails and ends the other session.
    const saved = await eventually(async () => {
      const user = await t.runtime.users.get(uid);
      return user?.phones.mobile === newMobile ? user : undefined;
    });
    expect(await t.runtime.hasher.verify('739164', saved.pinHash!)).toBe(true);
    const notice = await eventually(async () =>
      (await mailsTo(mail)).find((m) => /phone number was changed/.test(m.text)),
    );
    expect(notice.text).toContain('your PIN was changed');
    expect(notice.text).not.toContain('739164');
    await eventually(async () => ((await other.get('/')).location === '/login' ? true : undefined));
    expect((await portal.get('/setup')).location).toBe('/');
    const home = await portal.get('/');
    expect(home.status).toBe(200);
    expect(home.body).toContain('Your settings were changed.');
  });

  it('a user without a PIN changes her phone only within minutes of a proof on the current phone', async () => {
    const { uid, password } = USERS.dmitrij;
    const mobile = '+12025550143';
    await enrolled(uid, mobile, null);
    const portal = await signInVerified(t, { username: uid, password, mobile });
    await portal.get('/');
    await portal.post('/manage/phone');
    expect((await portal.get('/setup')).body).not.toContain('id="currentPin"');
    const before = (await textsTo(t, mobile)).length;

    // Six minutes after the sign-in's text: the wizard texts the current phone first, then the new one.
    t.clock.advance(6 * 60_000);
    expect(
      (await portal.post('/setup/details', { mobile: '+12025550162', pin: '604719', pinConfirm: '604719' }))
        .location,
    ).toBe('/setup');
    expect((await portal.get('/setup')).body).toContain('Confirm it is you');
    const texts = await waitForTexts(t, mobile, before + 1);
    expect(await textsTo(t, '+12025550162')).toHaveLength(0);
    await replyFrom(t, mobile, codeIn(texts.at(-1)!));
    const [proof] = await waitForTexts(t, '+12025550162', 1);
    await replyFrom(t, '+12025550162', `${codeIn(proof!)} 604719`);
    await eventually(async () =>
      (await t.runtime.users.get(uid))?.phones.mobile === '+12025550162' ? true : undefined,
    );
  });
});

describe('the PIN page', () => {
  it('a PIN change ends every other session of the user, and keeps this one', async () => {
    const { uid, password } = USERS.plain;
    const mobile = '+12025550163';
    await enrolled(uid, mobile, '482193');
    const other = await signInVerified(t, { username: uid, password, mobile, pin: '482193' });
    const portal = await signInVerified(t, { username: uid, password, mobile, pin: '482193' });
    expect((await other.get('/')).status).toBe(200);
    await portal.get('/manage/pin');
    const changed = await portal.post('/manage/pin', {
      currentPin: '482193',
      pin: '739164',
      pinConfirm: '739164',
    });
    expect(changed.location).toBe('/');
    // The sign-outs are an effect job: wait for the fact, then check this session still works.
    await eventually(async () => ((await other.get('/')).location === '/login' ? true : undefined));
    expect((await portal.get('/')).status).toBe(200);
  });
});

describe('a stale wizard cannot override', () => {
  it('a wizard opened before the user enrolled in another session saves nothing and verifies nothing', async () => {
    const { uid } = USERS.yamada;
    const first = await signInPassword(USERS.yamada);
    const second = await signInPassword(USERS.yamada);
    expect([first.login.location, second.login.location]).toEqual(['/setup', '/setup']);

    // Browser A: SMS, its own phone, "Text Me Now"; the text arrives but A does not answer yet.
    await first.client.get('/setup');
    await first.client.post('/setup/method', { method: 'sms' });
    await first.client.post('/setup/details', {
      mobile: '+12025550171',
      pin: '582914',
      pinConfirm: '582914',
    });
    const [textA] = await waitForTexts(t, '+12025550171', 1);

    // Browser B enrolls another phone and finishes.
    await second.client.get('/setup');
    await second.client.post('/setup/method', { method: 'sms' });
    await second.client.post('/setup/details', {
      mobile: '+12025550172',
      pin: '693025',
      pinConfirm: '693025',
    });
    const [textB] = await waitForTexts(t, '+12025550172', 1);
    await replyFrom(t, '+12025550172', `${codeIn(textB!)} 693025`);
    await eventually(async () => ((await t.runtime.users.get(uid))?.enrolledAt ? true : undefined));
    expect((await second.client.get('/setup')).location).toBe('/');

    // Now A answers its proof: the wizard hears the verdict, its compare-and-set is refused, it ends canceled.
    const wizardA = (await t.runtime.store.readLog((await firstWizard(uid, '+12025550171'))!)).length;
    expect(wizardA).toBeGreaterThan(0);
    await replyFrom(t, '+12025550171', `${codeIn(textA!)} 582914`);
    const canceled = await eventually(async () => {
      const flow = await t.runtime.store.load((await firstWizard(uid, '+12025550171'))!);
      return flow?.status === 'canceled' ? flow : undefined;
    });
    expect(enrollmentView(canceled.snapshot).context.canceledBecause).toBe('stale');
    const user = (await t.runtime.users.get(uid))!;
    expect(user.phones.mobile).toBe('+12025550172');
    expect(await t.runtime.hasher.verify('693025', user.pinHash!)).toBe(true);
    // A is not verified: its page does not reach the account (its session ended with B's enrolment).
    const page = await first.client.get('/');
    expect(page.status).toBe(303);
    expect(page.location).not.toBe('/');
    expect((await second.client.get('/')).status).toBe(200);
  });
});

/** The enrolment wizard whose proof texted `mobile`. */
async function firstWizard(username: string, mobile: string): Promise<string | null> {
  const flows = await wizardsOf(username, 'enroll');
  return flows.find((f) => enrollmentView(f.snapshot).context.phones.mobile === mobile)?.id ?? null;
}
