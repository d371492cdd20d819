import { Writable } from 'node:stream';
import fc from 'fast-check';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { CodeSecrets } from '../../src/security/secrets.js';
import { computeSignature, isValidSignature } from '../../src/security/webhook-signature.js';

describe('webhook signatures', () => {
  it('match an independent implementation (twilio) for any parameters', () => {
    // Values may repeat (a field sent twice arrives as an array), in any order, with duplicates.
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
    );
    const params = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), value, { maxKeys: 8 });
    fc.assert(
      fc.property(params, fc.webUrl(), (p, url) => {
        const ours = computeSignature('key-123', url, p);
        expect(ours).toBe(twilio.getExpectedTwilioSignature('key-123', url, p));
        expect(twilio.validateRequest('key-123', ours, url, p)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuse a missing, wrong-key or altered signature', () => {
    const url = 'https://mfa.example.com/webhooks/sms';
    const params = { From: '+12025550147', Body: '123456' };
    const good = computeSignature('key-123', url, params);
    expect(isValidSignature('key-123', url, params, good)).toBe(true);
    expect(isValidSignature('key-123', url, params, undefined)).toBe(false);
    expect(isValidSignature('other-key', url, params, good)).toBe(false);
    expect(isValidSignature('key-123', url, { ...params, Body: '0' }, good)).toBe(false);
    expect(isValidSignature('key-123', `${url}?x=1`, params, good)).toBe(false);
  });
});

describe('one-time codes', () => {
  const secrets = new CodeSecrets('secret-key-0123456789');
  it('derive a code of the asked length, the same from the same nonce, another from another', () => {
    const nonce = secrets.newNonce();
    const code = secrets.codeFor('flow1', nonce, 6);
    expect(code).toMatch(/^\d{6}$/);
    expect(secrets.codeFor('flow1', nonce, 6)).toBe(code);
    expect(secrets.codeFor('flow2', nonce, 6)).not.toBe(code);
    expect(secrets.codeFor('flow1', nonce, 10)).toMatch(/^\d{10}$/);
  });

  it('spread codes evenly over the digits (no visible bias in 20,000 draws)', () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i += 1) counts[Number(secrets.codeFor('f', secrets.newNonce(), 6)[0])] += 1;
    for (const count of counts) expect(count).toBeGreaterThan(1700); // expected 2000 each
  });

  it('keep a keyed digest that depends on the server key and the flow', () => {
    const other = new CodeSecrets('another-secret-0123456789');
    expect(secrets.digest('f', '123456')).toBe(secrets.digest('f', '123456'));
    expect(secrets.digest('f', '123456')).not.toBe(other.digest('f', '123456'));
    expect(secrets.digest('f', '123456')).not.toBe(secrets.digest('g', '123456'));
    expect(secrets.digest('f', '123456')).not.toContain('123456');
  });
});

describe('logs', () => {
  it('redact secrets and phone numbers', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger.info(
      {
        pin: '4821',
        code: '123456',
        body: '123456 4821',
        to: '+12025550147',
        req: { headers: { authorization: 'Bearer k' } },
      },
      'x',
    );
    const out = lines.join('');
    for (const secret of ['4821', '123456', '+12025550147', 'Bearer k']) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });
});
