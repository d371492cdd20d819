/**
 * Redis trouble answers fast and honestly: a real redis-server is stopped under a running server and started
 * again on the same port with the same data. While it is down the API answers 503 `unavailable` (never 500),
 * `/readyz` answers 503 within a second every time, a verification start never hangs (even when Redis dies
 * between the commit and the enqueue), and the process recovers by itself once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLdapDirectory } from '../../src/directory/ldap-directory.js';
import { createLogger } from '../../src/log.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { createUser, textsTo, waitForTexts } from '../support/sms-helpers.js';
import { eventually, startTestRuntime, TEST_API_KEY, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;
/** Set by a test: the next commit is followed by a Redis outage before its effects are enqueued. */
let outageAfterCommit = false;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(
    redis.url,
    // A stranded outbox is re-relayed within a second (default: after 10 s).
    { SWEEP_INTERVAL_MS: '200', SWEEP_GRACE_MS: '500' },
    {
      // The portal is mounted (its directory is never asked in these tests).
      directory: createLdapDirectory(
        {
          url: 'ldap://127.0.0.1:9',
          baseDn: 'dc=x',
          bindDn: 'cn=x,dc=x',
          bindPassword: 'x',
          usernameAttribute: 'uid',
        },
        createLogger('silent'),
      ),
      hooks: {
        afterCommit: async () => {
          if (!outageAfterCommit) return;
          outageAfterCommit = false;
          await redis.pause();
        },
      },
    },
  );
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

/** One request and how long it took. */
async function timed(path: string, init: { method?: string; body?: unknown } = {}) {
  const started = performance.now();
  const response = await fetch(`${t.baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${TEST_API_KEY}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  const ms = performance.now() - started;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // an HTML page
  }
  return { status: response.status, body, text, ms, type: response.headers.get('content-type') ?? '' };
}

async function waitUntilReady() {
  await eventually(
    async () => ((await timed('/readyz')).status === 200 ? true : undefined),
    15_000,
    '/readyz 200',
  );
}

describe('while Redis is down', () => {
  it('answers 503 unavailable fast on the API and the readiness check, and recovers by itself', async () => {
    await createUser(t, { username: 'outage', phones: { mobile: '+12025550181' } });
    expect((await timed('/readyz')).status).toBe(200);

    await redis.pause();
    // The first requests may still be in flight to the dead connection: they too end within the bound.
    for (let i = 0; i < 10; i++) {
      const ready = await timed('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.ms).toBeLessThan(1000);
      expect(ready.body).toMatchObject({ status: 'not-ready', checks: { redis: { ok: false } } });
    }
    for (const request of [
      () => timed('/api/v1/users/outage'),
      () => timed('/api/v1/verifications', { method: 'POST', body: { username: 'outage' } }),
      () => timed('/api/v1/verifications/some-id?wait=5'),
    ]) {
      for (let i = 0; i < 3; i++) {
        const answer = await request();
        expect(answer.status).toBe(503);
        expect(answer.body).toMatchObject({ error: { code: 'unavailable' } });
        expect(answer.ms).toBeLessThan(1000);
      }
    }
    // A carrier's webhook hears 503 too, so the carrier retries later instead of the reply being lost.
    const webhook = await fetch(`${t.baseUrl}/webhooks/sms`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'MessageSid=SM1&From=%2B12025550181&To=%2B12025550100&Body=123456',
    });
    expect(webhook.status).toBe(503);
    // The portal shows its own page.
    const page = await timed('/login');
    expect(page.status).toBe(503);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.text).toContain('Temporarily unavailable');
    // The process itself is alive.
    expect((await timed('/healthz')).status).toBe(200);

    await redis.resume();
    await waitUntilReady();
    const user = await timed('/api/v1/users/outage');
    expect(user).toMatchObject({ status: 200, body: { username: 'outage' } });
    // A verification started after the outage is sent: the workers reconnected too.
    const started = await timed('/api/v1/verifications', { method: 'POST', body: { username: 'outage' } });
    expect(started.status).toBe(201);
    await waitForTexts(t, '+12025550181', 1);
    // Long-polls work again (the status subscription came back).
    const id = (started.body as { id: string }).id;
    const poll = await timed(`/api/v1/verifications/${id}?wait=0.2`);
    expect(poll).toMatchObject({ status: 200, body: { id, status: 'pending' } });
  });

  it('a verification start never hangs, even when Redis dies between the commit and the enqueue', async () => {
    await createUser(t, { username: 'midway', phones: { mobile: '+12025550182' } });
    outageAfterCommit = true;
    const answer = await timed('/api/v1/verifications', { method: 'POST', body: { username: 'midway' } });
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ error: { code: 'unavailable' } });
    expect(answer.ms).toBeLessThan(3000);

    // The commit stands: once Redis is back the sweeper sends that verification's text, exactly once.
    await redis.resume();
    await waitUntilReady();
    t.clock.advance(1000); // the outbox is now older than SWEEP_GRACE_MS
    await eventually(async () => ((await textsTo(t, '+12025550182')).length > 0 ? true : undefined), 20_000);
    // Count once nothing is left to relay or send.
    const pending = t.runtime.keys.pendingOutboxes();
    await eventually(async () => ((await t.runtime.redis.zcard(pending)) === 0 ? true : undefined));
    expect(await textsTo(t, '+12025550182')).toHaveLength(1);
  });
});
