/**
 * TRUST_PROXY behind a real proxy hop: the client (127.0.0.2) reaches the portal through a proxy that connects
 * out from 127.0.0.3 and appends what it saw to X-Forwarded-For. Whatever X-Forwarded-For the client writes
 * itself, the per-address sign-in limit counts the client's real address, so forged headers buy no attempts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLdapDirectory } from '../../src/directory/ldap-directory.js';
import { createLogger } from '../../src/log.js';
import { RateLimiter } from '../../src/store/rate-limiter.js';
import { type Answer, type ProxyHop, requestFrom, startProxyHop } from '../support/proxy-hop.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestSlapd, type TestSlapd, USERS } from '../support/slapd-server.js';
import { startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

const CLIENT = '127.0.0.2';
const PROXY_OUT = '127.0.0.3';
const NEIGHBOUR = '127.0.0.4';
/** The portal's default per-address limit of sign-in attempts per 15 minutes. */
const PER_IP_LIMIT = 50;

let redis: RedisServerHandle;
let slapd: TestSlapd;

beforeAll(async () => {
  [redis, slapd] = await Promise.all([startRedisServer({ appendOnly: false }), startTestSlapd()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), slapd?.stop()]);
});

/** A browser at `from` that signs in through `base` (the proxy or the server), writing its own X-Forwarded-For. */
async function signIn(from: string, base: string, username: string, password: string, spoof: string) {
  const page = await requestFrom(from, `${base}/login`, { headers: { 'x-forwarded-for': spoof } });
  expect(page.status).toBe(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  expect(csrf).toBeDefined();
  const cookie = cookiesOf(page).join('; ');
  const body = new URLSearchParams({ username, password, _csrf: csrf ?? '' }).toString();
  return requestFrom(from, `${base}/login`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': spoof,
      ...(cookie ? { cookie } : {}),
    },
    body,
  });
}

function cookiesOf(answer: Answer): string[] {
  return (answer.headers['set-cookie'] ?? []).map((line) => line.split(';')[0] ?? '');
}

describe.each([
  { form: 'the proxy’s address', trustProxy: `${PROXY_OUT}/32` },
  { form: 'a hop count', trustProxy: '1' },
])('TRUST_PROXY as $form', ({ trustProxy }) => {
  let t: TestRuntime;
  let proxy: ProxyHop;
  let limiter: RateLimiter;

  beforeAll(async () => {
    const directory = createLdapDirectory(slapd.config, createLogger('silent'));
    t = await startTestRuntime(
      redis.url,
      { TRUST_PROXY: trustProxy, REDIS_PREFIX: `proxy${trustProxy.length}` },
      { directory, loginPaddingMs: 1 },
    );
    proxy = await startProxyHop(t.baseUrl, { localAddress: PROXY_OUT });
    limiter = new RateLimiter(t.runtime.redis, t.runtime.keys);
  });
  afterAll(async () => {
    await proxy?.close();
    await t?.stop();
  });

  it('a spoofed X-Forwarded-For does not dodge the per-address sign-in limit', async () => {
    for (let i = 0; i < PER_IP_LIMIT; i++) {
      const refused = await signIn(CLIENT, proxy.url, `nobody-${i}`, 'guess', `198.51.100.${i + 1}`);
      expect(refused.status).toBe(401);
    }
    // Every attempt counted against the client's real address, none against an address it made up.
    expect(await limiter.peek(`portal:login:ip:${CLIENT}`)).toBe(PER_IP_LIMIT);
    expect(await limiter.peek('portal:login:ip:198.51.100.1')).toBe(0);
    expect(await limiter.peek(`portal:login:ip:${PROXY_OUT}`)).toBe(0);

    // Now even the right password is refused for that client, whatever address it claims.
    const limited = await signIn(CLIENT, proxy.url, 'jdoe', USERS.jdoe.password, '203.0.113.7');
    expect(limited.status).toBe(401);

    // Another employee behind the same proxy is not punished for it: the proxy's address is not the client's.
    const neighbour = await signIn(NEIGHBOUR, proxy.url, 'jdoe', USERS.jdoe.password, '203.0.113.7');
    expect(neighbour.status).toBe(303);
  });
});

describe('TRUST_PROXY as a list of addresses', () => {
  it('does not believe X-Forwarded-For from a client that skips the proxy', async () => {
    const directory = createLdapDirectory(slapd.config, createLogger('silent'));
    const t = await startTestRuntime(
      redis.url,
      { TRUST_PROXY: `${PROXY_OUT}/32`, REDIS_PREFIX: 'proxydirect' },
      { directory, loginPaddingMs: 1 },
    );
    try {
      const limiter = new RateLimiter(t.runtime.redis, t.runtime.keys);
      const refused = await signIn(CLIENT, t.baseUrl, 'nobody', 'guess', '198.51.100.77');
      expect(refused.status).toBe(401);
      expect(await limiter.peek(`portal:login:ip:${CLIENT}`)).toBe(1);
      expect(await limiter.peek('portal:login:ip:198.51.100.77')).toBe(0);
    } finally {
      await t.stop();
    }
  });
});
