import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Keys } from '../../src/engine/keys.js';
import { devMailRoutes } from '../../src/mail/dev-mail-routes.js';
import {
  createDevMailbox,
  DEV_MAIL_TTL_SECONDS,
  type DevMail,
  devMailboxKey,
} from '../../src/mail/dev-mailbox.js';
import { changeNotice } from '../../src/mail/templates.js';
import { findFreePort, LOOPBACK } from '../../src/redis/redis-process.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';

const FROM = 'Dialtone MFA <mfa@example.test>';

describe('dev mailbox and /dev/mail against a real redis-server', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let app: FastifyInstance;
  let base: string;
  const keys = new Keys(`mail-test-${process.pid}`);
  const clock = new ManualClock(Date.UTC(2026, 0, 2, 3, 4, 5));

  beforeAll(async () => {
    server = await startRedisServer({ appendOnly: false });
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const mailbox = createDevMailbox(redis, keys, clock, { from: FROM, keep: 5 });
    app = Fastify({ logger: false });
    await app.register(devMailRoutes({ mailbox }));
    const port = await findFreePort();
    await app.listen({ host: LOOPBACK, port });
    base = `http://${LOOPBACK}:${port}`;
  });

  afterAll(async () => {
    await app?.close();
    redis?.disconnect();
    await server?.stop();
  });

  beforeEach(async () => {
    await redis.del(devMailboxKey(keys));
  });

  const mailbox = () => createDevMailbox(redis, keys, clock, { from: FROM, keep: 5 });

  it('keeps messages newest first under the tagged key, capped, for a week', async () => {
    const box = mailbox();
    expect(await box.check()).toMatchObject({ ok: true });
    const ids: string[] = [];
    for (let i = 1; i <= 7; i++) {
      clock.advance(1000);
      ids.push(
        (await box.send({ to: `user${i}@example.test`, subject: `Subject ${i}`, text: `Body ${i}` })).id,
      );
    }
    const key = devMailboxKey(keys);
    expect(key).toBe(`{mail-test-${process.pid}}:mail:dev`);
    expect(await redis.llen(key)).toBe(5);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(DEV_MAIL_TTL_SECONDS - 10);
    expect(ttl).toBeLessThanOrEqual(DEV_MAIL_TTL_SECONDS);

    const listed = await box.list(10);
    expect(listed.map((mail) => mail.subject)).toEqual([
      'Subject 7',
      'Subject 6',
      'Subject 5',
      'Subject 4',
      'Subject 3',
    ]);
    expect((await box.list(2)).map((mail) => mail.id)).toEqual([ids[6], ids[5]]);
    const newest = await box.get(ids[6]!);
    expect(newest).toEqual({
      id: ids[6],
      from: FROM,
      to: 'user7@example.test',
      subject: 'Subject 7',
      text: 'Body 7',
      createdAt: new Date(clock.now()).toISOString(),
    });
    // Dropped by the cap, unknown, or not even an id.
    expect(await box.get(ids[0]!)).toBeNull();
    expect(await box.get('A'.repeat(16))).toBeNull();
    expect(await box.get('../../etc/passwd')).toBeNull();
  });

  it('refuses what the SMTP mailer refuses (a full phone number, two recipients)', async () => {
    const box = mailbox();
    await expect(
      box.send({ to: 'a@example.test', subject: 'x', text: 'call +12025550147' }),
    ).rejects.toMatchObject({
      code: 'mail_unsafe_content',
    });
    await expect(
      box.send({ to: 'a@example.test;b@example.test', subject: 'x', text: 'y' }),
    ).rejects.toMatchObject({
      code: 'mail_invalid_message',
    });
    expect(await box.list()).toEqual([]);
  });

  it('lists mails on /dev/mail with every value escaped, and links each to its page', async () => {
    const box = mailbox();
    const notice = changeNotice('en', {
      displayName: 'Ada',
      changes: ['pin'],
      at: new Date(clock.now()),
      serviceName: 'Acme',
    });
    const { id: noticeId } = await box.send({ to: 'ada@example.test', ...notice });
    const { id: evilId } = await box.send({
      to: '"<img src=x onerror=alert(1)>" <eve@example.test>',
      subject: '<script>alert("subject")</script>',
      text: 'Hello </pre><script>alert("body")</script> & bye',
      html: '<script>alert("html")</script>',
    });

    const response = await fetch(`${base}/dev/mail`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await response.text();
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<style|style=/i);
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt;');
    expect(page).toContain('&quot;&lt;img src=x onerror=alert(1)&gt;&quot; &lt;eve@example.test&gt;');
    expect(page).toContain(`<a href="/dev/mail/${noticeId}">Your Acme sign-in settings changed</a>`);
    expect(page).toContain(`<a href="/dev/mail/${evilId}">`);
    expect(page).toContain('<td>ada@example.test</td>');
    expect(page).toContain('2026-01-02 03:');
    expect(page).toContain('<link rel="stylesheet" href="/dev/mail.css">');
    // The newest first.
    expect(page.indexOf(evilId)).toBeLessThan(page.indexOf(noticeId));

    const css = await fetch(`${base}/dev/mail.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');

    const single = await fetch(`${base}/dev/mail/${evilId}`);
    expect(single.status).toBe(200);
    expect(single.headers.get('content-security-policy')).toContain("default-src 'none'");
    const body = await single.text();
    expect(body).not.toMatch(/<script/i);
    expect(body).toContain(
      '<pre class="body">Hello &lt;/pre&gt;&lt;script&gt;alert(&quot;body&quot;)&lt;/script&gt; &amp; bye</pre>',
    );
    expect(body).toContain('<h1>&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt;</h1>');
    // The HTML part is never rendered.
    expect(body).not.toContain('alert(&quot;html&quot;)');

    const noticePage = await (await fetch(`${base}/dev/mail/${noticeId}`)).text();
    expect(noticePage).toContain('your PIN was changed on 2026-01-02 03:');
    expect(noticePage).toContain('If this was not you, contact your administrator.');
  });

  it('answers 404 for an unknown or malformed id', async () => {
    for (const id of ['A'.repeat(16), '%3Cscript%3E', 'x'.repeat(80)]) {
      const response = await fetch(`${base}/dev/mail/${id}`);
      expect(response.status).toBe(404);
      const page = await response.text();
      expect(page).toContain('Mail not found');
      expect(page).not.toContain('<script');
    }
  });

  it('serves /dev/mail.json for tests, newest first, with a limit', async () => {
    const box = mailbox();
    await box.send({ to: 'a@example.test', subject: 'First', text: 'one' });
    await box.send({ to: 'b@example.test', subject: 'Second', text: 'two' });
    const all = (await (await fetch(`${base}/dev/mail.json`)).json()) as { messages: DevMail[] };
    expect(all.messages.map((mail) => [mail.to, mail.subject, mail.text])).toEqual([
      ['b@example.test', 'Second', 'two'],
      ['a@example.test', 'First', 'one'],
    ]);
    const one = (await (await fetch(`${base}/dev/mail.json?limit=1`)).json()) as { messages: DevMail[] };
    expect(one.messages.map((mail) => mail.subject)).toEqual(['Second']);
    const empty = await (await fetch(`${base}/dev/mail`)).text();
    expect(empty).toContain('Second');
  });

  it('shows an empty state', async () => {
    const page = await (await fetch(`${base}/dev/mail`)).text();
    expect(page).toContain('No mail yet.');
  });
});
