import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import { fastifyTrustProxy } from '../../src/config/trust-proxy.js';
import { assertNoDevelopmentTools } from '../../src/runtime.js';

/** A complete production configuration: real carrier, SMTP, a directory over ldaps. */
const production = {
  NODE_ENV: 'production',
  API_KEY: 'k'.repeat(20),
  SIGNING_KEY: 's'.repeat(20),
  SECRET_KEY: 'x'.repeat(20),
  PUBLIC_URL: 'https://mfa.example.com',
  REDIS_URL: 'redis://10.0.0.5:6379',
  CARRIER: 'signalwire-cxml',
  SIGNALWIRE_SPACE_URL: 'https://example.signalwire.com',
  SIGNALWIRE_PROJECT_ID: 'project',
  SIGNALWIRE_API_TOKEN: 'token',
  SIGNALWIRE_FROM_NUMBER: '+12025550100',
  SMTP_URL: 'smtp://mail.example.com:587',
  LDAP_URL: 'ldaps://ldap.example.com',
  LDAP_BASE_DN: 'dc=example,dc=com',
  LDAP_BIND_DN: 'cn=mfa,dc=example,dc=com',
  LDAP_BIND_PASSWORD: 'service-password',
};
const keys = { API_KEY: 'k'.repeat(20), SIGNING_KEY: 's'.repeat(20), SECRET_KEY: 'x'.repeat(20) };

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  return '';
}

describe('production refuses development tools', () => {
  it('accepts a complete production configuration', () => {
    expect(problems(production)).toBe('');
  });

  it('requires SMTP_URL: there is no development mailbox in production', () => {
    const { SMTP_URL: _, ...withoutSmtp } = production;
    expect(problems(withoutSmtp)).toMatch(/SMTP_URL: required when NODE_ENV=production/);
    expect(problems({ ...keys })).toBe(''); // development keeps the dev mailbox
  });

  it('refuses ldap:// unless StartTLS is on or cleartext is allowed in so many words', () => {
    const cleartext = { ...production, LDAP_URL: 'ldap://ldap.example.com' };
    expect(problems(cleartext)).toMatch(/LDAP_URL: ldap:\/\/ sends passwords in cleartext/);
    expect(problems({ ...cleartext, LDAP_STARTTLS: 'true' })).toBe('');
    expect(problems({ ...cleartext, LDAP_ALLOW_CLEARTEXT: 'true' })).toBe('');
    expect(loadConfig({ ...cleartext, LDAP_STARTTLS: 'true' }).ldap).toMatchObject({ startTls: true });
    // Development talks to its own loopback demo directory in cleartext.
    expect(
      problems({
        ...keys,
        ...pick(cleartext, ['LDAP_URL', 'LDAP_BASE_DN', 'LDAP_BIND_DN', 'LDAP_BIND_PASSWORD']),
      }),
    ).toBe('');
  });

  it('refuses StartTLS on ldaps:// and an unreadable CA file', async () => {
    expect(problems({ ...production, LDAP_STARTTLS: 'true' })).toMatch(
      /LDAP_STARTTLS: not with an ldaps:\/\//,
    );
    expect(problems({ ...production, LDAP_CA_FILE: '/nonexistent/ca.pem' })).toMatch(
      /LDAP_CA_FILE: .* cannot be read/,
    );
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mfa-config-'));
    const ca = path.join(dir, 'ca.pem');
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\n');
    expect(loadConfig({ ...production, LDAP_CA_FILE: ca }).ldap).toMatchObject({ caFile: ca });
  });

  it('the runtime refuses a production configuration with the simulator or without SMTP, however it was built', () => {
    const config = loadConfig(production);
    expect(() => assertNoDevelopmentTools(config)).not.toThrow();
    expect(() => assertNoDevelopmentTools({ ...config, carrier: 'simulator' })).toThrow(/simulator/);
    expect(() =>
      assertNoDevelopmentTools({ ...config, mail: { ...config.mail, smtpUrl: undefined } }),
    ).toThrow(/SMTP_URL/);
  });
});

describe('TRUST_PROXY', () => {
  it('is off by default', () => {
    expect(loadConfig({ ...keys }).trustProxy).toBe(false);
  });

  it('refuses a bare true, which would trust the client-supplied leftmost X-Forwarded-For', () => {
    for (const value of ['true', 'yes', 'TRUE'])
      expect(problems({ ...keys, TRUST_PROXY: value })).toMatch(/TRUST_PROXY: a bare true/);
  });

  it('takes a hop count, or a list of the proxies\u2019 addresses and CIDRs', () => {
    expect(loadConfig({ ...keys, TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ ...keys, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1, fd00::/8' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'fd00::/8',
    ]);
    expect(loadConfig({ ...keys, TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    for (const bad of ['10.0.0.0/33', 'proxy.example.com', '11', '1.2.3.4/8/1'])
      expect(problems({ ...keys, TRUST_PROXY: bad })).toMatch(/TRUST_PROXY/);
  });

  it('turns a hop count into a function: Fastify alone would trust nothing for a number', () => {
    const trust = fastifyTrustProxy(2);
    expect(typeof trust).toBe('function');
    const fn = trust as (address: string, hop: number) => boolean;
    expect([fn('10.0.0.1', 0), fn('10.0.0.2', 1), fn('203.0.113.9', 2)]).toEqual([true, true, false]);
    expect(fastifyTrustProxy(['127.0.0.1/32'])).toEqual(['127.0.0.1/32']);
    expect(fastifyTrustProxy(false)).toBe(false);
  });
});

describe('RATE_LIMIT_*', () => {
  it('has a default per-address limit and can be turned off', () => {
    expect(loadConfig({ ...keys }).rateLimit).toEqual({ max: 600, windowSeconds: 60 });
    expect(loadConfig({ ...keys, RATE_LIMIT_MAX: '0' }).rateLimit.max).toBe(0);
    expect(problems({ ...keys, RATE_LIMIT_WINDOW_SECONDS: '0' })).toMatch(/RATE_LIMIT_WINDOW_SECONDS/);
  });
});

function pick<T extends Record<string, string>>(from: T, names: (keyof T)[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, from[n] as string]));
}

describe('the privacyIDEA Authenticator in production', () => {
  it('warns when phones would reach the server without TLS', () => {
    expect(loadConfig(production).warnings).toEqual([]);
    expect(loadConfig({ ...production, PUBLIC_URL: 'http://mfa.example.com' }).warnings).toEqual([
      expect.stringMatching(/^PUBLIC_URL is not https:\/\/: the privacyIDEA Authenticator/),
    ]);
    expect(
      loadConfig({ ...production, PUBLIC_URL: 'http://mfa.example.com', PIPUSH_ENABLED: 'false' }).warnings,
    ).toEqual([]);
  });
});
