import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';

const keys = { API_KEY: 'k'.repeat(20), SIGNING_KEY: 's'.repeat(20), SECRET_KEY: 'x'.repeat(20) };

describe('loadConfig', () => {
  it('gives safe defaults: loopback, port 3000, simulator, frozen', () => {
    const config = loadConfig({ ...keys });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      carrier: 'simulator',
      publicUrl: 'http://127.0.0.1:3000',
    });
    expect(config.otp).toEqual({
      length: 6,
      ttlSeconds: 300,
      maxAttempts: 3,
      maxSendsPerFlow: 3,
      smsMode: 'two-way',
    });
    expect(Object.isFrozen(config) && Object.isFrozen(config.otp)).toBe(true);
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'abc',
        OTP_LENGTH: '4',
        OTP_TTL_SECONDS: '3600',
        REDIS_URL: 'http://x',
        API_KEY: 'short',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const key of ['PORT', 'OTP_LENGTH', 'OTP_TTL_SECONDS', 'REDIS_URL', 'API_KEY'])
      expect(problems).toContain(key);
  });

  it('requires real secrets and a real carrier in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /API_KEY[\s\S]*SIGNING_KEY[\s\S]*SECRET_KEY[\s\S]*PUBLIC_URL[\s\S]*REDIS_URL[\s\S]*simulator/,
    );
  });

  it('needs the credentials of the chosen carrier', () => {
    expect(() => loadConfig({ ...keys, CARRIER: 'signalwire-cxml' })).toThrow(
      /SIGNALWIRE_PROJECT_ID[\s\S]*SIGNALWIRE_SPACE_URL/,
    );
    const relay = loadConfig({
      ...keys,
      CARRIER: 'signalwire-relay',
      SIGNALWIRE_PROJECT_ID: 'p',
      SIGNALWIRE_API_TOKEN: 't',
      SIGNALWIRE_FROM_NUMBER: '+12025550100',
      SIGNALWIRE_RELAY_TOPICS: 'office, lab',
    });
    expect(relay.signalwire.relayTopics).toEqual(['office', 'lab']);
  });

  it('generates an API key and persists development secrets under DATA_DIR', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mfa-config-'));
    const first = loadConfig({ DATA_DIR: dir });
    const second = loadConfig({ DATA_DIR: dir });
    expect(first.apiKeyGenerated).toBe(true);
    expect(first.apiKey).not.toBe(second.apiKey);
    expect(first.signingKey).toBe(second.signingKey);
    expect(first.secretKey).toBe(second.secretKey);
  });

  it('reads an optional JSON file, overridden by the environment', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mfa-config-'));
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ PORT: 4000, SMS_MODE: 'one-way' }));
    const config = loadConfig({ ...keys, CONFIG_FILE: file, PORT: '5000' });
    expect([config.port, config.otp.smsMode]).toEqual([5000, 'one-way']);
    await writeFile(file, '{not json');
    expect(() => loadConfig({ ...keys, CONFIG_FILE: file })).toThrow(/CONFIG_FILE/);
  });
});
