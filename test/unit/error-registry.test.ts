/**
 * One registry of error codes (`src/errors.ts`): the README's tables of codes and reasons are exactly the
 * registry's, rows in the registry's order, so a code added in one place and not the other fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AppError, ERRORS, FLOW_REASONS } from '../../src/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The README's lines between `<!-- name:start -->` and `<!-- name:end -->`. */
function block(name: string): string {
  const match = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)<!-- ${name}:end -->`).exec(readme);
  if (!match?.[1]) throw new Error(`README has no ${name} block`);
  return match[1].trim();
}

describe('the error registry', () => {
  it('is the README table of error codes', () => {
    const rows = Object.entries(ERRORS).map(
      ([code, { status, message }]) => `| \`${code}\` | ${status} | ${message} |`,
    );
    expect(block('error-codes')).toBe(
      ['| code | status | message |', '| --- | --- | --- |', ...rows].join('\n'),
    );
  });

  it('is the README table of reasons', () => {
    const rows = Object.entries(FLOW_REASONS).map(([reason, meaning]) => `| \`${reason}\` | ${meaning} |`);
    expect(block('flow-reasons')).toBe(['| reason | meaning |', '| --- | --- |', ...rows].join('\n'));
  });

  it('gives every AppError its registered status and, by default, its public message', () => {
    for (const [code, { status, message }] of Object.entries(ERRORS)) {
      const error = new AppError(code as keyof typeof ERRORS);
      expect([error.statusCode, error.message]).toEqual([status, message]);
    }
    expect(new AppError('invalid_phone', 'phones.mobile: not a phone number').statusCode).toBe(400);
  });

  it('has client mistakes as 4xx and only outages and faults as 5xx', () => {
    const serverSide = Object.entries(ERRORS)
      .filter(([, { status }]) => status >= 500)
      .map(([code]) => code);
    expect(serverSide.sort()).toEqual([
      'busy',
      'directory_unavailable',
      'internal',
      'unavailable',
      'unknown_machine',
    ]);
  });
});
