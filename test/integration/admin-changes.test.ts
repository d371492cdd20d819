/**
 * An administrator's change through the API is audited and notified as a portal change is: PATCH
 * /api/v1/users that changes phones, PIN or method writes an audit entry with the actor (`api-key`) and mails
 * the user a notice naming what changed; a change of anything else (or to the same value) does neither.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { createUser } from '../support/sms-helpers.js';
import { effectsSettled, eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;

beforeAll(async () => {
  redis = await startRedisServer({ appendOnly: false });
  t = await startTestRuntime(redis.url);
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

const auditOf = async (username: string) =>
  (await t.runtime.audit.recent(1000)).filter(
    (e) => e.userId === username && e.event === 'admin.user-changed',
  );
const mailsTo = async (address: string) =>
  (await t.runtime.devMailbox!.list(100)).filter((m) => m.to === address);
describe('PATCH /api/v1/users by an administrator', () => {
  it('audits the change with the actor and mails the user a notice naming phones, PIN and method', async () => {
    await createUser(t, {
      username: 'ana',
      email: 'ana@example.com',
      phones: { mobile: '+12025550161' },
      method: 'sms',
    });
    const patched = await t.api('/api/v1/users/ana', {
      method: 'PATCH',
      body: { phones: { mobile: '+12025550162', backup: '+12025550163' }, pin: '482913', method: 'voice' },
    });
    expect(patched.status).toBe(200);

    const [entry, ...more] = await auditOf('ana');
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ data: { actor: 'api-key', changes: 'phone,pin,method' } });
    const mail = await eventually(async () => (await mailsTo('ana@example.com'))[0]);
    expect(mail.subject).toMatch(/sign-in settings changed/i);
    for (const what of ['phone number', 'PIN', 'verification method']) expect(mail.text).toContain(what);
    // The notice names what changed, never the new values.
    for (const secret of ['482913', '2025550162', '0163']) expect(mail.text).not.toContain(secret);
  });

  it('names only what changed, and stays silent for other fields or the same value', async () => {
    await createUser(t, { username: 'ben', email: 'ben@example.com', phones: { mobile: '+12025550171' } });
    await t.api('/api/v1/users/ben', { method: 'PATCH', body: { displayName: 'Ben B.', language: 'es' } });
    await t.api('/api/v1/users/ben', {
      method: 'PATCH',
      body: { method: 'sms', phones: { mobile: '+1 202 555 0171' } },
    });
    await effectsSettled(t);
    expect(await auditOf('ben')).toEqual([]);
    expect(await mailsTo('ben@example.com')).toEqual([]);

    await t.api('/api/v1/users/ben', { method: 'PATCH', body: { pin: '739164' } });
    const mail = await eventually(async () => (await mailsTo('ben@example.com'))[0]);
    // Spanish, as the user's language now is; only the PIN is named.
    expect(mail.text).toContain('PIN');
    expect(mail.text).not.toMatch(/teléfono|método/);
    await effectsSettled(t);
    expect(await mailsTo('ben@example.com')).toHaveLength(1);
    expect((await auditOf('ben')).map((e) => e.data)).toEqual([{ actor: 'api-key', changes: 'pin' }]);

    // Clearing the PIN is a change too.
    await t.api('/api/v1/users/ben', { method: 'PATCH', body: { pin: null } });
    expect((await auditOf('ben')).map((e) => e.data?.changes)).toEqual(['pin', 'pin']);
  });

  it('audits a user without an e-mail address too (nobody to mail)', async () => {
    await createUser(t, { username: 'cam', phones: { mobile: '+12025550181' } });
    await t.api('/api/v1/users/cam', { method: 'PATCH', body: { phones: { mobile: '+12025550182' } } });
    expect((await auditOf('cam')).map((e) => e.data)).toEqual([{ actor: 'api-key', changes: 'phone' }]);
  });
});
