/**
 * Prometheus metrics: `/metrics` is off unless configured, sits behind its bearer token on the main server (or
 * on a listener of its own with METRICS_PORT), and its counters move with what happens: an SMS verification
 * end to end, a fraud report and a lockout are scraped before and after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import { findFreePort } from '../../src/redis/redis-process.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { codeIn, createUser, replyFrom, waitForStatus, waitForTexts } from '../support/sms-helpers.js';
import { eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

const TOKEN = 'metrics-token-0123456789';
let redis: RedisServerHandle;
let t: TestRuntime;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url, { METRICS_TOKEN: TOKEN, LOCKOUT_THRESHOLD: '2' });
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

async function scrape(base = t.baseUrl, token: string | null = TOKEN): Promise<string> {
  const response = await fetch(`${base}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one sample (`name{labels} value`), 0 when the series does not exist yet. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',').filter(Boolean);
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(match[3]);
  }
  return 0;
}

describe('GET /metrics', () => {
  it('needs its token on the main server', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${TOKEN}x`]) {
      const response = await fetch(`${t.baseUrl}/metrics`, {
        headers: authorization ? { authorization } : {},
      });
      expect(response.status).toBe(401);
    }
    const text = await scrape();
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE nodejs_eventloop_lag_p99_seconds gauge');
  });

  it('counts an SMS verification from start to approved', async () => {
    const before = await scrape();
    const mobile = '+12025550191';
    await createUser(t, { username: 'metered', phones: { mobile } });
    const { body } = await t.api('/api/v1/verifications', { body: { username: 'metered' } });
    const [text] = await waitForTexts(t, mobile, 1);
    expect(await replyFrom(t, mobile, codeIn(text!))).toBe(200);
    await waitForStatus(t, body.id, 'approved');
    const sendSms = { type: 'sendSms', outcome: 'done' };
    const after = await eventually(async () => {
      const now = await scrape();
      return sample(now, 'dialtone_effect_jobs_total', { type: 'recordOutcome', outcome: 'done' }) >
        sample(before, 'dialtone_effect_jobs_total', { type: 'recordOutcome', outcome: 'done' })
        ? now
        : undefined;
    });
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(moved('dialtone_verifications_started_total', { method: 'sms' })).toBe(1);
    expect(moved('dialtone_verifications_finished_total', { method: 'sms', status: 'approved' })).toBe(1);
    expect(moved('dialtone_verification_duration_seconds_count', { method: 'sms', status: 'approved' })).toBe(
      1,
    );
    expect(moved('dialtone_webhook_requests_total', { route: '/webhooks/sms', status: '200' })).toBe(1);
    expect(moved('dialtone_effect_jobs_total', sendSms)).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'dialtone_pending_outboxes')).toBe(0);
    expect(after).toMatch(/^dialtone_queue_jobs\{queue="effects",state="failed"\} 0$/m);
  });

  it('counts fraud reports and lockouts', async () => {
    const before = await scrape();
    const mobile = '+12025550192';
    await createUser(t, { username: 'reporter', phones: { mobile } });
    const { body } = await t.api('/api/v1/verifications', { body: { username: 'reporter' } });
    await waitForTexts(t, mobile, 1);
    await replyFrom(t, mobile, '0');
    await waitForStatus(t, body.id, 'fraud');
    await createUser(t, { username: 'guesser', phones: { mobile: '+12025550193' } });
    for (let i = 0; i < 2; i += 1) await t.runtime.guard.check('guesser', 'pin', async () => false);
    const after = await eventually(async () => {
      const now = await scrape();
      return sample(now, 'dialtone_fraud_reports_total') > sample(before, 'dialtone_fraud_reports_total')
        ? now
        : undefined;
    });
    expect(
      sample(after, 'dialtone_fraud_reports_total') - sample(before, 'dialtone_fraud_reports_total'),
    ).toBe(1);
    expect(
      sample(after, 'dialtone_verifications_finished_total', { method: 'sms', status: 'fraud' }) -
        sample(before, 'dialtone_verifications_finished_total', { method: 'sms', status: 'fraud' }),
    ).toBe(1);
    expect(
      sample(after, 'dialtone_lockouts_total', { kind: 'timed' }) -
        sample(before, 'dialtone_lockouts_total', { kind: 'timed' }),
    ).toBe(1);
  });
});

describe('where /metrics is served', () => {
  it('is not served at all without METRICS_PORT or METRICS_TOKEN', async () => {
    const plain = await startTestRuntime(redis.url);
    try {
      expect((await fetch(`${plain.baseUrl}/metrics`)).status).toBe(404);
    } finally {
      await plain.stop();
    }
  });

  it('with METRICS_PORT: only on that listener, not on the main server', async () => {
    const port = await findFreePort();
    const separate = await startTestRuntime(redis.url, { METRICS_PORT: String(port) });
    try {
      expect((await fetch(`${separate.baseUrl}/metrics`)).status).toBe(404);
      const text = await scrape(`http://127.0.0.1:${port}`, null);
      expect(text).toContain('# TYPE dialtone_verifications_started_total counter');
    } finally {
      await separate.stop();
    }
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('production refuses a metrics port open beyond loopback without a token', () => {
    const production = {
      NODE_ENV: 'production',
      API_KEY: 'prod-api-key-0123456789',
      SIGNING_KEY: 'prod-signing-key-0123456789',
      SECRET_KEY: 'prod-secret-key-0123456789',
      PUBLIC_URL: 'https://mfa.example.test',
      REDIS_URL: 'redis://127.0.0.1:6379',
      CARRIER: 'signalwire-cxml',
      SIGNALWIRE_SPACE_URL: 'https://example.signalwire.com',
      SIGNALWIRE_PROJECT_ID: 'p',
      SIGNALWIRE_API_TOKEN: 't',
      SIGNALWIRE_FROM_NUMBER: '+12025550100',
      SMTP_URL: 'smtp://127.0.0.1:25',
      LDAP_URL: 'ldaps://ldap.example.test',
      LDAP_BASE_DN: 'dc=x',
      LDAP_BIND_DN: 'cn=y,dc=x',
      LDAP_BIND_PASSWORD: 'z',
      METRICS_PORT: '9464',
      METRICS_HOST: '0.0.0.0',
    };
    expect(() => loadConfig(production)).toThrow(ConfigError);
    expect(() => loadConfig(production)).toThrow(/METRICS_TOKEN: required/);
    expect(loadConfig({ ...production, METRICS_TOKEN: TOKEN }).metrics).toEqual({
      port: 9464,
      host: '0.0.0.0',
      token: TOKEN,
    });
    expect(loadConfig({ ...production, METRICS_HOST: '127.0.0.1' }).metrics.token).toBeUndefined();
  });
});
