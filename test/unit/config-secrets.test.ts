import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';

const keys = { API_KEY: 'k'.repeat(20), SIGNING_KEY: 's'.repeat(20), SECRET_KEY: 'x'.repeat(20) };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...keys, ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('lockout settings', () => {
  it('escalate by default: 10 failures, 15 minutes doubling, the 5th lock hard, forgotten after 24 quiet hours', () => {
    expect(loadConfig({ ...keys }).lockout).toEqual({ threshold: 10, minutes: 15, max: 5, decayHours: 24 });
  });

  it('keep LOCKOUT_MAX within 1-10 and LOCKOUT_DECAY_HOURS within 0-8760', () => {
    expect(loadConfig({ ...keys, LOCKOUT_MAX: '1', LOCKOUT_DECAY_HOURS: '0' }).lockout).toMatchObject({
      max: 1,
      decayHours: 0,
    });
    expect(problemsOf({ LOCKOUT_MAX: '0' })).toEqual([expect.stringMatching(/^LOCKOUT_MAX/)]);
    expect(problemsOf({ LOCKOUT_MAX: '11' })).toEqual([expect.stringMatching(/^LOCKOUT_MAX/)]);
    expect(problemsOf({ LOCKOUT_DECAY_HOURS: '-1' })).toEqual([
      expect.stringMatching(/^LOCKOUT_DECAY_HOURS/),
    ]);
  });
});

describe('PIN length settings', () => {
  it('ask for at least 6 digits by default, with no warning', () => {
    const config = loadConfig({ ...keys });
    expect(config.pin).toEqual({ minLength: 6, maxLength: 8 });
    expect(config.warnings).toEqual([]);
  });

  it('allow 4 or 5 with a start-up warning, and nothing below 4', () => {
    const config = loadConfig({ ...keys, PIN_MIN_LENGTH: '4' });
    expect(config.pin.minLength).toBe(4);
    expect(config.warnings).toEqual([expect.stringMatching(/^PIN_MIN_LENGTH=4: .*shorter than 6 digits/)]);
    expect(problemsOf({ PIN_MIN_LENGTH: '3' })).toEqual([expect.stringMatching(/^PIN_MIN_LENGTH/)]);
    expect(problemsOf({ PIN_MIN_LENGTH: '8', PIN_MAX_LENGTH: '7' })).toEqual([
      'PIN_MIN_LENGTH: must not exceed PIN_MAX_LENGTH',
    ]);
  });
});

describe('privacyIDEA Authenticator settings', () => {
  it('are on, verify TLS and show 3 options by default; turning sslverify off warns; options are 2-10', () => {
    expect(loadConfig({ ...keys }).push.pipush).toEqual({
      enabled: true,
      sslVerify: true,
      presenceOptions: 3,
    });
    const insecure = loadConfig({ ...keys, PIPUSH_SSL_VERIFY: 'false' });
    expect(insecure.warnings).toEqual([expect.stringMatching(/^PIPUSH_SSL_VERIFY=false: /)]);
    expect(loadConfig({ ...keys, PIPUSH_ENABLED: 'false', PIPUSH_SSL_VERIFY: 'false' }).warnings).toEqual([]);
    expect(problemsOf({ PIPUSH_PRESENCE_OPTIONS: '1' })).toEqual([
      expect.stringMatching(/^PIPUSH_PRESENCE_OPTIONS/),
    ]);
    expect(problemsOf({ PIPUSH_PRESENCE_OPTIONS: '11' })).toEqual([
      expect.stringMatching(/^PIPUSH_PRESENCE_OPTIONS/),
    ]);
  });
});
