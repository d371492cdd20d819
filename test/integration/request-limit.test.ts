/**
 * No anonymous state, and a general per-address limit (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_SECONDS) on the
 * portal and the API that answers 429 before any work: no session load, no key check, no directory call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Directory } from '../../src/directory/directory.js';
import { createLdapDirectory } from '../../src/directory/ldap-directory.js';
import { createLogger } from '../../src/log.js';
import { requestFrom } from '../support/proxy-hop.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestSlapd, type TestSlapd, USERS } from '../support/slapd-server.js';
import { startTestRuntime, TEST_API_KEY, type TestRuntime } from '../support/test-runtime.js';

const LIMIT = 8;
let redis: RedisServerHandle;
let slapd: TestSlapd;
let t: TestRuntime;
let directoryCalls = 0;

beforeAll(async () => {
  [redis, slapd] = await Promise.all([startRedisServer({ appendOnly: false }), startTestSlapd()]);
  const ldap = createLdapDirectory(slapd.config, createLogger('silent'));
  const directory: Directory = {
    ...ldap,
    authenticate: (username, password) => {
      directoryCalls += 1;
      return ldap.authenticate(username, password);
    },
  };
  t = await startTestRuntime(
    redis.url,
    { RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW_SECONDS: '60' },
    { directory, loginPaddingMs: 1 },
  );
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([redis?.stop(), slapd?.stop()]);
});

const keysNow = async () => (await t.runtime.redis.keys('*')).sort();

describe('GET /login without a cookie', () => {
  it('stores nothing in Redis but the address’s request counter', async () => {
    const before = await keysNow();
    // A fresh address each time (no cookie), as a crawler or a flood would be.
    for (let i = 0; i < 5; i++) {
      const page = await requestFrom(`127.0.1.${i + 1}`, `${t.baseUrl}/login`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('name="_csrf"');
      expect(String(page.headers['set-cookie'])).not.toContain('mfa_session');
    }
    // BullMQ's own bookkeeping ({mfa}:q:...) comes and goes with the workers, not with requests.
    const added = (await keysNow()).filter((key) => !before.includes(key) && !key.startsWith('{mfa}:q:'));
    expect(added.sort()).toEqual([1, 2, 3, 4, 5].map((i) => `{mfa}:http-rate:127.0.1.${i}`).sort());
  });

  it('signs in with the stateless token; the session is created only then', async () => {
    const from = '127.0.2.1';
    const page = await requestFrom(from, `${t.baseUrl}/login`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const cookie = (page.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    const answer = await requestFrom(from, `${t.baseUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ username: 'jdoe', password: USERS.jdoe.password, _csrf: csrf }).toString(),
    });
    expect(answer.status).toBe(303);
    expect(String(answer.headers['set-cookie'])).toMatch(/mfa_session=[A-Za-z0-9_-]{43}/);
    expect((await keysNow()).some((key) => key.includes(':portal:session:'))).toBe(true);
  });
});

describe('the per-address request limit', () => {
  it('answers 429 on the portal and the API once an address used its share, before any work', async () => {
    const from = '127.0.3.1';
    for (let i = 0; i < LIMIT; i++) expect((await requestFrom(from, `${t.baseUrl}/login`)).status).toBe(200);

    const page = await requestFrom(from, `${t.baseUrl}/login`);
    expect(page.status).toBe(429);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('Too many requests');
    expect(Number(page.headers['retry-after'])).toBeGreaterThan(0);

    // The API shares the address's budget, and answers in its own error shape, even to a wrong key: the
    // limit runs before the key is checked.
    for (const key of [TEST_API_KEY, 'wrong-key']) {
      const api = await requestFrom(from, `${t.baseUrl}/api/v1/users`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(api.status).toBe(429);
      expect(JSON.parse(api.body)).toMatchObject({ error: { code: 'rate_limited' } });
    }
    // A sign-in attempt over the limit never reaches the directory.
    const calls = directoryCalls;
    const post = await requestFrom(from, `${t.baseUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=jdoe&password=guess',
    });
    expect(post.status).toBe(429);
    expect(directoryCalls).toBe(calls);
  });

  it('leaves other addresses, carrier webhooks, the privacyIDEA endpoint and health checks alone', async () => {
    const limited = '127.0.4.1';
    for (let i = 0; i <= LIMIT; i++) await requestFrom(limited, `${t.baseUrl}/login`);
    expect((await requestFrom(limited, `${t.baseUrl}/login`)).status).toBe(429);
    expect((await requestFrom('127.0.4.2', `${t.baseUrl}/login`)).status).toBe(200);
    // Webhooks are signed and carriers post from few addresses: an unsigned one is 403, never 429.
    const webhook = await requestFrom(limited, `${t.baseUrl}/webhooks/sms`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'MessageSid=SM1&From=%2B12025550100&To=%2B12025550101&Body=hi',
    });
    expect(webhook.status).toBe(403);
    // Phones poll the privacyIDEA endpoint every 3 s, many behind one office address: an unsigned poll is 400/401.
    const poll = await requestFrom(limited, `${t.baseUrl}/ttype/push?serial=PIPU0000000000000000`);
    expect(poll.status).toBe(400);
    expect((await requestFrom(limited, `${t.baseUrl}/healthz`)).status).toBe(200);
  });
});
